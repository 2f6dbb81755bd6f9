import { Tensor } from '../tensor/tensor.ts';
import { allocate, type DType } from '../tensor/dtype.ts';

/** An uninitialised (zero-filled) tensor for parameters that are initialised right after. */
export function empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return Tensor.fromData(
    allocate(
      dtype,
      shape.reduce((p, s) => p * s, 1),
    ),
    shape,
  );
}
