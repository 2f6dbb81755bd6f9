/**
 * `nn.init`: in-place initialisers with PyTorch's formulas. Draws use the seeded generator in
 * PyTorch's order, so `manualSeed(s)` then building a layer gives PyTorch's initial weights.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import { defaultGenerator, type Generator } from '../tensor/random.ts';
import { shapeStr } from '../tensor/shape.ts';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';
export type FanMode = 'fan_in' | 'fan_out';

/** (fan_in, fan_out) of a weight [out, in, ...receptive field]. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new Error(
      `calculateFanInAndFanOut: fan in and fan out can not be computed for a tensor with fewer than 2 dims (shape ${shapeStr(t.shape)})`,
    );
  }
  const receptive = t.shape.slice(2).reduce((p, s) => p * s, 1);
  return [t.size(1) * receptive, t.size(0) * receptive];
}

/** `calculate_gain`: the recommended gain for a nonlinearity. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    default:
      throw new Error(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/** Fill with U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1, generator: Generator = defaultGenerator): Tensor {
  return noGrad(() => t.uniform_(a, b, generator));
}

/** Fill with N(mean, std²). */
export function normal_(
  t: Tensor,
  mean = 0,
  std = 1,
  generator: Generator = defaultGenerator,
): Tensor {
  return noGrad(() => t.normal_(mean, std, generator));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

export interface KaimingOptions {
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

function kaimingStd(
  t: Tensor,
  { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' }: KaimingOptions,
): number {
  if (mode !== 'fan_in' && mode !== 'fan_out')
    throw new Error(`kaiming: mode '${String(mode)}' not supported, use 'fan_in' or 'fan_out'`);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/** He uniform: U(±gain·√(3/fan)). PyTorch's Conv2d/Linear weights use a = √5. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform_(t, -bound, bound, opts.generator);
}

/** He normal: N(0, gain²/fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts), opts.generator);
}

/** Glorot uniform: U(±gain·√(6/(fan_in+fan_out))). */
export function xavierUniform_(
  t: Tensor,
  gain = 1,
  generator: Generator = defaultGenerator,
): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}
