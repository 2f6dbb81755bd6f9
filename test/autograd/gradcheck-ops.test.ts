/** Every differentiable op passes float64 gradcheck, including broadcasting and scalar operands. */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  Tensor,
  abs,
  add,
  autograd,
  cat,
  clamp,
  div,
  exp,
  expand,
  flatten,
  indexSelect,
  log,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  narrow,
  neg,
  permute,
  pow,
  relu,
  reshape,
  sign,
  sqrt,
  squeeze,
  stack,
  sub,
  sum,
  tensor,
  transpose,
  unsqueeze,
  where,
} from '../../src/index.ts';
import { f64 } from '../helpers/fixtures.ts';
import { awayFromZero, distinct, normal, reseed, uniform } from '../helpers/random.ts';

const { gradcheck } = autograd;
const opts = { eps: 1e-6, atol: 1e-6, rtol: 1e-4 };
const check = (fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]) =>
  expect(gradcheck(fn, inputs, opts)).toBe(true);

beforeEach(() => reseed(42));

describe('gradcheck: binary ops with broadcasting', () => {
  const shapes: [string, number[], number[]][] = [
    ['same shape', [2, 3], [2, 3]],
    ['[2,3] and [3]', [2, 3], [3]],
    ['[2,1,4] and [3,1]', [2, 1, 4], [3, 1]],
    ['[3] and [2,3]', [3], [2, 3]],
    ['0-d and [2,3]', [], [2, 3]],
    ['[2,3] and [1,1]', [2, 3], [1, 1]],
  ];
  for (const [name, sa, sb] of shapes) {
    it(`add ${name}`, () => check(add, [normal(sa), normal(sb)]));
    it(`sub ${name}`, () => check(sub, [normal(sa), normal(sb)]));
    it(`mul ${name}`, () => check(mul, [normal(sa), normal(sb)]));
    it(`div ${name}`, () => check(div, [normal(sa), awayFromZero(sb)]));
    it(`pow ${name} (positive base)`, () => check(pow, [uniform(sa, 0.5, 2), normal(sb)]));
    it(`maximum ${name}`, () => {
      const [a, b] = [distinct(sa), distinct(sb)];
      // Shift b so no element of a equals any of b.
      check(maximum, [a, b.detach().add(0.01).requiresGrad_()]);
    });
    it(`minimum ${name}`, () => {
      const [a, b] = [distinct(sa), distinct(sb)];
      check(minimum, [a, b.detach().add(0.01).requiresGrad_()]);
    });
  }

  it('scalar (number) operands on either side', () => {
    const x = awayFromZero([2, 3]);
    check((t) => add(t, 2.5), [x]);
    check((t) => add(2.5, t), [x]);
    check((t) => sub(1.5, t), [x]);
    check((t) => mul(t, -3), [x]);
    check((t) => div(t, 4), [x]);
    check((t) => div(2, t), [x]);
    check((t) => maximum(t, 0.05), [x]);
    check((t) => minimum(0.05, t), [x]);
  });

  it('only one operand requires grad', () => {
    const a = normal([2, 3]);
    const b = normal([3]).detach();
    check((x) => mul(x, b), [a]);
    check((x) => div(b, x.abs().add(0.5)), [a]);
  });

  it('the same tensor on both sides', () => {
    const x = awayFromZero([4]);
    check((t) => mul(t, t), [x]);
    check((t) => div(t, t.mul(t)), [x]);
  });
});

describe('gradcheck: pow', () => {
  it('scalar exponents (including 0, 1, 2, negative and fractional)', () => {
    for (const e of [0, 1, 2, 3, -1, 0.5, -1.5]) check((x) => pow(x, e), [uniform([2, 3], 0.5, 2)]);
  });
  it('integer exponents of negative bases', () => {
    for (const e of [2, 3, -2]) check((x) => pow(x, e), [awayFromZero([5])]);
  });
  it('tensor exponent with a broadcast base', () =>
    check(pow, [uniform([3], 0.5, 2), normal([2, 3])]));
  it('number base, tensor exponent', () => check((e) => pow(2, e), [normal([2, 3])]));
});

describe('gradcheck: unary ops', () => {
  it('neg', () => check(neg, [normal([2, 3])]));
  it('exp', () => check(exp, [normal([2, 3])]));
  it('log', () => check(log, [uniform([2, 3], 0.2, 3)]));
  it('sqrt', () => check(sqrt, [uniform([2, 3], 0.2, 3)]));
  it('abs', () => check(abs, [awayFromZero([2, 3])]));
  it('sign (zero gradient)', () => {
    const x = awayFromZero([2, 3]);
    check(sign, [x]);
    sign(x).sum().backward();
    expect(x.grad).toBeAllClose([
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });
  it('relu', () => check(relu, [awayFromZero([2, 3])]));
  it('clamp (min, max, both)', () => {
    const x = awayFromZero([3, 4]);
    check((t) => clamp(t, -0.5, 0.5), [x]);
    check((t) => clamp(t, -0.5), [x]);
    check((t) => clamp(t, null, 0.5), [x]);
  });
  it('where with broadcasting (cond [2,3], a [3], b 0-d)', () => {
    const cond = tensor([
      [true, false, true],
      [false, false, true],
    ]);
    check((a, b) => where(cond, a, b), [normal([3]), normal([])]);
    check((a) => where(cond, a, 0), [normal([2, 1])]);
  });
  it('square, clone, contiguous, to(float64) round trip', () => {
    const x = normal([2, 3]);
    check((t) => t.square(), [x]);
    check((t) => t.clone(), [x]);
    check((t) => t.t().contiguous(), [x]);
    // Through float32 the finite differences need a larger step and tolerance.
    const loose = { eps: 1e-2, atol: 1e-3, rtol: 1e-3 };
    expect(gradcheck((t) => t.to('float32').to('float64'), [x], loose)).toBe(true);
    expect(gradcheck((t) => t.to('float32').mul(2).double(), [x], loose)).toBe(true);
  });
});

describe('gradcheck: reductions', () => {
  it('sum over all, one, several dims, keepdim, negative dims', () => {
    const x = normal([2, 3, 4]);
    check((t) => sum(t), [x]);
    check((t) => sum(t, 1), [x]);
    check((t) => sum(t, -1, true), [x]);
    check((t) => sum(t, [0, 2]), [x]);
    check((t) => sum(t, [0, 2], true), [x]);
  });
  it('mean over all, one, several dims, keepdim', () => {
    const x = normal([2, 3, 4]);
    check((t) => mean(t), [x]);
    check((t) => mean(t, 1), [x]);
    check((t) => mean(t, [0, 2], true), [x]);
    check((t) => mean(t, -1, true), [x]);
  });
  it('max/min over everything (no ties)', () => {
    const x = distinct([3, 4]);
    check((t) => max(t), [x]);
    check((t) => min(t), [x]);
  });
  it('max/min along one dim, keepdim or not', () => {
    const x = distinct([3, 4, 2]);
    for (const d of [0, 1, 2, -1]) {
      check((t) => max(t, d), [x]);
      check((t) => min(t, d, true), [x]);
    }
  });
  it('max/min over several dims', () => {
    const x = distinct([3, 4, 2]);
    check((t) => max(t, [0, 2]), [x]);
    check((t) => min(t, [1, 2], true), [x]);
  });
  it('reductions of a non-contiguous view', () => {
    const x = distinct([3, 4]);
    check((t) => t.t().sum(1), [x]);
    check((t) => t.t().max(0), [x]);
    check((t) => t.t().mean([0], true), [x]);
  });
});

describe('gradcheck: movement ops', () => {
  it('reshape / view / flatten (with -1)', () => {
    const x = normal([2, 3, 4]);
    check((t) => reshape(t, [4, -1]), [x]);
    check((t) => t.view(6, 4), [x]);
    check((t) => flatten(t), [x]);
    check((t) => flatten(t, 1), [x]);
    check((t) => t.permute(2, 0, 1).reshape([4, 6]), [x]);
  });
  it('permute / transpose / t / T', () => {
    const x = normal([2, 3, 4]);
    check((t) => permute(t, [2, 0, 1]), [x]);
    check((t) => transpose(t, 0, -1), [x]);
    check((t) => t.T, [x]);
    check((t) => t.t(), [normal([3, 2])]);
  });
  it('squeeze / unsqueeze (including of non-contiguous views)', () => {
    const x = normal([2, 1, 3]);
    check((t) => squeeze(t), [x]);
    check((t) => squeeze(t, 1), [x]);
    check((t) => unsqueeze(t, 0), [x]);
    check((t) => unsqueeze(t, -1), [x]);
    check((t) => t.permute(2, 1, 0).squeeze(1).unsqueeze(0), [x]);
  });
  it('expand / expandAs', () => {
    check((t) => expand(t, [2, 3, 4]), [normal([3, 1])]);
    check((t) => expand(t, [4, -1]), [normal([3])]);
    check((t) => t.expandAs(tensor([[1, 2]], { dtype: 'float64' }).expand(3, 2)), [normal([1, 2])]);
  });
  it('narrow and slice (with step, negative bounds)', () => {
    const x = normal([4, 5]);
    check((t) => narrow(t, 1, 1, 3), [x]);
    check((t) => narrow(t, 0, -2, 2), [x]);
    check((t) => t.slice(1, 0, 5, 2), [x]);
    check((t) => t.slice(0, -3, undefined, 2), [x]);
    check((t) => t.slice(1, 1).slice(0, 1, 3), [x]);
  });
  it('indexSelect with repeated indices (gradients add)', () => {
    const x = normal([3, 4]);
    check((t) => indexSelect(t, 0, [2, 0, 2, 2]), [x]);
    check((t) => indexSelect(t, 1, tensor([3, 3, 1], { dtype: 'int32' })), [x]);
    check((t) => indexSelect(t.t(), 0, [1, -1]), [x]);
  });
  it('cat and stack (several inputs, different dims)', () => {
    const [a, b, c] = [normal([2, 3]), normal([1, 3]), normal([2, 3])];
    check((x, y) => cat([x, y], 0), [a, b]);
    check((x, z) => cat([x, z, x], 1), [a, c]);
    check((x, z) => stack([x, z]), [a, c]);
    check((x, z) => stack([x, z], -1), [a, c]);
    check((x, z) => stack([x.t(), z.t()], 1), [a, c]);
  });
});

describe('gradcheck: matmul', () => {
  const cases: [string, number[], number[]][] = [
    ['1-D . 1-D', [4], [4]],
    ['1-D @ 2-D', [3], [3, 2]],
    ['2-D @ 1-D', [2, 3], [3]],
    ['2-D @ 2-D', [2, 3], [3, 4]],
    ['batched 3-D @ 3-D', [2, 2, 3], [2, 3, 4]],
    ['batched 3-D @ 2-D (broadcast)', [2, 2, 3], [3, 4]],
    ['2-D @ batched 3-D (broadcast)', [2, 3], [2, 3, 4]],
    ['broadcast batch dims [2,1,..] @ [3,..]', [2, 1, 2, 3], [3, 3, 2]],
    ['1-D @ batched 3-D', [3], [2, 3, 2]],
    ['batched 3-D @ 1-D', [2, 2, 3], [3]],
  ];
  for (const [name, sa, sb] of cases) it(name, () => check(matmul, [normal(sa), normal(sb)]));
  it('transposed (non-contiguous) operands', () => {
    check((a, b) => matmul(a.t(), b.t()), [normal([3, 2]), normal([4, 3])]);
    check((a, b) => matmul(a.transpose(1, 2), b), [normal([2, 3, 2]), normal([2, 3, 4])]);
  });
  it('a composite: linear layer x @ Wᵀ + b, then log-sum-exp', () => {
    const fn = (x: Tensor, w: Tensor, b: Tensor) =>
      matmul(x, w.t()).add(b).exp().sum(1).log().mean();
    check(fn, [normal([4, 3]), normal([2, 3]), normal([2])]);
  });
});

describe('gradcheck: inputs that are views', () => {
  it('a non-contiguous leaf (transposed storage)', () => {
    const base = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const x = base.t().requiresGrad_();
    expect(x.isContiguous()).toBe(false);
    check((t) => t.mul(t).sum(0), [x]);
  });
});
