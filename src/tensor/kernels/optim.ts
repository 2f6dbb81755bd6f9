// Optimizer updates over flat parameter arrays, split across the thread pool when the arrays live
// in shared memory (parameters of 4,096+ elements and their optimizer state do). Each element's
// update reads and writes that element only, so the split changes no bit.

import {
  parallelFor,
  registerTask,
  sharedInput,
  threadedOnShared,
  type TaskArgs,
} from './parallel.ts';

type Buf = Float32Array | Float64Array;

/** Elements per chunk of a threaded update. */
const CHUNK = 1 << 16;

/** Adadelta's hyperparameters as one update uses them (sgn = −1 when maximizing). */
export interface AdadeltaStep {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
  sgn: number;
}

/**
 * One Adadelta update (PyTorch 1.13 `_single_tensor_adadelta`, per element, in this order) of
 * x[0, n) in place, reading g, updating squareAvg and accDelta:
 *
 *     g = sgn·grad (+ weightDecay·x);  squareAvg = rho·squareAvg + (1 − rho)·g²
 *     delta = sqrt(accDelta + eps) / sqrt(squareAvg + eps) · g
 *     accDelta = rho·accDelta + (1 − rho)·delta²;  x = x − lr·delta
 */
export function adadeltaUpdate(
  x: Buf,
  g: Buf,
  sq: Buf,
  acc: Buf,
  n: number,
  h: AdadeltaStep,
): void {
  const chunks = Math.ceil(n / CHUNK);
  if (threadedOnShared(chunks, x, sq, acc)) {
    const gs = sharedInput('adadelta.g', g, n) as Buf;
    parallelFor('adadelta', [x, gs, sq, acc, n, h], chunks);
    return;
  }
  adadeltaRange(x, g, sq, acc, 0, n, h);
}

registerTask('adadelta', (a: TaskArgs, c: number) => {
  const i0 = c * CHUNK;
  adadeltaRange(a[0], a[1], a[2], a[3], i0, Math.min(i0 + CHUNK, a[4] as number), a[5]);
});

function adadeltaRange(
  x: Buf,
  grad: Buf,
  sq: Buf,
  acc: Buf,
  i0: number,
  i1: number,
  h: AdadeltaStep,
): void {
  const { lr, rho, eps, weightDecay, sgn } = h;
  for (let i = i0; i < i1; i++) {
    let g = sgn * grad[i]!;
    if (weightDecay !== 0) g = g + weightDecay * x[i]!;
    sq[i] = sq[i]! * rho + (1 - rho) * g * g;
    const std = Math.sqrt(sq[i]! + eps);
    const delta = (Math.sqrt(acc[i]! + eps) / std) * g;
    acc[i] = acc[i]! * rho + (1 - rho) * delta * delta;
    x[i] = x[i]! + -lr * delta;
  }
}
