import { Tensor } from '../tensor/tensor.ts';
import { BYTES, fromBuffer, type DType } from '../tensor/dtype.ts';
import { SHARED_MIN } from '../tensor/kernels/parallel.ts';

/**
 * An uninitialised (zero-filled) tensor for parameters that are initialised right after. A large
 * one is allocated in shared memory, where the worker threads read it without a copy: fc1's
 * 4.7 MB weight was copied into shared scratch by every threaded product that read it (twice per
 * training step, once per 64 images of an evaluation). Parameters live as long as their module,
 * so these buffers are not the per-step churn that kept activations out of shared memory.
 */
export function empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const n = shape.reduce((p, s) => p * s, 1);
  const shared = n >= SHARED_MIN ? new SharedArrayBuffer(n * BYTES[dtype]) : null;
  return Tensor.fromData(fromBuffer(dtype, n, shared), shape);
}
