/** Shared setup of the kernel tests that compare tuned kernels with their naive references. */
import { expect } from 'vitest';
import {
  conv2dBackwardInput,
  conv2dBackwardInputNaive,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dForward,
  conv2dForwardNaive,
  conv2dParams,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import { randomArray, rng, type FloatCtor } from './random.ts';

/** Each float dtype with the base relative tolerance of tuned-vs-naive comparisons. */
export const dtypes: [string, FloatCtor, number][] = [
  ['float64', Float64Array, 1e-12],
  ['float32', Float32Array, 2e-5],
];

/**
 * Tolerances for a tuned result against its naive reference. Unlike the matcher's default, any NaN
 * fails (an output the tuned kernel left unwritten stays NaN).
 */
export const vsNaive = (rtol: number, atol: number) => ({ rtol, atol, equalNaN: false });

/** Tolerances for float64 kernels against the PyTorch golden fixtures. */
export const vsGolden = { rtol: 1e-9, atol: 1e-12, equalNaN: false };

export interface ConvShape {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
}

export const convLabel = (s: ConvShape): string =>
  `x${JSON.stringify(s.x)} w${JSON.stringify(s.w)} ${JSON.stringify(s.o)}`;

/** Conv params and seeded inputs (drawn in the order x, w, b, gy) for one shape. */
export function convInputs(C: FloatCtor, s: ConvShape, seed: number) {
  const p = conv2dParams(s.x, s.w, s.o);
  const r = rng(seed);
  const x = randomArray(C, s.x, r);
  const w = randomArray(C, s.w, r);
  const b = randomArray(C, p.cOut, r);
  const ySize = p.n * p.cOut * p.outH * p.outW;
  const gy = randomArray(C, ySize, r);
  return { p, x, w, b, gy, ySize };
}

/**
 * Tuned conv2d against the naive loops: forward with and without bias, then the input and weight
 * gradients. Tuned outputs start as NaN, so an entry left unwritten fails. Each pass allows rtol
 * `rt` and atol `rt·√k`, k the number of terms summed into one of its outputs.
 */
export function expectConvMatchesNaive(
  C: FloatCtor,
  { p, x, w, b, gy, ySize }: ReturnType<typeof convInputs>,
  rt: number,
  terms: { forward: number; input: number; weight: number },
): void {
  for (const bias of [b, null]) {
    const y1 = new C(ySize).fill(NaN);
    const y2 = new C(ySize);
    conv2dForward(y1, x, w, bias, p);
    conv2dForwardNaive(y2, x, w, bias, p);
    expect(y1).toBeAllClose(y2, vsNaive(rt, rt * Math.sqrt(terms.forward)));
  }
  const gx1 = new C(x.length).fill(NaN);
  const gx2 = new C(x.length);
  conv2dBackwardInput(gx1, gy, w, p);
  conv2dBackwardInputNaive(gx2, gy, w, p);
  expect(gx1).toBeAllClose(gx2, vsNaive(rt, rt * Math.sqrt(terms.input)));
  const gw1 = new C(w.length).fill(NaN);
  const gw2 = new C(w.length);
  conv2dBackwardWeight(gw1, gy, x, p);
  conv2dBackwardWeightNaive(gw2, gy, x, p);
  expect(gw1).toBeAllClose(gw2, vsNaive(rt, rt * Math.sqrt(terms.weight)));
}
