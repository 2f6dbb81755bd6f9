/**
 * `useKernel`: the forward pass of a shift layer through the multiplication-free integer kernels
 * (`tensor/kernels/shift.ts`), with the float backward of the same layer.
 *
 * Forward: x and b are converted to fixed point (floor, saturating; the layer's
 * activationIntegerBits / activationFractionBits, default 16 / 16), W (exactly 0 or ±2^k) becomes
 * (sign, shift) codes, and y = the integer kernel's output ÷ 2^F. Backward: the straight-through
 * gradient of y = x Wᵀ + b (conv: F.conv2d) at the fixed-point-rounded x — gx = g·W,
 * gW = gᵀ·x, gb = Σ g — computed by the float kernels, so a network can be trained on the
 * arithmetic it is deployed with (DeepShift allows the kernels in evaluation only).
 */
import { Tensor } from '../tensor/tensor.ts';
import { Function, type Context } from '../autograd/function.ts';
import { allocate } from '../tensor/dtype.ts';
import type { FloatArray } from '../tensor/kernels/types.ts';
import { linearBackward } from '../tensor/kernels/gemm.ts';
import {
  conv2dBackwardBias,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dParams,
  type Conv2dOptions,
  type Conv2dParams,
} from '../tensor/kernels/conv2d.ts';
import {
  DEFAULT_FIXED_POINT,
  fromFixedPoint,
  shiftCodesFromFloat,
  shiftConv2d,
  shiftLinear,
  shiftPlan,
  toFixedPoint,
  type FixedPointFormat,
} from '../tensor/kernels/shift.ts';

const f = (t: Tensor): FloatArray => t._flat() as FloatArray;

function fixed(t: Tensor, fmt: FixedPointFormat): Int32Array {
  const q = new Int32Array(t.numel());
  toFixedPoint(q, f(t), q.length, fmt);
  return q;
}

/** The fixed-point format of a layer (its activation bits, else 16 / 16). */
export function layerFormat(integerBits?: number, fractionBits?: number): FixedPointFormat {
  return integerBits === undefined || fractionBits === undefined
    ? { ...DEFAULT_FIXED_POINT }
    : { integerBits, fractionBits };
}

class ShiftLinearKernelFn extends Function {
  static forward(
    ctx: Context,
    x: Tensor,
    w: Tensor,
    b: Tensor | null,
    fmt: FixedPointFormat,
  ): Tensor {
    ctx.saveForBackward(x, w);
    const [batch, inF] = x.shape as [number, number];
    const outF = w.size(0);
    const plan = shiftPlan(shiftCodesFromFloat(f(w)), outF, inF);
    const yq = new Int32Array(batch * outF);
    shiftLinear(yq, fixed(x, fmt), plan, b && fixed(b, fmt), batch);
    const y = allocate(x.dtype, yq.length) as FloatArray;
    fromFixedPoint(y, yq, yq.length, fmt.fractionBits);
    return Tensor.fromData(y, [batch, outF]);
  }
  // straight through the quantisation: gx = g W, gW = gᵀ x, gb = Σ_batch g
  static backward(ctx: Context, g: Tensor) {
    const [x, w] = ctx.saved as [Tensor, Tensor];
    const [batch, inF] = x.shape as [number, number];
    const outF = w.size(0);
    const gx = ctx.needsInputGrad[0] ? (allocate(x.dtype, x.numel()) as FloatArray) : null;
    const gw = ctx.needsInputGrad[1] ? (allocate(w.dtype, w.numel()) as FloatArray) : null;
    const gb = ctx.needsInputGrad[2] ? (allocate(g.dtype, outF) as FloatArray) : null;
    linearBackward(gx, gw, gb, f(g.contiguous()), f(x), f(w), batch, inF, outF);
    return [
      gx && Tensor.fromData(gx, x.shape),
      gw && Tensor.fromData(gw, w.shape),
      gb && Tensor.fromData(gb, [outF]),
      null,
    ];
  }
}

/** y = x Wᵀ + b through the integer shift kernel (float backward); x [..., in], W [out, in]. */
export function shiftLinearKernel(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  fmt: FixedPointFormat = DEFAULT_FIXED_POINT,
): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  const lead = x.shape.slice(0, -1);
  const y = ShiftLinearKernelFn.apply(x.reshape([-1, inF]).contiguous(), weight, bias, fmt);
  return y.reshape([...lead, outF]);
}

class ShiftConv2dKernelFn extends Function {
  static forward(
    ctx: Context,
    x: Tensor,
    w: Tensor,
    b: Tensor | null,
    p: Conv2dParams,
    fmt: FixedPointFormat,
  ): Tensor {
    ctx.saveForBackward(x, w);
    ctx.p = p;
    const plan = shiftPlan(shiftCodesFromFloat(f(w)), p.cOut, w.numel() / p.cOut);
    const yq = new Int32Array(p.n * p.cOut * p.outH * p.outW);
    shiftConv2d(yq, fixed(x, fmt), plan, b && fixed(b, fmt), p);
    const y = allocate(x.dtype, yq.length) as FloatArray;
    fromFixedPoint(y, yq, yq.length, fmt.fractionBits);
    return Tensor.fromData(y, [p.n, p.cOut, p.outH, p.outW]);
  }
  // straight through the quantisation: gx = convᵀ(g, W), gW = corr(x, g), gb = Σ g
  static backward(ctx: Context, g: Tensor) {
    const [x, w] = ctx.saved as [Tensor, Tensor];
    const p = ctx.p as Conv2dParams;
    const gy = f(g.contiguous());
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    let gb: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      const d = allocate(x.dtype, x.numel()) as FloatArray;
      conv2dBackwardInput(d, gy, f(w), p);
      gx = Tensor.fromData(d, x.shape);
    }
    if (ctx.needsInputGrad[1]) {
      const d = allocate(w.dtype, w.numel()) as FloatArray;
      conv2dBackwardWeight(d, gy, f(x), p);
      gw = Tensor.fromData(d, w.shape);
    }
    if (ctx.needsInputGrad[2]) {
      const d = allocate(g.dtype, p.cOut) as FloatArray;
      conv2dBackwardBias(d, gy, p);
      gb = Tensor.fromData(d, [p.cOut]);
    }
    return [gx, gw, gb, null, null];
  }
}

/** F.conv2d through the integer shift kernel (zeros padding; float backward); NCHW or CHW. */
export function shiftConv2dKernel(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: Conv2dOptions = {},
  fmt: FixedPointFormat = DEFAULT_FIXED_POINT,
): Tensor {
  const unbatched = x.ndim === 3;
  const x4 = (unbatched ? x.unsqueeze(0) : x).contiguous();
  const p = conv2dParams(x4.shape, weight.shape, opts);
  const y = ShiftConv2dKernelFn.apply(x4, weight, bias, p, fmt);
  return unbatched ? y.squeeze(0) : y;
}
