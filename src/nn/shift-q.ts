/**
 * DeepShift-Q layers (`deepshift/modules_q.py`): an ordinary float weight, quantised to
 * sign·2^round(log2|w|) in every forward pass (straight-through gradient).
 *
 * Before quantising, the weight's magnitudes are clamped in place (outside autograd, as DeepShift
 * does with `clampabs`) into [2^lo, 2^hi] of the Q shift range [−(2^(b−1) − 1), 0] (b = 5 → 2^−15
 * … 1); zeros stay zero and small weights are clamped up to 2^lo rather than zeroed.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { defaultGenerator, type Generator } from '../tensor/random.ts';
import type { PaddingMode } from '../tensor/kernels/conv2d.ts';
import { empty } from './empty.ts';
import { Module, Parameter } from './module.ts';
import * as F from './functional.ts';
import { convGeometry, convOptions, resetLinearLike } from './layers.ts';
import { fixedPoint, type ShiftOptions } from './shift.ts';
import * as ste from './ste.ts';
import { layerFormat, shiftConv2dKernel, shiftLinearKernel } from './shift-kernel.ts';

type Pair = number | readonly [number, number];

/** Q shift range for `weightBits` (one sign bit, no zero code): [−(2^(b−1) − 1), 0]; b = 5 → [−15, 0]. */
export function qShiftRange(weightBits: number): [number, number] {
  if (!Number.isInteger(weightBits) || weightBits < 1)
    throw new Error(`weightBits must be an integer >= 1, got ${weightBits}`);
  return [-(2 ** (weightBits - 1) - 1), 0];
}

/** Clamps |weight| into [2^lo, 2^hi] in place, then rounds it to ±2^k (STE). */
export function qWeight(
  weight: Tensor,
  range: readonly [number, number],
  rounding: ste.Rounding,
  gen: Generator,
): Tensor {
  ste.clampAbs_(weight, 2 ** range[0], 2 ** range[1]);
  return ste.roundPowerOf2(weight, rounding, gen);
}

abstract class ShiftQBase extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly weightBits: number;
  readonly shiftRange: [number, number];
  readonly rounding: ste.Rounding;
  readonly activationIntegerBits?: number;
  readonly activationFractionBits?: number;
  /** Forward through the integer shift kernels, float backward (see `LinearShift.useKernel`). Default false. */
  useKernel = false;
  private readonly generator: Generator;

  constructor(weightShape: number[], outDim: number, bias: boolean, opts: ShiftOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weightBits = opts.weightBits ?? 5;
    this.shiftRange = qShiftRange(this.weightBits);
    this.rounding = opts.rounding ?? 'deterministic';
    this.generator = opts.generator ?? defaultGenerator;
    this.activationIntegerBits = opts.activationIntegerBits;
    this.activationFractionBits = opts.activationFractionBits;
    this.weight = new Parameter(empty(weightShape, dtype));
    this.bias = bias ? new Parameter(empty([outDim], dtype)) : null;
    resetLinearLike(this.weight, this.bias);
  }

  /** The quantised weight ±2^k (clamps `weight` in place first, as forward does). */
  quantizedWeight(): Tensor {
    return qWeight(this.weight, this.shiftRange, this.rounding, this.generator);
  }

  protected fixedPoint(x: Tensor): Tensor {
    return fixedPoint(x, this.activationIntegerBits, this.activationFractionBits);
  }
}

/** DeepShift-Q `LinearShiftQ`: y = x round2(W)ᵀ + b. */
export class LinearShiftQ extends ShiftQBase {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: ShiftOptions & { bias?: boolean } = {},
  ) {
    super([outFeatures, inFeatures], outFeatures, opts.bias ?? true, opts);
  }

  forward(x: Tensor): Tensor {
    const w = this.quantizedWeight();
    if (this.useKernel) {
      const fmt = layerFormat(this.activationIntegerBits, this.activationFractionBits);
      return shiftLinearKernel(this.fixedPoint(x), w, this.bias && this.fixedPoint(this.bias), fmt);
    }
    return F.linear(this.fixedPoint(x), w, this.bias && this.fixedPoint(this.bias));
  }
}

export interface Conv2dShiftQOptions extends ShiftOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

/** DeepShift-Q `Conv2dShiftQ`: F.conv2d with round2(W). */
export class Conv2dShiftQ extends ShiftQBase {
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
    opts: Conv2dShiftQOptions = {},
  ) {
    const g = convGeometry('Conv2dShiftQ', inChannels, outChannels, kernelSize, opts);
    super(
      [outChannels, inChannels / g.groups, ...g.kernelSize],
      outChannels,
      opts.bias ?? true,
      opts,
    );
    Object.assign(this, g);
  }

  forward(x: Tensor): Tensor {
    const w = this.quantizedWeight();
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
