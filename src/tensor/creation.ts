/** Tensor creation: from data, constant fills, ranges and seeded random draws. */
import { Tensor } from './tensor.ts';
import {
  allocate,
  assertDType,
  dtypeOf,
  isFloating,
  type DType,
  type TypedArray,
} from './dtype.ts';
import { checkShape, numel, shapeStr } from './shape.ts';
import { defaultGenerator, randpermArray, type Generator } from './random.ts';

export type NestedArray = number | boolean | readonly NestedArray[];

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferNested(
  data: NestedArray,
  op: string,
): { shape: number[]; flat: number[]; bool: boolean } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedArray[])[0] as NestedArray;
    if (probe === undefined) break;
  }
  const flat: number[] = [];
  let bool = shape.length === 0 ? typeof data === 'boolean' : true;
  const walk = (x: NestedArray, d: number, path: string): void => {
    if (d === shape.length) {
      if (typeof x === 'boolean') flat.push(x ? 1 : 0);
      else if (typeof x === 'number') {
        bool = false;
        flat.push(x);
      } else
        throw new Error(
          `${op}: expected a number at ${path}, got ${Array.isArray(x) ? 'an array' : typeof x}`,
        );
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      throw new Error(
        `${op}: ragged nested array: expected length ${shape[d]} at ${path}, got ${Array.isArray(x) ? x.length : typeof x}`,
      );
    }
    (x as readonly NestedArray[]).forEach((v, i) => walk(v, d + 1, `${path}[${i}]`));
  };
  walk(data, 0, 'data');
  if (flat.length === 0) bool = false;
  return { shape, flat, bool };
}

/**
 * A tensor from nested arrays or a typed array. Nested JS numbers default to float32 (JavaScript
 * has no separate integer literals, so PyTorch's int64 inference cannot apply); booleans give
 * `bool`; a typed array keeps its type unless `dtype` says otherwise (Uint8Array → float32).
 */
export function tensor(
  data: NestedArray | TypedArray | ArrayLike<number>,
  opts: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  let values: ArrayLike<number>;
  let shape: number[];
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    values = data as TypedArray;
    shape = [values.length];
    const own = dtypeOf(data as TypedArray);
    dtype = opts.dtype ?? (data instanceof Uint8Array ? 'float32' : own);
  } else {
    const inf = inferNested(data as NestedArray, 'tensor');
    values = inf.flat;
    shape = inf.shape;
    dtype = opts.dtype ?? (inf.bool ? 'bool' : 'float32');
  }
  assertDType('tensor', dtype);
  if (opts.shape) {
    const s = checkShape('tensor', opts.shape);
    if (numel(s) !== values.length)
      throw new Error(`tensor: ${values.length} values cannot fill shape ${shapeStr(s)}`);
    shape = [...s];
  }
  const out = allocate(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (dtype === 'int32' && !Number.isInteger(v))
      throw new Error(`tensor: value ${v} at index ${i} is not an integer (dtype int32)`);
    out[i] = v;
  }
  return finish(Tensor.fromData(out, shape), opts);
}

export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const dtype = assertDType('full', opts.dtype ?? 'float32');
  const data = allocate(dtype, numel(checkShape('full', shape)));
  if (value !== 0) data.fill(value);
  return finish(Tensor.fromData(data, shape), opts);
}

export const zeros = (shape: readonly number[], opts: TensorOptions = {}): Tensor =>
  full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: TensorOptions = {}): Tensor =>
  full(shape, 1, opts);
export const zerosLike = (t: Tensor, opts: TensorOptions = {}): Tensor =>
  full(t.shape, 0, { dtype: t.dtype, ...opts });
export const onesLike = (t: Tensor, opts: TensorOptions = {}): Tensor =>
  full(t.shape, 1, { dtype: t.dtype, ...opts });
export const fullLike = (t: Tensor, value: number, opts: TensorOptions = {}): Tensor =>
  full(t.shape, value, { dtype: t.dtype, ...opts });

/** `arange(end)`, `arange(start, end, step?)`: values start, start+step, … below end. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step))
    throw new Error(`arange: step must be finite and non-zero, got ${step}`);
  if ((end - start) / step < 0)
    throw new Error(
      `arange: upper bound ${end} and step ${step} are inconsistent with start ${start}`,
    );
  const n = Math.ceil((end - start) / step);
  const allInt = [start, end, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (allInt ? 'int32' : 'float32');
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(Tensor.fromData(data, [n]), opts);
}

function floatDType(op: string, opts: TensorOptions): DType {
  const dtype = assertDType(op, opts.dtype ?? 'float32');
  if (!isFloating(dtype)) throw new Error(`${op}: dtype must be float32 or float64, got ${dtype}`);
  return dtype;
}

/** U[0, 1), drawn as PyTorch draws it (same numbers as `torch.rand` for the same seed). */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const t = full(shape, 0, { dtype: floatDType('rand', opts) });
  t.uniform_(0, 1, opts.generator ?? defaultGenerator);
  return finish(t, opts);
}

/** Standard normal draws. */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const t = full(shape, 0, { dtype: floatDType('randn', opts) });
  t.normal_(0, 1, opts.generator ?? defaultGenerator);
  return finish(t, opts);
}

/** Integers in [low, high) (int32 unless dtype says otherwise). */
export function randint(
  low: number,
  high: number,
  shape: readonly number[],
  opts: RandomOptions = {},
): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || low >= high) {
    throw new Error(`randint: need integers low < high, got low ${low}, high ${high}`);
  }
  const gen = opts.generator ?? defaultGenerator;
  const data = allocate(opts.dtype ?? 'int32', numel(checkShape('randint', shape)));
  for (let i = 0; i < data.length; i++) data[i] = gen.int(low, high);
  return finish(Tensor.fromData(data, shape), opts);
}

/** A random permutation of 0..n-1 (int32), as PyTorch's CPU `randperm`. */
export function randperm(n: number, opts: { generator?: Generator } = {}): Tensor {
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`randperm: n must be a non-negative integer, got ${n}`);
  return Tensor.fromData(randpermArray(n, opts.generator ?? defaultGenerator), [n]);
}
