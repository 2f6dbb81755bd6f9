/** Creation, data access, broadcasting and reductions: forward values against hand-computed ones. */
import { describe, expect, it } from 'vitest';
import {
  Tensor,
  arange,
  argmax,
  argmin,
  cat,
  full,
  fullLike,
  indexSelect,
  matmul,
  ones,
  onesLike,
  stack,
  tensor,
  where,
  zeros,
  zerosLike,
} from '../../src/index.ts';

describe('creation', () => {
  it('tensor() infers shape and dtype from nested arrays', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.ndim).toBe(2);
    expect(t.numel()).toBe(6);
    expect(t.strides).toEqual([3, 1]);
    expect(t.size(-1)).toBe(3);
    expect(t.size()).toEqual([2, 3]);
    expect(tensor([true, false]).dtype).toBe('bool');
    expect(tensor(5).shape).toEqual([]);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[]]).shape).toEqual([1, 0]);
    expect(tensor(new Float64Array([1, 2])).dtype).toBe('float64');
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(tensor([1, 2, 3, 4], { shape: [2, 2] }).toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('tensor() copies its input', () => {
    const src = new Float32Array([1, 2]);
    const t = tensor(src);
    src[0] = 9;
    expect(t.toArray()).toEqual([1, 2]);
  });

  it('full / zeros / ones / *Like / arange', () => {
    expect(full([2], 7).toArray()).toEqual([7, 7]);
    expect(zeros([2, 2], { dtype: 'float64' }).dtype).toBe('float64');
    expect(ones([3]).toArray()).toEqual([1, 1, 1]);
    const f = tensor([1, 2], { dtype: 'float64' });
    expect(zerosLike(f).dtype).toBe('float64');
    expect(onesLike(f).toArray()).toEqual([1, 1]);
    expect(fullLike(f, 3).toArray()).toEqual([3, 3]);
    expect(arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(5).dtype).toBe('int32');
    expect(arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    expect(zeros([2], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  it('item() and toArray()', () => {
    expect(tensor(3.5).item()).toBe(3.5);
    expect(tensor([[2]]).item()).toBe(2);
    expect(tensor([1, 2, 3, 4]).narrow(0, 2, 1).item()).toBe(3);
    expect(tensor(4).toArray()).toBe(4);
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ])
        .t()
        .toArray(),
    ).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(tensor([[[1], [2]]]).toArray()).toEqual([[[1], [2]]]);
    expect(zeros([2, 0]).toArray()).toEqual([[], []]);
  });

  it('dtype conversions', () => {
    const x = tensor([1.7, -1.7, 0]);
    expect(x.to('int32').toArray()).toEqual([1, -1, 0]);
    expect(x.to('bool').toArray()).toEqual([1, 1, 0]);
    expect(x.double().dtype).toBe('float64');
    expect(x.double().float()).toBeAllClose(x);
    expect(x.to('float32')).toBe(x);
  });
});

describe('broadcasting', () => {
  it('[2,3] + [3]', () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.add(tensor([10, 20, 30]))).toBeAllClose([
      [11, 22, 33],
      [14, 25, 36],
    ]);
  });

  it('[2,1,4] * [3,1] gives [2,3,4]', () => {
    const a = arange(8).float().reshape(2, 1, 4);
    const b = tensor([[1], [2], [3]]);
    const c = a.mul(b);
    expect(c.shape).toEqual([2, 3, 4]);
    expect(c.toArray()).toEqual([
      [
        [0, 1, 2, 3],
        [0, 2, 4, 6],
        [0, 3, 6, 9],
      ],
      [
        [4, 5, 6, 7],
        [8, 10, 12, 14],
        [12, 15, 18, 21],
      ],
    ]);
  });

  it('scalars and 0-d tensors', () => {
    const a = tensor([1, 2]);
    expect(a.sub(1).toArray()).toEqual([0, 1]);
    expect(tensor(10).div(a).toArray()).toEqual([10, 5]);
    expect(a.pow(2).toArray()).toEqual([1, 4]);
    expect(a.add(tensor(1)).shape).toEqual([2]);
    expect(a.add(2, 3).toArray()).toEqual([7, 8]);
    expect(a.sub(a, 0.5).toArray()).toEqual([0.5, 1]);
  });

  it('column times row', () => {
    expect(tensor([[1], [2]]).mul(tensor([1, 10, 100]))).toBeAllClose([
      [1, 10, 100],
      [2, 20, 200],
    ]);
  });

  it('broadcasting over non-contiguous operands', () => {
    const a = tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]).t(); // [[1,3,5],[2,4,6]]
    expect(a.add(tensor([[100], [200]])).toArray()).toEqual([
      [101, 103, 105],
      [202, 204, 206],
    ]);
    expect(a.sub(a.slice(1, 0, 3, 2).sum(1, true)).toArray()).toEqual([
      [-5, -3, -1],
      [-6, -4, -2],
    ]);
  });

  it('int and bool operands', () => {
    const i = tensor([1, 2, 3], { dtype: 'int32' });
    expect(i.add(1).dtype).toBe('int32');
    expect(i.add(0.5).dtype).toBe('float32');
    expect(i.add(0.5).toArray()).toEqual([1.5, 2.5, 3.5]);
    expect(i.div(2).toArray()).toEqual([0.5, 1, 1.5]);
    expect(i.mul(tensor([1, 2, 3])).dtype).toBe('float32');
    expect(
      tensor([true, false])
        .add(tensor([true, true]))
        .toArray(),
    ).toEqual([2, 1]);
  });

  it('elementwise functions', () => {
    const x = tensor([-2, -0.5, 0, 0.5, 2]);
    expect(x.abs()).toBeAllClose([2, 0.5, 0, 0.5, 2]);
    expect(x.relu()).toBeAllClose([0, 0, 0, 0.5, 2]);
    expect(x.sign()).toBeAllClose([-1, -1, 0, 1, 1]);
    expect(x.clamp(-1, 1)).toBeAllClose([-1, -0.5, 0, 0.5, 1]);
    expect(x.clamp(0)).toBeAllClose([0, 0, 0, 0.5, 2]);
    expect(x.clamp(null, 0)).toBeAllClose([-2, -0.5, 0, 0, 0]);
    // min > max: everything becomes max, as torch.clamp.
    expect(x.clamp(1, -1)).toBeAllClose([-1, -1, -1, -1, -1]);
    expect(x.exp()).toBeAllClose(Array.from(x.toTypedArray(), Math.exp), {
      atol: 1e-6,
      rtol: 1e-6,
    });
    expect(tensor([1, 4]).sqrt()).toBeAllClose([1, 2]);
    expect(tensor([1, Math.E]).log()).toBeAllClose([0, 1], { atol: 1e-7 });
    expect(tensor([-1]).sqrt().toArray()).toEqual([NaN]);
    expect(tensor([NaN, -1]).relu().toArray()).toEqual([NaN, 0]);
    expect(
      tensor([1, NaN])
        .maximum(tensor([NaN, 0]))
        .toArray(),
    ).toEqual([NaN, NaN]);
    expect(
      tensor([1, 5])
        .minimum(tensor([3, 2]))
        .toArray(),
    ).toEqual([1, 2]);
  });

  it('comparisons give bool tensors', () => {
    const a = tensor([1, 2, 3]);
    expect(a.gt(2).dtype).toBe('bool');
    expect(a.gt(2).toArray()).toEqual([0, 0, 1]);
    expect(a.ge(2).toArray()).toEqual([0, 1, 1]);
    expect(a.lt(2).toArray()).toEqual([1, 0, 0]);
    expect(a.le(2).toArray()).toEqual([1, 1, 0]);
    expect(a.eq(tensor([[1], [3]])).toArray()).toEqual([
      [1, 0, 0],
      [0, 0, 1],
    ]);
    expect(a.ne(2).toArray()).toEqual([1, 0, 1]);
  });

  it('where broadcasts condition and values', () => {
    const c = tensor([[true], [false]]);
    expect(where(c, tensor([1, 2, 3]), 0).toArray()).toEqual([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    expect(
      tensor([1, 2])
        .where(tensor([false, true]), tensor(9))
        .toArray(),
    ).toEqual([9, 2]);
    // Two numbers, as torch.where(c, 1.5, 0) / torch.where(c, 1, 0).
    const f = where(tensor([true, false]), 1.5, 0);
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([1.5, 0]);
    expect(where(tensor([true, false]), 1, 0).dtype).toBe('int32');
  });
});

describe('reductions', () => {
  const x = arange(24).float().reshape(2, 3, 4);

  it('sum over all, one and several dims, keepdim', () => {
    expect(x.sum().item()).toBe(276);
    expect(x.sum().shape).toEqual([]);
    expect(x.sum(0).toArray()).toEqual([
      [12, 14, 16, 18],
      [20, 22, 24, 26],
      [28, 30, 32, 34],
    ]);
    expect(x.sum(-1).toArray()).toEqual([
      [6, 22, 38],
      [54, 70, 86],
    ]);
    expect(x.sum(1, true).shape).toEqual([2, 1, 4]);
    expect(x.sum([0, 2]).toArray()).toEqual([60, 92, 124]);
    expect(x.sum([0, 2], true).shape).toEqual([1, 3, 1]);
    expect(x.sum(undefined, true).shape).toEqual([1, 1, 1]);
    expect(tensor([true, true, false]).sum().toArray()).toBe(2);
    expect(zeros([0]).sum().item()).toBe(0);
  });

  it('mean', () => {
    expect(x.mean().item()).toBe(11.5);
    expect(x.mean([1, 2]).toArray()).toEqual([5.5, 17.5]);
    expect(x.mean(1, true).toArray()).toEqual([[[4, 5, 6, 7]], [[16, 17, 18, 19]]]);
  });

  it('max/min over all, one dim, several dims', () => {
    const y = tensor([
      [3, -1, 7],
      [2, 9, -4],
    ]);
    expect(y.max().item()).toBe(9);
    expect(y.min().item()).toBe(-4);
    expect(y.max(0).toArray()).toEqual([3, 9, 7]);
    expect(y.min(1, true).toArray()).toEqual([[-1], [-4]]);
    expect(x.max([0, 2]).toArray()).toEqual([15, 19, 23]);
    expect(tensor([1, NaN, 3]).max().item()).toBeNaN();
    expect(tensor([1, NaN, 3]).min(0).item()).toBeNaN();
  });

  it('argmax/argmin: first occurrence, dims, keepdim, NaN', () => {
    const y = tensor([
      [1, 5, 5],
      [7, 7, 0],
    ]);
    expect(argmax(y).item()).toBe(3);
    expect(argmax(y).dtype).toBe('int32');
    expect(argmin(y).item()).toBe(5);
    expect(argmax(y, 1).toArray()).toEqual([1, 0]);
    expect(argmin(y, 0).toArray()).toEqual([0, 0, 1]);
    expect(argmax(y, 1, true).shape).toEqual([2, 1]);
    expect(argmax(y, undefined, true).shape).toEqual([1, 1]);
    // NaN counts as the extreme (first NaN wins), as in PyTorch.
    expect(argmax(tensor([1, NaN, 3, NaN])).item()).toBe(1);
    expect(argmin(tensor([1, NaN, -3])).item()).toBe(1);
    expect(argmax(y.t(), 0).toArray()).toEqual([1, 0]);
    expect(tensor([4, 2, 9]).argmax().item()).toBe(2);
  });
});

describe('joining, indexing and products', () => {
  it('cat and stack', () => {
    const a = tensor([[1, 2]]);
    const b = tensor([
      [3, 4],
      [5, 6],
    ]);
    expect(cat([a, b]).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(cat([b, b.t()], 1).toArray()).toEqual([
      [3, 4, 3, 5],
      [5, 6, 4, 6],
    ]);
    expect(stack([a, a.add(1)]).shape).toEqual([2, 1, 2]);
    expect(stack([tensor([1, 2]), tensor([3, 4])], 1).toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
  });

  it('indexSelect', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(indexSelect(t, 1, [2, 0, 2]).toArray()).toEqual([
      [3, 1, 3],
      [6, 4, 6],
    ]);
    expect(t.indexSelect(0, tensor([1], { dtype: 'int32' })).toArray()).toEqual([[4, 5, 6]]);
    expect(t.t().indexSelect(0, [-1]).toArray()).toEqual([[3, 6]]);
  });

  it('matmul shapes and values', () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const v = tensor([1, -1]);
    expect(matmul(a, a).toArray()).toEqual([
      [7, 10],
      [15, 22],
    ]);
    expect(matmul(v, v).shape).toEqual([]);
    expect(matmul(v, v).item()).toBe(2);
    expect(matmul(a, v).toArray()).toEqual([-1, -1]);
    expect(matmul(v, a).toArray()).toEqual([-2, -2]);
    const batch = stack([a, a.mul(2), a.mul(3)]);
    expect(matmul(batch, a).shape).toEqual([3, 2, 2]);
    expect(matmul(batch, a).narrow(0, 2, 1).toArray()).toEqual([
      [
        [21, 30],
        [45, 66],
      ],
    ]);
    expect(matmul(ones([4, 1, 2, 3]), ones([5, 3, 2])).shape).toEqual([4, 5, 2, 2]);
    expect(matmul(a.t(), a).toArray()).toEqual([
      [10, 14],
      [14, 20],
    ]);
  });
});

describe('Tensor misc', () => {
  it('is recognised as a Tensor and prints via util.inspect', async () => {
    const { inspect } = await import('node:util');
    const t = tensor([1, 2]);
    expect(t).toBeInstanceOf(Tensor);
    expect(inspect(t)).toBe('tensor([1., 2.])');
  });
});
