/**
 * Known test values: the PyTorch golden fixtures in test/fixtures (format in
 * /work/shared/golden/README.md) decoded to arrays and tensors, and float64 tensors from literals.
 */
import { readFileSync } from 'node:fs';
import { Tensor, tensor } from '../../src/index.ts';

/**
 * A fixture tensor: flat row-major data, non-finite values as the strings "NaN", "Infinity" and
 * "-Infinity" (strict JSON).
 */
export interface Json {
  shape: number[];
  data: (number | string)[];
  dtype?: string;
}

type Pair = number | [number, number];

export interface ConvCase {
  name: string;
  params: {
    stride: Pair;
    padding: Pair;
    dilation: Pair;
    groups: number;
    kernel_size: number[];
    bias: boolean;
  };
  inputs: { input: Json; weight: Json; bias?: Json; grad_output: Json };
  expected: { output: Json; grad_input: Json; grad_weight: Json; grad_bias?: Json };
}

export interface LinearCase {
  name: string;
  inputs: { input: Json; weight: Json; bias?: Json; grad_output: Json };
  expected: { output: Json; grad_input: Json; grad_weight: Json; grad_bias?: Json };
}

export interface PoolCase {
  name: string;
  params: { kernel_size: Pair; stride: Pair; padding: Pair; dilation: Pair; ceil_mode: boolean };
  inputs: { input: Json; grad_output: Json };
  expected: { output: Json; indices: Json; grad_input: Json };
}

export interface NllCase {
  name: string;
  inputs: { logits: Json; target: Json };
  expected: {
    loss_mean: number;
    loss_sum: number;
    grad_logits_mean: Json;
    grad_logits_sum: Json;
    log_softmax: Json;
    log_softmax_vjp: { grad_output: Json; grad_input: Json };
  };
}

/** The golden fixtures shared by the kernel and nn tests, by file name. */
interface GoldenCases {
  conv2d: ConvCase;
  linear: LinearCase;
  max_pool2d: PoolCase;
  log_softmax_nll: NllCase;
}

/** The parsed contents of test/fixtures/<name>.json. */
export function readFixture<T>(name: string): T {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'),
  ) as T;
}

/** The cases of one of the shared golden fixtures, typed. */
export function goldenCases<K extends keyof GoldenCases>(name: K): GoldenCases[K][] {
  return readFixture<{ cases: GoldenCases[K][] }>(name).cases;
}

function decode(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new Error(`fixture value ${JSON.stringify(v)} is not a number, "NaN" or "±Infinity"`);
}

/** A fixture tensor's values as numbers. */
export function nums(t: Json): number[] {
  return t.data.map(decode);
}

/** A fixture tensor's values as a Float64Array. */
export function floats(t: Json): Float64Array {
  return Float64Array.from(nums(t));
}

/** A fixture tensor: float64 (optionally requiring grad), or int32 for int64 class indices. */
export function fromJson(t: Json, requiresGrad = false): Tensor {
  const values = nums(t);
  if (t.dtype === 'int64') return tensor(values, { dtype: 'int32', shape: t.shape });
  return tensor(values, { dtype: 'float64', shape: t.shape, requiresGrad });
}

/** A float64 tensor from literal values. */
export function f64(data: Parameters<typeof tensor>[0], requiresGrad = false): Tensor {
  return tensor(data, { dtype: 'float64', requiresGrad });
}
