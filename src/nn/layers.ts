/** The layers of the notebook's networks, with PyTorch's constructor arguments and init. */
import { Tensor } from '../tensor/tensor.ts';
import { empty } from './empty.ts';
import { Module, Parameter } from './module.ts';
import * as F from './functional.ts';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.ts';
import type { PaddingMode } from '../tensor/kernels/conv2d.ts';
import type { DType } from '../tensor/dtype.ts';

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** PyTorch's default init of a conv/linear layer: kaiming-uniform (a = √5) weight, U(±1/√fan_in) bias. */
export function resetLinearLike(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

/** Stride/padding/dilation/groups/paddingMode of a 2-D convolution layer, parsed and checked once. */
export interface ConvGeometry {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  paddingMode: PaddingMode;
}

/** F.conv2d's options for a layer with this geometry. */
export function convOptions(g: ConvGeometry): F.Conv2dOptions {
  const { stride, padding, dilation, groups, paddingMode } = g;
  return { stride, padding, dilation, groups, paddingMode };
}

export function convGeometry(
  layer: string,
  inChannels: number,
  outChannels: number,
  kernelSize: Pair,
  opts: {
    stride?: Pair;
    padding?: Pair;
    dilation?: Pair;
    groups?: number;
    paddingMode?: PaddingMode;
  },
): ConvGeometry {
  const groups = opts.groups ?? 1;
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new Error(
      `${layer}: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by groups ${groups}`,
    );
  }
  return {
    kernelSize: pair(kernelSize),
    stride: pair(opts.stride ?? 1),
    padding: pair(opts.padding ?? 0),
    dilation: pair(opts.dilation ?? 1),
    groups,
    paddingMode: opts.paddingMode ?? 'zeros',
  };
}

export interface Conv2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
  dtype?: DType;
}

export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
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
    opts: Conv2dLayerOptions = {},
  ) {
    super();
    const g = convGeometry('Conv2d', inChannels, outChannels, kernelSize, opts);
    Object.assign(this, g);
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(
      empty([outChannels, inChannels / this.groups, ...this.kernelSize], dtype),
    );
    this.bias = opts.bias === false ? null : new Parameter(empty([outChannels], dtype));
    resetLinearLike(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, convOptions(this));
  }
}

export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean; dtype?: DType } = {},
  ) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weight = new Parameter(empty([outFeatures, inFeatures], dtype));
    this.bias = opts.bias === false ? null : new Parameter(empty([outFeatures], dtype));
    resetLinearLike(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: F.MaxPool2dOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1))
      throw new Error(`Dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/** Channel dropout for NCHW / CHW input; element-wise on 2-D input (see `F.dropout2d`). */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1))
      throw new Error(`Dropout2d: probability has to be between 0 and 1, but got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout2d(x, this.p, this.training);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim, this.endDim);
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }
}

/** Modules applied in order; registered as '0', '1', … like PyTorch. */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => ((this as unknown as Record<string, Module>)[String(i)] = m));
  }
  forward(x: Tensor): Tensor {
    for (const m of this.children()) x = m.forward(x);
    return x;
  }
}
