/**
 * DeepShift's straight-through estimators (`deepshift/ste.py`): each forward quantises, each
 * backward hands the incoming gradient through unchanged (no masking, no scaling), so training can
 * move the float "shadow" values across quantisation steps.
 *
 * Forwards follow PyTorch exactly: `round` is torch.round (half to even), `sign(0) = 0`, and every
 * intermediate is computed in the tensor's dtype (float32 values are rounded with `Math.fround`
 * after each step, as float32 kernels would), so float32 and float64 results can differ near
 * 2^(k+½).
 */
import { Tensor } from '../tensor/tensor.ts';
import { Function, type Context } from '../autograd/function.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import { allocate, isFloating, type TypedArray } from '../tensor/dtype.ts';
import { sameShape, shapeStr } from '../tensor/shape.ts';
import { forEachOffset } from '../tensor/strided.ts';
import { defaultGenerator, type Generator } from '../tensor/random.ts';
import { powerOf2With, roundHalfEven, roundPowerOf2F32, signOf } from '../tensor/kernels/pow2.ts';
import { clampAbsRange } from '../tensor/kernels/elementwise.ts';
import type { FloatArray } from '../tensor/kernels/types.ts';

export type Rounding = 'deterministic' | 'stochastic';

export { roundHalfEven, signOf };

/** A rounding of one value: half-to-even, or ⌊x⌋ + Bernoulli(x − ⌊x⌋) drawn from `gen`. */
function rounder(rounding: Rounding, f32: boolean, gen: Generator): (x: number) => number {
  if (rounding === 'deterministic') return roundHalfEven;
  if (rounding !== 'stochastic')
    throw new Error(
      `round: rounding must be 'deterministic' or 'stochastic', got ${String(rounding)}`,
    );
  return (x) => {
    if (!Number.isFinite(x)) return x;
    const lo = Math.floor(x);
    const u = f32 ? gen.uniform32() : gen.uniform64();
    return u < x - lo ? lo + 1 : lo; // x − ⌊x⌋ is exact in either dtype
  };
}

/** sign(x)·2^round(log2|x|) in the dtype of the values (`f32`: float32 arithmetic); 0 stays 0. */
function powerOf2Rounder(rounding: Rounding, f32: boolean, gen: Generator): (x: number) => number {
  const r = rounder(rounding, f32, gen);
  return (x) => powerOf2With(x, f32, r);
}

function checkFloat(op: string, x: Tensor): void {
  if (!isFloating(x.dtype))
    throw new Error(`${op}: expected a float32 or float64 tensor, got ${x.dtype}`);
}

/** out[i] = f(x[i]) in x's dtype, contiguous, row-major order (so random draws are in that order). */
function map(x: Tensor, f: (v: number) => number): Tensor {
  const out = allocate(x.dtype, x.numel());
  const d = x._v.data;
  if (x.isContiguous()) {
    const o = x._v.offset;
    for (let i = 0; i < out.length; i++) out[i] = f(d[o + i]!);
    return Tensor.fromData(out, x.shape);
  }
  let k = 0;
  forEachOffset(x._v.shape, x._v.stride, x._v.offset, (o) => {
    out[k++] = f(d[o]!);
  });
  return Tensor.fromData(out, x.shape);
}

class RoundSTE extends Function {
  static forward(_ctx: Context, x: Tensor, rounding: Rounding, gen: Generator): Tensor {
    return map(x, rounder(rounding, x.dtype === 'float32', gen));
  }
  // straight through: dx = g
  static backward(_ctx: Context, g: Tensor) {
    return [g, null, null];
  }
}

class SignSTE extends Function {
  static forward(_ctx: Context, x: Tensor): Tensor {
    return map(x, signOf);
  }
  // straight through: dx = g
  static backward(_ctx: Context, g: Tensor) {
    return [g];
  }
}

class ClampSTE extends Function {
  static forward(_ctx: Context, x: Tensor, lo: number, hi: number): Tensor {
    return map(x, (v) => (v > hi ? hi : v < lo ? lo : v));
  }
  // straight through (not masked outside [lo, hi]): dx = g
  static backward(_ctx: Context, g: Tensor) {
    return [g, null, null];
  }
}

class ClampAbsSTE extends Function {
  static forward(_ctx: Context, x: Tensor, min: number, max: number): Tensor {
    const n = x.numel();
    const out = allocate(x.dtype, n) as FloatArray;
    clampAbsRange(out, x._flat() as FloatArray, n, min, max);
    return Tensor.fromData(out, x.shape);
  }
  // straight through: dx = g
  static backward(_ctx: Context, g: Tensor) {
    return [g, null, null];
  }
}

class RoundPowerOf2STE extends Function {
  // pure when deterministic: roundPowerOf2 passes the generator only for stochastic rounding
  static traceTag = 'roundPowerOf2';
  static forward(_ctx: Context, x: Tensor, rounding: Rounding, gen: Generator | null): Tensor {
    if (rounding === 'deterministic' && x.dtype === 'float32') {
      // the same values from the bit kernel
      const n = x.numel();
      const out = allocate('float32', n) as Float32Array;
      roundPowerOf2F32(out, x._flat() as Float32Array, n);
      return Tensor.fromData(out, x.shape);
    }
    return map(x, powerOf2Rounder(rounding, x.dtype === 'float32', gen ?? defaultGenerator));
  }
  // straight through: dx = g
  static backward(_ctx: Context, g: Tensor) {
    return [g, null, null];
  }
}

class RoundFixedPointSTE extends Function {
  static traceTag = 'roundFixedPoint';
  static forward(_ctx: Context, x: Tensor, integerBits: number, fractionBits: number): Tensor {
    const delta = 2 ** -fractionBits;
    const lo = -(2 ** (integerBits - 1));
    const hi = 2 ** (integerBits - 1) - delta;
    // x/δ and ·δ are exact (δ is a power of 2), so float32 needs no extra rounding until the store.
    return map(x, (v) => {
      const q = Math.floor(v / delta) * delta;
      return q > hi ? hi : q < lo ? lo : q;
    });
  }
  // straight through: dx = g
  static backward(_ctx: Context, g: Tensor) {
    return [g, null, null];
  }
}

class UnsymGradMul extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(b);
    return a.mul(b);
  }
  // da = g·b, db = g (deliberately not g·a: DeepShift-PS trains sign as if the weight were sign itself)
  static backward(ctx: Context, g: Tensor) {
    const [b] = ctx.saved as [Tensor];
    return [ctx.needsInputGrad[0] ? g.mul(b) : null, g];
  }
}

/**
 * `ste.round`: torch.round (half to even) or, with `'stochastic'`, ⌊x⌋ + Bernoulli(x − ⌊x⌋) drawn
 * from `generator` (default the global one) in row-major order. Gradient passes straight through.
 */
export function round(
  x: Tensor,
  rounding: Rounding = 'deterministic',
  generator: Generator = defaultGenerator,
): Tensor {
  checkFloat('round', x);
  return RoundSTE.apply(x, rounding, generator);
}

/** `ste.sign`: −1, 0 or 1 (sign(0) = 0); gradient passes straight through. */
export function sign(x: Tensor): Tensor {
  checkFloat('sign', x);
  return SignSTE.apply(x);
}

/** `ste.clamp`: clamp into [lo, hi]; the gradient passes straight through, even outside the range. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  checkFloat('clamp', x);
  if (!(lo <= hi)) throw new Error(`clamp: need lo <= hi, got [${lo}, ${hi}]`);
  return ClampSTE.apply(x, lo, hi);
}

/** `ste.clampabs`: |x| clamped into [min, max] keeping the sign; zeros stay zero. Straight-through gradient. */
export function clampAbs(x: Tensor, min: number, max: number): Tensor {
  checkFloat('clampAbs', x);
  if (!(min >= 0 && max >= min))
    throw new Error(`clampAbs: need 0 <= min <= max, got [${min}, ${max}]`);
  return ClampAbsSTE.apply(x, min, max);
}

/**
 * `ste.round_power_of_2`: sign(x)·2^round(log2|x|), rounded in the log domain (so the cut-over is
 * at √2·2^k), 0 stays 0, computed in x's dtype. Gradient passes straight through.
 */
export function roundPowerOf2(
  x: Tensor,
  rounding: Rounding = 'deterministic',
  generator: Generator = defaultGenerator,
): Tensor {
  checkFloat('roundPowerOf2', x);
  return RoundPowerOf2STE.apply(x, rounding, rounding === 'stochastic' ? generator : null);
}

/**
 * `ste.round_fixed_point`: signed fixed point with `integerBits` (sign included) and
 * `fractionBits`: ⌊x / 2^−F⌋·2^−F clamped to [−2^(I−1), 2^(I−1) − 2^−F], the representable
 * range. (DeepShift's `round_to_fixed` clamps the top at 2^(I−1) − 1 and returns sign(x) − 1 for
 * I = 1.) For float32 the bounds are rounded to float32 on store. Gradient passes straight through.
 */
export function roundFixedPoint(x: Tensor, integerBits = 16, fractionBits = 16): Tensor {
  checkFloat('roundFixedPoint', x);
  if (!Number.isInteger(integerBits) || integerBits < 1 || !Number.isInteger(fractionBits)) {
    throw new Error(
      `roundFixedPoint: integerBits must be an integer >= 1 and fractionBits an integer, got ${integerBits}, ${fractionBits}`,
    );
  }
  return RoundFixedPointSTE.apply(x, integerBits, fractionBits);
}

/** `ste.unsym_grad_mul`: forward a·b (same shapes); backward gives a the gradient g·b and b just g. */
export function unsymGradMul(a: Tensor, b: Tensor): Tensor {
  checkFloat('unsymGradMul', a);
  checkFloat('unsymGradMul', b);
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(
      `unsymGradMul: operands must have the same shape, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`,
    );
  }
  return UnsymGradMul.apply(a, b);
}

/**
 * In place and outside autograd: every value becomes sign(x)·2^round(log2|x|) (deterministic, in
 * the tensor's dtype). What the notebook's crude net applies to its parameters before each forward.
 */
export function roundPowerOf2_(t: Tensor): Tensor {
  checkFloat('roundPowerOf2_', t);
  noGrad(() => {
    const f32 = t.dtype === 'float32';
    const bits = (d: TypedArray) =>
      roundPowerOf2F32(d as Float32Array, d as Float32Array, d.length);
    if (f32 && t._kernelInPlace('roundPowerOf2_', bits)) return;
    t._mapInPlace('roundPowerOf2_', powerOf2Rounder('deterministic', f32, defaultGenerator));
  });
  return t;
}

/** In place and outside autograd: |x| clamped into [min, max] keeping the sign (zeros stay zero). */
export function clampAbs_(t: Tensor, min: number, max: number): Tensor {
  checkFloat('clampAbs_', t);
  noGrad(() => {
    const clamp = (d: TypedArray) =>
      clampAbsRange(d as FloatArray, d as FloatArray, d.length, min, max);
    if (!t._kernelInPlace('clampAbs_', clamp)) {
      t.copy_(ClampAbsSTE.apply(t, min, max));
    }
  });
  return t;
}
