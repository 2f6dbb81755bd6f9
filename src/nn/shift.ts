/**
 * DeepShift-PS layers (`deepshift/modules.py`): the weight is trained as two tensors, `shift` and
 * `sign`, and used as W = sign(round(sign)) · 2^round(shift), so a product with W is a bit shift
 * and a sign flip. Rounding is straight-through; `unsymGradMul` gives sign the plain gradient dL/dW.
 */
import { Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import { Function, type Context } from '../autograd/function.ts';
import { pow } from '../autograd/ops/index.ts';
import { defaultGenerator, type Generator } from '../tensor/random.ts';
import { allocateUninitialized, type DType, type TypedArray } from '../tensor/dtype.ts';
import { psWeightF32, psWeightGradF32 } from '../tensor/kernels/pow2.ts';
import type { PaddingMode } from '../tensor/kernels/conv2d.ts';
import { empty } from './empty.ts';
import { Module, Parameter } from './module.ts';
import * as F from './functional.ts';
import { convGeometry, convOptions } from './layers.ts';
import { calculateFanInAndFanOut, uniform_ } from './init.ts';
import * as ste from './ste.ts';
import { layerFormat, shiftConv2dKernel, shiftLinearKernel } from './shift-kernel.ts';

type Pair = number | readonly [number, number];

/** PS shift range for `weightBits` (one code is spent on the ternary sign): [−(2^(b−1) − 2), 0]; b = 5 → [−14, 0]. */
export function psShiftRange(weightBits: number): [number, number] {
  if (!Number.isInteger(weightBits) || weightBits < 2)
    throw new Error(`weightBits must be an integer >= 2, got ${weightBits}`);
  return [-(2 ** (weightBits - 1) - 2), 0];
}

export interface ShiftOptions {
  /** Bits per weight (sign + shift); sets the shift range. Default 5. */
  weightBits?: number;
  /** How shift and sign are rounded in the forward pass. Default 'deterministic'. */
  rounding?: ste.Rounding;
  /** Generator for stochastic rounding (default the global one). */
  generator?: Generator;
  /** Fixed-point rounding of the input activations and the bias (off unless both are given). */
  activationIntegerBits?: number;
  activationFractionBits?: number;
  dtype?: DType;
}

export interface PSOptions extends ShiftOptions {
  /** `sign` does not require grad (the signs stay as initialised/converted). */
  freezeSign?: boolean;
}

/** STE fixed-point rounding when the layer has activation bits, else the identity. */
export function fixedPoint(x: Tensor, integerBits?: number, fractionBits?: number): Tensor {
  return integerBits === undefined || fractionBits === undefined
    ? x
    : ste.roundFixedPoint(x, integerBits, fractionBits);
}

/**
 * The effective PS weight: clamps `shift` into `range` in place (outside autograd, like DeepShift's
 * `shift.data = clamp(...)`), then W = unsymGradMul(2^round(shift), sign(round(sign))).
 * d/dshift = g·sign·2^shift·ln 2 (through pow), d/dsign = g = dL/dW.
 */
export function psWeight(
  shift: Tensor,
  sign: Tensor,
  range: readonly [number, number],
  rounding: ste.Rounding,
  gen: Generator,
): Tensor {
  noGrad(() => shift.clamp_(range[0], range[1]));
  if (rounding === 'deterministic' && shift.dtype === sign.dtype)
    return PSWeight.apply(shift, sign);
  return psWeightComposite(shift, sign, rounding, gen);
}

/** The PS weight from the STE building blocks, op by op (the reference for `PSWeight`). */
export function psWeightComposite(
  shift: Tensor,
  sign: Tensor,
  rounding: ste.Rounding,
  gen: Generator = defaultGenerator,
): Tensor {
  const shiftRounded = ste.round(shift, rounding, gen);
  const signTernary = ste.sign(ste.round(sign, rounding, gen));
  return ste.unsymGradMul(pow(2, shiftRounded), signTernary);
}

/**
 * `psWeightComposite` with deterministic rounding fused into one pass over the weights (the
 * composite makes six; PS training runs it every step). Same values and gradients.
 */
class PSWeight extends Function {
  static traceTag = 'psWeight';
  static forward(ctx: Context, shift: Tensor, sign: Tensor): Tensor {
    const s = shift._flat();
    const g = sign._flat();
    const w = allocateUninitialized(shift.dtype, s.length); // written in full
    if (g instanceof Float32Array && w instanceof Float32Array && s instanceof Float32Array) {
      psWeightF32(w, s, g, s.length);
    } else {
      for (let i = 0; i < s.length; i++) {
        const p = 2 ** ste.roundHalfEven(s[i]!);
        const sg = ste.signOf(ste.roundHalfEven(g[i]!));
        w[i] = p * sg;
      }
    }
    ctx.w = w;
    return Tensor.fromData(w, shift.shape);
  }
  // dW/dshift = sign·2^shift·ln 2 = W·ln 2 (through the rounding STE), rounded to the dtype as a
  // stored factor would be; sign gets dL/dW unscaled (unsymGradMul). W itself is exact (±2^k or
  // 0), so no array of factors is kept between forward and backward.
  static backward(ctx: Context, gW: Tensor) {
    const w = ctx.w as TypedArray;
    const g = gW._flat();
    const gShift = allocateUninitialized(gW.dtype, g.length); // written in full
    if (w instanceof Float32Array && g instanceof Float32Array && gShift instanceof Float32Array) {
      psWeightGradF32(gShift, g, w, g.length);
    } else {
      for (let i = 0; i < g.length; i++) gShift[i] = g[i]! * (w[i]! * Math.LN2);
    }
    return [Tensor.fromData(gShift, gW.shape), gW];
  }
}

/** Shared state of the PS layers: parameters `shift`, `sign`, `bias` (registered in that order). */
abstract class ShiftPSBase extends Module {
  shift: Parameter;
  sign: Parameter;
  bias: Parameter | null;
  readonly weightBits: number;
  readonly shiftRange: [number, number];
  readonly rounding: ste.Rounding;
  readonly activationIntegerBits?: number;
  readonly activationFractionBits?: number;
  /**
   * Run the forward pass through the integer shift kernels (`shift-kernel.ts`): activations in
   * fixed point (the activation bits, default 16 / 16), float backward. Default false.
   */
  useKernel = false;
  private readonly generator: Generator;

  constructor(weightShape: number[], outDim: number, bias: boolean, opts: PSOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weightBits = opts.weightBits ?? 5;
    this.shiftRange = psShiftRange(this.weightBits);
    this.rounding = opts.rounding ?? 'deterministic';
    this.generator = opts.generator ?? defaultGenerator;
    this.activationIntegerBits = opts.activationIntegerBits;
    this.activationFractionBits = opts.activationFractionBits;
    this.shift = new Parameter(empty(weightShape, dtype));
    this.sign = new Parameter(empty(weightShape, dtype), !(opts.freezeSign ?? false));
    this.bias = bias ? new Parameter(empty([outDim], dtype)) : null;
  }

  /** Where a freshly built layer draws its shifts from. */
  protected abstract initShiftRange(): [number, number];

  /** DeepShift's init, in its draw order: shift U(initShiftRange), sign U(−1, 1), bias U(±1/√fan_in). */
  resetParameters(): void {
    uniform_(this.shift, ...this.initShiftRange());
    uniform_(this.sign, -1, 1);
    if (this.bias) {
      const [fanIn] = calculateFanInAndFanOut(this.shift);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  /** The effective weight ±2^k or 0 (clamps `shift` in place first, as forward does). */
  weight(): Tensor {
    return psWeight(this.shift, this.sign, this.shiftRange, this.rounding, this.generator);
  }

  protected fixedPoint(x: Tensor): Tensor {
    return fixedPoint(x, this.activationIntegerBits, this.activationFractionBits);
  }
}

/** DeepShift-PS `LinearShift`: y = x Wᵀ + b with W = sign·2^shift. */
export class LinearShift extends ShiftPSBase {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: PSOptions & { bias?: boolean } = {},
  ) {
    super([outFeatures, inFeatures], outFeatures, opts.bias ?? true, opts);
    this.resetParameters();
  }

  /** Linear layers draw shift from the whole shift range. */
  protected initShiftRange(): [number, number] {
    return this.shiftRange;
  }

  forward(x: Tensor): Tensor {
    const w = this.weight();
    if (this.useKernel) {
      const fmt = layerFormat(this.activationIntegerBits, this.activationFractionBits);
      return shiftLinearKernel(this.fixedPoint(x), w, this.bias && this.fixedPoint(this.bias), fmt);
    }
    return F.linear(this.fixedPoint(x), w, this.bias && this.fixedPoint(this.bias));
  }
}

export interface Conv2dShiftOptions extends PSOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

/** DeepShift-PS `Conv2dShift`: F.conv2d with W = sign·2^shift. */
export class Conv2dShift extends ShiftPSBase {
  // The geometry as PyTorch exposes it (conv.stride, …), assigned from convGeometry().
  declare readonly kernelSize: [number, number];
  declare readonly stride: [number, number];
  declare readonly padding: [number, number];
  declare readonly dilation: [number, number];
  declare readonly groups: number;
  declare readonly paddingMode: PaddingMode;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: Conv2dShiftOptions = {},
  ) {
    const g = convGeometry('Conv2dShift', inChannels, outChannels, kernelSize, opts);
    super(
      [outChannels, inChannels / g.groups, ...g.kernelSize],
      outChannels,
      opts.bias ?? true,
      opts,
    );
    Object.assign(this, g);
    this.resetParameters();
  }

  /** Conv layers draw shift from U(−10, −1) whatever the weight bits (as DeepShift does). */
  protected initShiftRange(): [number, number] {
    return [-10, -1];
  }

  forward(x: Tensor): Tensor {
    const w = this.weight();
    const opts = convOptions(this);
    if (this.useKernel) {
      const fmt = layerFormat(this.activationIntegerBits, this.activationFractionBits);
      return shiftConv2dKernel(
        this.fixedPoint(x),
        w,
        this.bias && this.fixedPoint(this.bias),
        opts,
        fmt,
      );
    }
    return F.conv2d(this.fixedPoint(x), w, this.bias && this.fixedPoint(this.bias), opts);
  }
}
