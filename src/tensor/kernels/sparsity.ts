// Checks shared by the sparse-input kernels (gemm.ts, conv2d-sparse.ts).

import type { FloatArray } from './types.ts';

/**
 * Fraction of non-zeros in a[0 … n), estimated from an evenly strided sample of about 16K
 * elements (an odd stride, so the rows of a matrix are not sampled in phase). 1 when n = 0.
 */
export function densityEstimate(a: FloatArray, n: number): number {
  const step = Math.max(1, Math.floor(n / 16384)) | 1;
  let nz = 0;
  let count = 0;
  for (let i = 0; i < n; i += step, count++) if (a[i] !== 0) nz++;
  return count === 0 ? 1 : nz / count;
}

/** Every element of a[0 … n) is finite (Inf·0 and NaN·0 are NaN; two sums keep adds independent). */
export function allFinite(a: FloatArray, n: number): boolean {
  let z0 = 0;
  let z1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    z0 += a[i]! * 0;
    z1 += a[i + 1]! * 0;
  }
  if (i < n) z0 += a[i]! * 0;
  return z0 + z1 === 0;
}
