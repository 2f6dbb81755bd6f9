/**
 * Element types. `float32` (default) and `float64` are the differentiable types; `int32` holds
 * labels and indices (PyTorch uses int64 there; JavaScript typed arrays make int32 the natural
 * choice and every index here fits), `bool` holds comparison results.
 */
import { arenaBuffer } from './arena.ts';

export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export type ArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/** A zero-filled array of n elements (from the running BufferArena, if any). */
export function allocate(dtype: DType, n: number): TypedArray {
  return fromBuffer(dtype, n, arenaBuffer(n * BYTES[dtype], true));
}

/**
 * An array of n elements whose contents are unspecified (PyTorch's `torch.empty`), for a kernel
 * that writes every element: from the running BufferArena it skips the zero fill (the previous
 * run's values are still there); otherwise it is a fresh, zero-filled array.
 */
export function allocateUninitialized(dtype: DType, n: number): TypedArray {
  return fromBuffer(dtype, n, arenaBuffer(n * BYTES[dtype], false));
}

export function fromBuffer(dtype: DType, n: number, shared: SharedArrayBuffer | null): TypedArray {
  if (shared !== null) {
    switch (dtype) {
      case 'float32':
        return new Float32Array(shared, 0, n);
      case 'float64':
        return new Float64Array(shared, 0, n);
      case 'int32':
        return new Int32Array(shared, 0, n);
      case 'bool':
        return new Uint8Array(shared, 0, n);
    }
  }
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

export function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function assertDType(op: string, dtype: unknown): DType {
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new Error(`${op}: unknown dtype ${String(dtype)} (expected one of ${DTYPES.join(', ')})`);
  }
  return dtype as DType;
}

/**
 * Result dtype of a binary arithmetic op. Mixing float32 and float64 is an error rather than a
 * silent promotion: a float64 gradcheck that quietly ran in float32 would prove nothing.
 */
export function promote(op: string, a: DType, b: DType): DType {
  if (a === b) return a === 'bool' ? 'int32' : a;
  const fa = isFloating(a);
  const fb = isFloating(b);
  if (fa && fb) {
    throw new Error(
      `${op}: dtype mismatch, ${a} and ${b} (convert one with .to('${a}') or .to('${b}'))`,
    );
  }
  if (fa) return a;
  if (fb) return b;
  return 'int32';
}
