/** Views share storage with their base; non-contiguous layouts copy only when they must. */
import { describe, expect, it } from 'vitest';
import { arange, noGrad, ones, tensor, zeros } from '../../src/index.ts';

const base = () => arange(12).float().reshape(3, 4);

describe('views share storage', () => {
  it('reshape/view of a contiguous tensor', () => {
    const x = base();
    const v = x.view(4, 3);
    v.fill_(1);
    expect(x.sum().item()).toBe(12);
    expect(x.reshape(-1).isContiguous()).toBe(true);
  });

  it('narrow / slice with step / select via indexSelect (copy)', () => {
    const x = base();
    x.narrow(1, 1, 2).mul_(10);
    expect(x.toArray()).toEqual([
      [0, 10, 20, 3],
      [4, 50, 60, 7],
      [8, 90, 100, 11],
    ]);
    const y = base();
    const s = y.slice(1, 0, undefined, 2); // columns 0 and 2
    expect(s.shape).toEqual([3, 2]);
    expect(s.isContiguous()).toBe(false);
    s.zero_();
    expect(y.toArray()).toEqual([
      [0, 1, 0, 3],
      [0, 5, 0, 7],
      [0, 9, 0, 11],
    ]);
    // indexSelect copies, like PyTorch.
    const z = base();
    z.indexSelect(0, [0]).fill_(-1);
    expect(z.min().item()).toBe(0);
  });

  it('permute/transpose/t/T', () => {
    const x = base();
    const t = x.t();
    expect(t.shape).toEqual([4, 3]);
    expect(t.strides).toEqual([1, 4]);
    expect(t.isContiguous()).toBe(false);
    t.narrow(0, 0, 1).fill_(-1); // first column of x
    expect(x.narrow(1, 0, 1).toArray()).toEqual([[-1], [-1], [-1]]);
    const p = arange(24).reshape(2, 3, 4).permute(2, 0, 1);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.T.shape).toEqual([3, 2, 4]);
    expect(x.transpose(0, 1).toArray()).toEqual(t.toArray());
  });

  it('squeeze/unsqueeze/expand are views, also of non-contiguous tensors', () => {
    const x = base();
    const u = x.t().unsqueeze(0);
    expect(u.shape).toEqual([1, 4, 3]);
    u.narrow(1, 0, 1).fill_(100); // x[:, 0]
    expect(x.narrow(1, 0, 1).toArray()).toEqual([[100], [100], [100]]);
    const s = x.t().unsqueeze(1).squeeze(1);
    expect(s.strides).toEqual([1, 4]);
    const e = tensor([1, 2, 3]);
    const ex = e.expand(2, 3);
    expect(ex.strides).toEqual([0, 1]);
    expect(ex.toArray()).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    e.add_(1);
    expect(ex.toArray()).toEqual([
      [2, 3, 4],
      [2, 3, 4],
    ]);
  });

  it('detach() and .data share storage', () => {
    const p = ones([2], { requiresGrad: true });
    noGrad(() => p.detach().add_(1));
    expect(p.toArray()).toEqual([2, 2]);
    p.data.mul_(3);
    expect(p.toArray()).toEqual([6, 6]);
  });
});

describe('non-contiguous layouts', () => {
  it('permute then reshape copies (the base is untouched)', () => {
    const x = base();
    const r = x.t().reshape(12);
    expect(r.toArray()).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(r.isContiguous()).toBe(true);
    r.fill_(0);
    expect(x.sum().item()).toBe(66);
  });

  it('reshape of a non-contiguous tensor stays a view when the strides allow it (as in PyTorch)', () => {
    const x = arange(24).float().reshape(2, 3, 4);
    const p = x.permute(1, 0, 2); // [3, 2, 4], strides [4, 12, 1]
    const r = p.reshape(3, 2, 2, 2); // splits the contiguous last dim: still a view
    expect(r.strides).toEqual([4, 12, 2, 1]);
    r.narrow(0, 0, 1).fill_(-1);
    expect(x.narrow(1, 0, 1).sum().item()).toBe(-8);
    expect(p.flatten(1).toArray()).toEqual([
      [-1, -1, -1, -1, -1, -1, -1, -1],
      [4, 5, 6, 7, 16, 17, 18, 19],
      [8, 9, 10, 11, 20, 21, 22, 23],
    ]);
  });

  it('view refuses incompatible strides; contiguous() fixes it', () => {
    const t = base().t();
    expect(() => t.view(12)).toThrow(
      'view: size [12] is not compatible with the strides [1, 4] of a non-contiguous tensor of shape [4, 3]; use reshape() (or contiguous().view())',
    );
    expect(t.contiguous().view(12).toArray()).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(t.contiguous().isContiguous()).toBe(true);
    // Adding a size-1 dim never needs a copy.
    expect(t.view(4, 1, 3).strides).toEqual([1, 12, 4]);
  });

  it('ops on strided views read the right elements', () => {
    const x = base();
    const v = x.slice(0, 0, 3, 2).slice(1, 1, 4, 2); // rows 0,2 and cols 1,3
    expect(v.toArray()).toEqual([
      [1, 3],
      [9, 11],
    ]);
    expect(v.add(v.t()).toArray()).toEqual([
      [2, 12],
      [12, 22],
    ]);
    expect(v.sum(0).toArray()).toEqual([10, 14]);
    expect(v.exp().log()).toBeAllClose(v, { atol: 1e-5, rtol: 1e-6 });
    expect(v.clone().isContiguous()).toBe(true);
    expect(v.matmul(v).toArray()).toEqual([
      [28, 36],
      [108, 148],
    ]);
    expect(zeros([2, 3]).slice(1, 5).shape).toEqual([2, 0]);
  });
});
