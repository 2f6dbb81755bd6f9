// ReLU and dropout on flat arrays of `len` elements (any shape, contiguous). Outputs may alias inputs.

import type { FloatArray } from './types.ts';

/** y = max(x, 0); NaN stays NaN (as torch.relu). */
export function reluForward(y: FloatArray, x: FloatArray, len: number): void {
  for (let i = 0; i < len; i++) {
    const v = x[i];
    y[i] = v <= 0 ? 0 : v;
  }
}

/**
 * gx = gy where x > 0, else 0 (PyTorch's threshold_backward: zero where x <= 0, so a NaN input
 * passes its gradient). Passing the forward output y instead of x gives the same result.
 */
export function reluBackward(gx: FloatArray, gy: FloatArray, x: FloatArray, len: number): void {
  for (let i = 0; i < len; i++) gx[i] = x[i] <= 0 ? 0 : gy[i];
}

/**
 * y = x * mask * scale, mask a 0/1 keep mask of `len` entries and scale = 1 / (1 - p).
 * Dropped entries are x * 0 (so inf/NaN inputs give NaN, like PyTorch's `input * noise`).
 * The backward is the same call on gradients: dropoutApply(gx, gy, mask, scale, len).
 */
export function dropoutApply(
  y: FloatArray,
  x: FloatArray,
  mask: Uint8Array,
  scale: number,
  len: number,
): void {
  for (let i = 0; i < len; i++) y[i] = x[i] * (mask[i] !== 0 ? scale : 0);
}

/**
 * Channel dropout (F.dropout2d): x and y are [planes, planeSize] (planes = N*C, planeSize = H*W);
 * mask has one 0/1 entry per plane. y[p, :] = x[p, :] * mask[p] * scale. Backward: same call on
 * gradients.
 */
export function dropout2dApply(
  y: FloatArray,
  x: FloatArray,
  mask: Uint8Array,
  scale: number,
  planes: number,
  planeSize: number,
): void {
  for (let p = 0; p < planes; p++) {
    const s = mask[p] !== 0 ? scale : 0;
    const end = (p + 1) * planeSize;
    for (let i = p * planeSize; i < end; i++) y[i] = x[i] * s;
  }
}
