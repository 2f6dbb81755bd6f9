/**
 * `nn.functional`: the layer ops as differentiable Functions over the hand-written kernels
 * (conv2d, linear, maxPool2d, dropout, logSoftmax, nllLoss), plus composites built from them.
 */
import { Tensor } from '../tensor/tensor.ts';
import { Function, type Context } from '../autograd/function.ts';
import { isGradEnabled } from '../autograd/grad-mode.ts';
import { allocate, allocateUninitialized, isFloating } from '../tensor/dtype.ts';
import { normDim, shapeStr } from '../tensor/shape.ts';
import { defaultGenerator, type Generator } from '../tensor/random.ts';
import type { FloatArray } from '../tensor/kernels/types.ts';
import {
  conv2dBackwardBias,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dParams,
  conv2dReluPoolForward,
  type Conv2dOptions,
  type Conv2dParams,
  type FrozenConv,
} from '../tensor/kernels/conv2d.ts';
import { linearBackward, linearForward, type FrozenWeight } from '../tensor/kernels/gemm.ts';
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dParams,
  type MaxPool2dParams,
} from '../tensor/kernels/pool.ts';
import {
  logSoftmaxBackward,
  logSoftmaxForward,
  nllLossBackward,
  nllLossForward,
  type Reduction,
} from '../tensor/kernels/softmax.ts';
import { dropout2dApply } from '../tensor/kernels/elementwise.ts';
import { relu as reluOp, flatten as flattenOp } from '../autograd/ops/index.ts';

export type { Conv2dOptions, Reduction };
type Pair = number | readonly [number, number];

const f = (t: Tensor): FloatArray => t._flat() as FloatArray;
const alloc = (like: Tensor, n: number): FloatArray => allocate(like.dtype, n) as FloatArray;
// for an output the kernel writes in full (no zero fill needed)
const allocOut = (like: Tensor, n: number): FloatArray =>
  allocateUninitialized(like.dtype, n) as FloatArray;

function checkFloat(op: string, ...ts: (Tensor | null)[]): void {
  const first = ts[0]!;
  for (const t of ts) {
    if (t === null) continue;
    if (!isFloating(t.dtype))
      throw new Error(`${op}: expected float32 or float64 tensors, got ${t.dtype}`);
    if (t.dtype !== first.dtype)
      throw new Error(`${op}: dtype mismatch, ${first.dtype} and ${t.dtype}`);
  }
}

class Conv2dFn extends Function {
  static traceTag = 'conv2d';
  static forward(ctx: Context, x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams): Tensor {
    ctx.saveForBackward(x, w);
    ctx.p = p;
    const y = allocOut(x, p.n * p.cOut * p.outH * p.outW);
    // no gradient to any input: nothing reads the forward's tiling back (Winograd F(6×6) allowed)
    const inference = !ctx.needsInputGrad.some(Boolean);
    conv2dForward(y, f(x), f(w), b ? f(b) : null, p, inference);
    return Tensor.fromData(y, [p.n, p.cOut, p.outH, p.outW]);
  }
  // gx = convᵀ(g, w), gw = corr(x, g), gb = Σ g over n, h, w
  static backward(ctx: Context, g: Tensor) {
    const [x, w] = ctx.saved as [Tensor, Tensor];
    const p = ctx.p as Conv2dParams;
    const gy = f(g);
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    let gb: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      const d = alloc(x, x.numel());
      conv2dBackwardInput(d, gy, f(w), p);
      gx = Tensor.fromData(d, x.shape);
    }
    if (ctx.needsInputGrad[1]) {
      const d = alloc(w, w.numel());
      conv2dBackwardWeight(d, gy, f(x), p);
      gw = Tensor.fromData(d, w.shape);
    }
    if (ctx.needsInputGrad[2]) {
      const d = alloc(g, p.cOut);
      conv2dBackwardBias(d, gy, p);
      gb = Tensor.fromData(d, [p.cOut]);
    }
    return [gx, gw, gb, null];
  }
}

/** `F.conv2d(input, weight, bias?, {stride, padding, dilation, groups, paddingMode})` over NCHW (or CHW). */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: Conv2dOptions = {},
): Tensor {
  checkFloat('conv2d', x, weight, bias);
  const unbatched = x.ndim === 3;
  const x4 = unbatched ? x.unsqueeze(0) : x;
  const p = conv2dParams(x4.shape, weight.shape, opts);
  if (bias !== null && (bias.ndim !== 1 || bias.size(0) !== p.cOut)) {
    throw new Error(
      `conv2d: bias of shape ${shapeStr(bias.shape)} does not match ${p.cOut} output channels`,
    );
  }
  const y = Conv2dFn.apply(x4, weight, bias, p);
  return unbatched ? y.squeeze(0) : y;
}

/**
 * An inference plan's fused conv step (nn/trace.ts; no graph): `conv2dReluPool` with the weight
 * given frozen (kernels/conv2d.ts freezeConvWeight), the values it gives.
 */
export function conv2dReluPoolFrozen(
  x: Tensor,
  bias: Tensor | null,
  p: Conv2dParams,
  pool: MaxPool2dParams | null,
  frozen: FrozenConv,
): Tensor {
  const oh = pool === null ? p.outH : pool.outH;
  const ow = pool === null ? p.outW : pool.outW;
  const y = allocOut(x, p.n * p.cOut * oh * ow);
  conv2dReluPoolForward(y, f(x), frozen.w, bias ? f(bias) : null, p, pool, frozen);
  return Tensor.fromData(y, [p.n, p.cOut, oh, ow]);
}

class Conv2dReluPoolFn extends Function {
  static forward(
    _ctx: Context,
    x: Tensor,
    w: Tensor,
    b: Tensor | null,
    p: Conv2dParams,
    pool: MaxPool2dParams | null,
  ): Tensor {
    const oh = pool === null ? p.outH : pool.outH;
    const ow = pool === null ? p.outW : pool.outW;
    const y = allocOut(x, p.n * p.cOut * oh * ow);
    conv2dReluPoolForward(y, f(x), f(w), b ? f(b) : null, p, pool);
    return Tensor.fromData(y, [p.n, p.cOut, oh, ow]);
  }
  static backward(): never {
    throw new Error('conv2dReluPool: a fused inference op has no backward');
  }
}

/**
 * maxPool2d(relu(conv2d(x, w, b, p)), pool) in one pass, or relu(conv2d(…)) with pool null: the
 * fused op `traceInference` puts in place of those calls. Same values as the separate ops;
 * inference only (an error if a gradient would be needed). p and pool come from `conv2dParams`
 * and `maxPool2dParams` for x's and the convolution's output shapes.
 */
export function conv2dReluPool(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  p: Conv2dParams,
  pool: MaxPool2dParams | null,
): Tensor {
  checkFloat('conv2dReluPool', x, weight, bias);
  if (isGradEnabled() && [x, weight, bias].some((t) => t !== null && t.requiresGrad)) {
    throw new Error('conv2dReluPool: inference only; call it under noGrad');
  }
  const want = [p.n, p.cIn, p.h, p.w];
  if (x.ndim !== 4 || x.shape.some((d, i) => d !== want[i])) {
    throw new Error(
      `conv2dReluPool: input of shape ${shapeStr(x.shape)} does not match the convolution's ${shapeStr(want)}`,
    );
  }
  return Conv2dReluPoolFn.apply(x, weight, bias, p, pool);
}

class LinearFn extends Function {
  static traceTag = 'linear';
  static forward(ctx: Context, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
    ctx.saveForBackward(x, w);
    const [batch, inF] = x.shape as [number, number];
    const outF = w.size(0);
    const y = allocOut(x, batch * outF);
    linearForward(y, f(x), f(w), b ? f(b) : null, batch, inF, outF);
    return Tensor.fromData(y, [batch, outF]);
  }
  // gx = g W, gW = gᵀ x, gb = Σ_batch g
  static backward(ctx: Context, g: Tensor) {
    const [x, w] = ctx.saved as [Tensor, Tensor];
    const [batch, inF] = x.shape as [number, number];
    const outF = w.size(0);
    const gx = ctx.needsInputGrad[0] ? alloc(x, x.numel()) : null;
    const gw = ctx.needsInputGrad[1] ? alloc(w, w.numel()) : null;
    const gb = ctx.needsInputGrad[2] ? alloc(g, outF) : null;
    linearBackward(gx, gw, gb, f(g), f(x), f(w), batch, inF, outF);
    return [
      gx && Tensor.fromData(gx, x.shape),
      gw && Tensor.fromData(gw, w.shape),
      gb && Tensor.fromData(gb, [outF]),
    ];
  }
}

/**
 * An inference plan's linear step (nn/trace.ts; no graph): y = x Wᵀ + b for a 2-D x, with W
 * given frozen (kernels/gemm.ts freezeWeight), the values `linear` gives.
 */
export function linearFrozen(x: Tensor, bias: Tensor | null, frozen: FrozenWeight): Tensor {
  const [batch, inF] = x.shape as [number, number];
  const outF = frozen.w.length / inF;
  const y = allocOut(x, batch * outF);
  linearForward(y, f(x), frozen.w, bias ? f(bias) : null, batch, inF, outF, frozen);
  return Tensor.fromData(y, [batch, outF]);
}

/** `F.linear(x, W, b)`: y = x Wᵀ + b, W is [out, in]; leading dims of x are batch dims. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  checkFloat('linear', x, weight, bias);
  if (weight.ndim !== 2)
    throw new Error(`linear: weight must be 2-D [out, in], got ${shapeStr(weight.shape)}`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.ndim < 1 || x.size(-1) !== inF) {
    throw new Error(
      `linear: cannot multiply input ${shapeStr(x.shape)} by weight ${shapeStr(weight.shape)} (expects last dim ${inF})`,
    );
  }
  if (bias !== null && (bias.ndim !== 1 || bias.size(0) !== outF)) {
    throw new Error(`linear: bias of shape ${shapeStr(bias.shape)} does not match ${outF} outputs`);
  }
  const lead = x.shape.slice(0, -1);
  const y = LinearFn.apply(x.reshape([-1, inF]), weight, bias);
  return y.reshape([...lead, outF]);
}

class MaxPool2dFn extends Function {
  static traceTag = 'maxPool2d';
  static forward(ctx: Context, x: Tensor, p: MaxPool2dParams): Tensor {
    const n = p.n * p.c * p.outH * p.outW;
    const y = allocOut(x, n);
    // the indices only serve the backward
    const argmax = ctx.needsInputGrad[0] ? (allocate('int32', n) as Int32Array) : null;
    maxPool2dForward(y, argmax, f(x), p);
    Object.assign(ctx, { p, argmax, inShape: x.shape });
    return Tensor.fromData(y, [p.n, p.c, p.outH, p.outW]);
  }
  // the gradient of each window goes to its (first) maximum
  static backward(ctx: Context, g: Tensor) {
    const { p, argmax, inShape } = ctx as unknown as {
      p: MaxPool2dParams;
      argmax: Int32Array;
      inShape: number[];
    };
    const gx = allocOut(g, p.n * p.c * p.h * p.w); // the kernel zeroes it
    maxPool2dBackward(gx, f(g), argmax, p);
    return [Tensor.fromData(gx, inShape), null];
  }
}

export interface MaxPool2dOptions {
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

/** `F.max_pool2d(x, kernelSize, {stride = kernelSize, padding, dilation, ceilMode})` over NCHW or CHW. */
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: MaxPool2dOptions = {}): Tensor {
  checkFloat('maxPool2d', x);
  const p = maxPool2dParams(
    x.shape,
    kernelSize,
    opts.stride,
    opts.padding ?? 0,
    opts.dilation ?? 1,
    opts.ceilMode ?? false,
  );
  const unbatched = x.ndim === 3;
  const y = MaxPool2dFn.apply(unbatched ? x.unsqueeze(0) : x, p);
  return unbatched ? y.squeeze(0) : y;
}

class MaskFn extends Function {
  static forward(
    ctx: Context,
    x: Tensor,
    mask: Uint8Array,
    scale: number,
    planeSize: number,
  ): Tensor {
    Object.assign(ctx, { mask, scale, planeSize });
    const y = allocOut(x, x.numel());
    dropout2dApply(y, f(x), mask, scale, mask.length, planeSize);
    return Tensor.fromData(y, x.shape);
  }
  // d(x·m·s) = g·m·s
  static backward(ctx: Context, g: Tensor) {
    const { mask, scale, planeSize } = ctx as unknown as {
      mask: Uint8Array;
      scale: number;
      planeSize: number;
    };
    const gx = allocOut(g, g.numel());
    dropout2dApply(gx, f(g), mask, scale, mask.length, planeSize);
    return [Tensor.fromData(gx, g.shape), null, null, null];
  }
}

function dropMask(
  op: string,
  x: Tensor,
  p: number,
  planes: number,
  planeSize: number,
  gen: Generator,
): Tensor {
  checkFloat(op, x);
  const mask = new Uint8Array(planes);
  const keep = 1 - p;
  for (let i = 0; i < planes; i++) mask[i] = gen.uniform32() < keep ? 1 : 0;
  return MaskFn.apply(x, mask, p === 1 ? 0 : 1 / keep, planeSize);
}

function checkP(op: string, p: number): void {
  if (!(p >= 0 && p <= 1))
    throw new Error(`${op}: dropout probability has to be between 0 and 1, but got ${p}`);
}

/** `F.dropout`: zero each element with probability p and scale the rest by 1/(1-p) (training only). */
export function dropout(
  x: Tensor,
  p = 0.5,
  training = true,
  generator: Generator = defaultGenerator,
): Tensor {
  checkP('dropout', p);
  if (!training || p === 0) return x;
  return dropMask('dropout', x, p, x.numel(), 1, generator);
}

/**
 * `F.dropout2d`: zero whole channels of NCHW (or unbatched CHW) input with probability p.
 * On a 2-D [N, F] input it drops single elements, as PyTorch 1.13 does (the notebook applies
 * Dropout2d to the fc1 output). A 3-D input is the documented unbatched (C, H, W); PyTorch 1.13
 * itself warns and treats it as (N, C, L), dropping each (n, c) row.
 */
export function dropout2d(
  x: Tensor,
  p = 0.5,
  training = true,
  generator: Generator = defaultGenerator,
): Tensor {
  checkP('dropout2d', p);
  if (!training || p === 0) return x;
  const s = x.shape;
  if (x.ndim === 4) return dropMask('dropout2d', x, p, s[0]! * s[1]!, s[2]! * s[3]!, generator);
  if (x.ndim === 3) return dropMask('dropout2d', x, p, s[0]!, s[1]! * s[2]!, generator);
  if (x.ndim === 2) return dropMask('dropout2d', x, p, x.numel(), 1, generator);
  throw new Error(`dropout2d: expected a 2-D, 3-D or 4-D input, got shape ${shapeStr(s)}`);
}

class LogSoftmaxFn extends Function {
  static traceTag = 'logSoftmax';
  static forward(ctx: Context, x: Tensor): Tensor {
    const cols = x.size(-1);
    const rows = x.numel() / Math.max(cols, 1);
    const y = alloc(x, x.numel());
    logSoftmaxForward(y, f(x), rows, cols);
    const out = Tensor.fromData(y, x.shape);
    ctx.saveForBackward(out);
    return out;
  }
  // gx = g − softmax(x)·Σg
  static backward(ctx: Context, g: Tensor) {
    const y = ctx.saved[0]!;
    const cols = y.size(-1);
    const gx = alloc(g, g.numel());
    logSoftmaxBackward(gx, f(g), f(y), g.numel() / Math.max(cols, 1), cols);
    return [Tensor.fromData(gx, g.shape)];
  }
}

/** `F.log_softmax(x, dim)`, numerically stable. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  checkFloat('logSoftmax', x);
  if (x.ndim === 0) return LogSoftmaxFn.apply(x.reshape([1])).reshape([]);
  const d = normDim('logSoftmax', dim, x.ndim);
  const last = x.ndim - 1;
  if (d === last) return LogSoftmaxFn.apply(x);
  return LogSoftmaxFn.apply(x.transpose(d, last)).transpose(d, last);
}

/** `F.softmax(x, dim)` = exp(logSoftmax). */
export const softmax = (x: Tensor, dim: number): Tensor => logSoftmax(x, dim).exp();

class NllLossFn extends Function {
  static forward(ctx: Context, x: Tensor, target: Int32Array, reduction: Reduction): Tensor {
    const [rows, cols] = x.shape as [number, number];
    const out = alloc(x, reduction === 'none' ? rows : 1);
    nllLossForward(out, f(x), target, rows, cols, reduction);
    Object.assign(ctx, { target, reduction, rows, cols, inShape: x.shape });
    return Tensor.fromData(out, reduction === 'none' ? [rows] : []);
  }
  // d(−x[r, t_r]) = −1 at the target (÷ rows for the mean)
  static backward(ctx: Context, g: Tensor) {
    const { target, reduction, rows, cols, inShape } = ctx as unknown as {
      target: Int32Array;
      reduction: Reduction;
      rows: number;
      cols: number;
      inShape: number[];
    };
    const gx = alloc(g, rows * cols);
    nllLossBackward(gx, f(g), target, rows, cols, reduction);
    return [Tensor.fromData(gx, inShape), null, null];
  }
}

function targetArray(op: string, input: Tensor, target: Tensor): Int32Array {
  if (target.dtype !== 'int32')
    throw new Error(`${op}: target must be an int32 tensor of class indices, got ${target.dtype}`);
  if (input.ndim !== 2 || target.ndim !== 1 || target.size(0) !== input.size(0)) {
    throw new Error(
      `${op}: expected input [N, C] and target [N], got input ${shapeStr(input.shape)} and target ${shapeStr(target.shape)}`,
    );
  }
  return target._flat() as Int32Array;
}

/** `F.nll_loss(logProbs [N, C], target [N] int32, {reduction: 'mean' | 'sum' | 'none'})`. */
export function nllLoss(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction } = {},
): Tensor {
  checkFloat('nllLoss', input);
  const reduction = opts.reduction ?? 'mean';
  if (!['mean', 'sum', 'none'].includes(reduction))
    throw new Error(`nllLoss: unknown reduction '${reduction}'`);
  return NllLossFn.apply(input, targetArray('nllLoss', input, target), reduction);
}

/** `F.cross_entropy(logits, target)` = nllLoss(logSoftmax(logits, 1), target). */
export function crossEntropy(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction } = {},
): Tensor {
  return nllLoss(logSoftmax(input, 1), target, opts);
}

export const relu = (x: Tensor): Tensor => reluOp(x);
export const flatten = (x: Tensor, startDim = 0, endDim = -1): Tensor =>
  flattenOp(x, startDim, endDim);
