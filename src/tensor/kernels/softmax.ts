// log_softmax along the last axis and the negative log-likelihood loss.
//
// x, y, gx, gy: [rows, cols] row-major (log_softmax over each row, i.e. dim=1 for [N, C]).
// target:       [rows] class indices in [0, cols).

import type { FloatArray } from './types.ts';

/** Reduction of F.nll_loss. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * y[r, :] = x[r, :] - max - log(sum(exp(x[r, :] - max))), the max-subtracted form that stays finite
 * for huge logits. A NaN in a row makes the whole row NaN (as in PyTorch). y may alias x.
 */
export function logSoftmaxForward(y: FloatArray, x: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > max) max = x[o + j];
    // a row of all -inf, or with +inf, gives NaN (inf - inf), as in PyTorch
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < cols; j++) y[o + j] = x[o + j] - max - logSum;
  }
}

/** gx[r, :] = gy[r, :] - exp(y[r, :]) * sum(gy[r, :]), with y the forward output. gx may alias gy. */
export function logSoftmaxBackward(
  gx: FloatArray,
  gy: FloatArray,
  y: FloatArray,
  rows: number,
  cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += gy[o + j];
    for (let j = 0; j < cols; j++) gx[o + j] = gy[o + j] - Math.exp(y[o + j]) * sum;
  }
}

function checkTargets(target: Int32Array, rows: number, cols: number): void {
  if (target.length < rows) {
    throw new Error(`nllLoss: expected ${rows} targets, got ${target.length}`);
  }
  for (let r = 0; r < rows; r++) {
    const t = target[r];
    if (t < 0 || t >= cols) {
      throw new Error(
        `nllLoss: target ${t} at index ${r} is out of bounds for ${cols} classes (expected 0 <= target < ${cols})`,
      );
    }
  }
}

/**
 * F.nll_loss(x, target, reduction) on log-probabilities x: [rows, cols].
 * out: [rows] for 'none' (out[r] = -x[r, target[r]]), else [1] holding the sum or the mean over rows
 * (mean of zero rows is NaN, like PyTorch). Returns out[0].
 * Throws an Error naming `nllLoss` when a target is outside [0, cols).
 */
export function nllLossForward(
  out: FloatArray,
  x: FloatArray,
  target: Int32Array,
  rows: number,
  cols: number,
  reduction: Reduction,
): number {
  checkTargets(target, rows, cols);
  if (reduction === 'none') {
    for (let r = 0; r < rows; r++) out[r] = -x[r * cols + target[r]];
    return out[0];
  }
  let sum = 0;
  for (let r = 0; r < rows; r++) sum -= x[r * cols + target[r]];
  out[0] = reduction === 'mean' ? sum / rows : sum;
  return out[0];
}

/**
 * Gradient of nllLossForward wrt x: gx is zeroed, then gx[r, target[r]] = -gout[r] ('none') or
 * -gout[0] ('sum') or -gout[0] / rows ('mean'). gx: [rows, cols]; gout: [rows] or [1].
 */
export function nllLossBackward(
  gx: FloatArray,
  gout: FloatArray,
  target: Int32Array,
  rows: number,
  cols: number,
  reduction: Reduction,
): void {
  checkTargets(target, rows, cols);
  gx.fill(0, 0, rows * cols);
  if (reduction === 'none') {
    for (let r = 0; r < rows; r++) gx[r * cols + target[r]] = -gout[r];
    return;
  }
  const g = reduction === 'mean' ? -gout[0] / rows : -gout[0];
  for (let r = 0; r < rows; r++) gx[r * cols + target[r]] = g;
}
