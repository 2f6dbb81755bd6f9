/** DeepShift straight-through estimators: forwards vs PyTorch, identity backwards, stochastic rounding. */
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, autograd, full, tensor } from '../../src/index.ts';
import * as ste from '../../src/nn/ste.ts';
import { f64, fromJson, nums, readFixture, type Json } from '../helpers/fixtures.ts';

const exact = { atol: 0, rtol: 0 };

/** Values compared with Object.is, so −0 and +0 differ. */
function expectSame(t: Tensor, expected: number[]): void {
  const got = Array.from(t.toTypedArray());
  expected.forEach((e, i) =>
    expect(Object.is(got[i], e), `index ${i}: got ${got[i]}, expected ${e}`).toBe(true),
  );
}

interface CrudeCase {
  inputs: { x_float64: Json; x_float32: Json };
  expected: { y_float64: Json; y_float32: Json; log2_float32: Json; log2_float64: Json };
}

describe('roundPowerOf2 vs PyTorch (crude_round.json)', () => {
  const c = readFixture<{ cases: CrudeCase[] }>('crude_round').cases[0]!;
  const x64 = fromJson(c.inputs.x_float64);
  const x32 = tensor(nums(c.inputs.x_float32), { dtype: 'float32' });

  it('float64 matches exactly (√2 → 2)', () => {
    expect(ste.roundPowerOf2(x64)).toBeAllClose(fromJson(c.expected.y_float64), exact);
    expect(ste.roundPowerOf2(f64([Math.SQRT2])).item()).toBe(2);
  });

  it('float32 matches exactly, computed in float32 (√2 → 1)', () => {
    const y = ste.roundPowerOf2(x32);
    expect(y.dtype).toBe('float32');
    expect(y).toBeAllClose(nums(c.expected.y_float32), exact);
    expect(ste.roundPowerOf2(tensor([Math.SQRT2], { dtype: 'float32' })).item()).toBe(1);
  });

  it('roundPowerOf2_ does the same in place, in both dtypes', () => {
    const a = x64.clone();
    const b = x32.clone();
    expect(ste.roundPowerOf2_(a)).toBe(a);
    ste.roundPowerOf2_(b);
    expect(a).toBeAllClose(fromJson(c.expected.y_float64), exact);
    expect(b).toBeAllClose(nums(c.expected.y_float32), exact);
  });

  it('works on leaves that require grad (outside autograd) and bumps their version', () => {
    const p = f64([3, -0.3], true);
    const v = p._version;
    ste.roundPowerOf2_(p);
    expect(p.toArray()).toEqual([4, -0.25]);
    expect(p._version).toBeGreaterThan(v);
  });

  it('keeps zeros and rounds in the log domain', () => {
    // the cut-over is at √2·2^k (1.414…, 2.828…), not at the linear midpoints 1.5, 3, 6
    expectSame(
      ste.roundPowerOf2(f64([0, -0, 1.41, 1.42, -2.82, -2.84, 5, 6])),
      [0, 0, 1, 2, -2, -4, 4, 8],
    );
  });
});

describe('round (half to even, like torch.round)', () => {
  it('ties go to even, signs of zero are kept', () => {
    const x = f64([
      2.5,
      -2.5,
      -3.5,
      3.5,
      0.5,
      -0.5,
      1.5,
      -1.5,
      0.49999999999999994,
      -0.4,
      3.7,
      -3.7,
      0,
      -0,
      1e17 + 2,
    ]);
    expectSame(ste.round(x), [2, -2, -4, 4, 0, -0, 2, -2, 0, -0, 4, -4, 0, -0, 1e17 + 2]);
    expect(ste.roundHalfEven(-14.5)).toBe(-14);
    expect(ste.roundHalfEven(-13.5)).toBe(-14);
  });

  it('float32 stays float32', () => {
    const y = ste.round(tensor([2.5, -0.5, 1.25], { dtype: 'float32' }));
    expect(y.dtype).toBe('float32');
    expectSame(y, [2, -0, 1]);
  });
});

describe('sign, clamp, clampAbs, roundFixedPoint forwards', () => {
  it('sign(0) = 0', () => expectSame(ste.sign(f64([-2, 0, -0, 3, -1e-300])), [-1, 0, 0, 1, -1]));

  it('clamp', () =>
    expect(ste.clamp(f64([-20, -14, -3.2, 0, 0.7]), -14, 0).toArray()).toEqual([
      -14, -14, -3.2, 0, 0,
    ]));

  it('clampAbs clamps |x| into [min, max] keeping the sign, zeros stay', () => {
    expect(ste.clampAbs(f64([0, 1e-9, -1e-9, 0.3, -0.3, 5, -5]), 0.01, 1).toArray()).toEqual([
      0, 0.01, -0.01, 0.3, -0.3, 1, -1,
    ]);
  });

  it('clampAbs_ clamps in place, float32 and float64, contiguous and through a strided view', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const t = tensor(
        [
          [0, 1e-9, -0.3, 5],
          [-5, 0.3, -1e-9, -0],
        ],
        { dtype },
      );
      const r = ste.clampAbs_(t, 0.01, 1);
      expect(r).toBe(t);
      expectSame(
        t,
        [0, 0.01, -0.3, 1, -1, 0.3, -0.01, -0].map((v) =>
          dtype === 'float32' ? Math.fround(v) : v,
        ),
      );
      const u = tensor(
        [
          [2, -3],
          [0.001, 0.5],
        ],
        { dtype },
      );
      ste.clampAbs_(u.t(), 0.01, 1); // a transposed view writes through to u
      expectSame(
        u,
        [1, -1, 0.01, 0.5].map((v) => (dtype === 'float32' ? Math.fround(v) : v)),
      );
    }
  });

  it('roundFixedPoint floors to a multiple of 2^-F and clamps to [-2^(I-1), 2^(I-1) - 2^-F]', () => {
    const y = ste.roundFixedPoint(f64([1.3, -1.3, 0.25, -0.01, 100, -100, 7.9]), 4, 2);
    expect(y.toArray()).toEqual([1.25, -1.5, 0.25, -0.25, 7.75, -8, 7.75]);
    // the 16.16 default: resolution 2^-16
    expect(ste.roundFixedPoint(f64([1 / 3])).item()).toBe(Math.floor(65536 / 3) / 65536);
    // one integer bit: [-1, 1 - 2^-F]
    expect(ste.roundFixedPoint(f64([3, -3, 0.6]), 1, 1).toArray()).toEqual([0.5, -1, 0.5]);
  });
});

describe('straight-through backwards: the gradient passes unchanged', () => {
  const x0 = [-20.3, -2.5, -0.5, 0, 0.3, 1.4142, 2.5, 30];
  const g = f64([0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8]);
  const cases: [string, (x: Tensor) => Tensor][] = [
    ['round', (x) => ste.round(x)],
    ['round stochastic', (x) => ste.round(x, 'stochastic', new Generator(1))],
    ['sign', (x) => ste.sign(x)],
    ['clamp (not masked outside the range)', (x) => ste.clamp(x, -1, 1)],
    ['clampAbs', (x) => ste.clampAbs(x, 0.5, 2)],
    ['roundPowerOf2', (x) => ste.roundPowerOf2(x)],
    ['roundFixedPoint', (x) => ste.roundFixedPoint(x, 3, 1)],
  ];
  for (const [name, op] of cases) {
    it(name, () => {
      const x = f64(x0, true);
      op(x).backward(g);
      expect(x.grad!).toBeAllClose(g, exact);
    });
  }

  it('composes: sign(round(x)) passes g through both', () => {
    const x = f64(x0, true);
    ste.sign(ste.round(x)).mul(3).backward(g);
    expect(x.grad!).toBeAllClose(g.mul(3), exact);
  });
});

describe('unsymGradMul', () => {
  it('forward a·b, grad a = g·b, grad b = g (not g·a)', () => {
    const a = f64([0.5, 2, -3], true);
    const b = f64([-1, 0, 4], true);
    const y = ste.unsymGradMul(a, b);
    expect(y.toArray()).toEqual([-0.5, 0, -12]);
    const g = f64([1, 2, 3]);
    y.backward(g);
    expect(a.grad!.toArray()).toEqual([-1, 0, 12]);
    expect(b.grad!.toArray()).toEqual([1, 2, 3]);
  });

  it('is a true gradient for a (gradcheck with b fixed)', () => {
    const b = f64([-1, 0.5, 4]);
    expect(
      autograd.gradcheck((a) => ste.unsymGradMul(a.mul(a), b).sum(), [f64([0.3, -1.2, 2], true)]),
    ).toBe(true);
  });

  it('rejects broadcasting', () => {
    expect(() => ste.unsymGradMul(f64([1, 2]), f64([1]))).toThrow(/same shape/);
  });
});

describe('stochastic rounding', () => {
  it('draws ⌊x⌋ or ⌈x⌉ with mean ≈ x', () => {
    for (const v of [0.3, -2.75, 5.5]) {
      const y = ste
        .round(full([20000], v, { dtype: 'float64' }), 'stochastic', new Generator(11))
        .toTypedArray();
      let s = 0;
      let other = 0;
      for (const r of y) {
        if (r !== Math.floor(v) && r !== Math.ceil(v)) other++;
        s += r;
      }
      expect(other).toBe(0);
      expect(Math.abs(s / y.length - v)).toBeLessThan(0.015);
    }
  });

  it('integers stay put', () => {
    expect(ste.round(f64([-3, 0, 7]), 'stochastic', new Generator(2)).toArray()).toEqual([
      -3, 0, 7,
    ]);
  });

  it('same seed, same result; the global generator is the default', () => {
    const x = f64(Array.from({ length: 64 }, (_, i) => i / 7 - 4));
    const a = ste.round(x, 'stochastic', new Generator(5)).toArray();
    const b = ste.round(x, 'stochastic', new Generator(5)).toArray();
    expect(a).toEqual(b);
    expect(ste.round(x, 'stochastic', new Generator(6)).toArray()).not.toEqual(a);
  });

  it('roundPowerOf2 stochastic rounds log2|x| up or down', () => {
    const y = ste
      .roundPowerOf2(full([4000], -0.3, { dtype: 'float64' }), 'stochastic', new Generator(3))
      .toTypedArray();
    let s = 0;
    let other = 0;
    for (const r of y) {
      if (r !== -0.25 && r !== -0.5) other++;
      s += Math.log2(-r);
    }
    expect(other).toBe(0);
    expect(Math.abs(s / y.length - Math.log2(0.3))).toBeLessThan(0.03);
  });

  it('rejects an unknown rounding', () => {
    expect(() => ste.round(f64([1.5]), 'nearest' as ste.Rounding)).toThrow(/rounding/);
  });
});
