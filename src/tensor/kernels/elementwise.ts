// ReLU and dropout on flat arrays of `len` elements (any shape, contiguous). Outputs may alias inputs.

import type { FloatArray } from './types.ts';
import { parallelFor, registerTask, threadedOnShared } from './parallel.ts';

// ReLU's `x <= 0` is a coin flip on real activations, and a mispredicted branch per element made
// the plain loops ~6× slower than memory speed (17 ms vs 2.7 ms on conv2's 2.4 M outputs). For
// float32 the kernels work on the IEEE bits instead, without a data-dependent branch: the sign
// bit decides. The only branch left is a NaN check that real data never takes, so it predicts
// perfectly; float64 (tests, gradcheck) keeps the plain loops.

const ABS_MASK = 0x7fffffff;
const EXP_INF = 0x7f800000; // |bits| above this: NaN

/** Elements per chunk of the threaded ReLU (fixed: any thread count does the same work). */
const RELU_CHUNK = 1 << 16;

/** y = max(x, 0); NaN stays NaN (as torch.relu), −0 gives +0. */
export function reluForward(y: FloatArray, x: FloatArray, len: number): void {
  const chunks = Math.ceil(len / RELU_CHUNK);
  // threaded only on arrays already in shared memory (a BufferArena's: evaluation, and training
  // steps in trainer.ts's trainStep): a copy to shared memory costs more than the second thread
  // saves on a memory-bound loop
  if (threadedOnShared(chunks, x, y)) {
    parallelFor('relu.forward', [y, x, len], chunks);
    return;
  }
  reluRange(y, x, 0, len);
}

registerTask('relu.forward', (a, c) => {
  const i0 = c * RELU_CHUNK;
  reluRange(a[0], a[1], i0, Math.min(i0 + RELU_CHUNK, a[2] as number));
});

/** y[i] = max(x[i], 0) for i in [i0, i1) on the calling thread (reluForward's arithmetic). */
export function reluRange(y: FloatArray, x: FloatArray, i0: number, i1: number): void {
  if (x instanceof Float32Array && y instanceof Float32Array) {
    const n = i1 - i0;
    reluForwardBits(bitsOf(y.subarray(i0), n), bitsOf(x.subarray(i0), n), n);
    return;
  }
  for (let i = i0; i < i1; i++) {
    const v = x[i]!;
    y[i] = v <= 0 ? 0 : v;
  }
}

function reluForwardBits(y: Int32Array, x: Int32Array, len: number): void {
  for (let i = 0; i < len; i++) {
    const b = x[i]!;
    // sign set (negative, −0): 0; else b
    y[i] = b & ~(b >> 31);
    if ((b & ABS_MASK) > EXP_INF) y[i] = b; // a NaN with the sign bit set stays NaN
  }
}

/**
 * gx = gy where x > 0, else 0 (PyTorch's threshold_backward: zero where x <= 0, so a NaN input
 * passes its gradient). Passing the forward output y instead of x gives the same result.
 */
export function reluBackward(gx: FloatArray, gy: FloatArray, x: FloatArray, len: number): void {
  const chunks = Math.ceil(len / RELU_CHUNK);
  if (threadedOnShared(chunks, gx, gy, x)) {
    parallelFor('relu.backward', [gx, gy, x, len], chunks);
    return;
  }
  reluBackwardRange(gx, gy, x, 0, len);
}

registerTask('relu.backward', (a, c) => {
  const i0 = c * RELU_CHUNK;
  reluBackwardRange(a[0], a[1], a[2], i0, Math.min(i0 + RELU_CHUNK, a[3] as number));
});

function reluBackwardRange(gx: FloatArray, gy: FloatArray, x: FloatArray, i0: number, i1: number) {
  if (x instanceof Float32Array && gy instanceof Float32Array && gx instanceof Float32Array) {
    const n = i1 - i0;
    reluBackwardBits(
      bitsOf(gx.subarray(i0), n),
      bitsOf(gy.subarray(i0), n),
      bitsOf(x.subarray(i0), n),
      n,
    );
    return;
  }
  for (let i = i0; i < i1; i++) gx[i] = x[i]! <= 0 ? 0 : gy[i]!;
}

function reluBackwardBits(gx: Int32Array, gy: Int32Array, x: Int32Array, len: number): void {
  for (let i = 0; i < len; i++) {
    const b = x[i]!;
    // all ones iff the bits are > 0 as an int (x > 0 or a positive NaN): neither b nor b − 1 has
    // the sign bit (b = 0 gives b − 1 = −1; b = −0 = INT_MIN has it itself)
    const keep = ~(((b - 1) | b) >> 31);
    gx[i] = gy[i]! & keep;
    if ((b & ABS_MASK) > EXP_INF) gx[i] = gy[i]!; // x NaN (either sign): gradient passes
  }
}

/** The same float32 elements seen as their bits. */
function bitsOf(a: Float32Array, len: number): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, len);
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
  const per = Math.max(1, Math.ceil(RELU_CHUNK / planeSize)); // planes per chunk
  const chunks = Math.ceil(planes / per);
  if (threadedOnShared(chunks, y, x)) {
    parallelFor('dropout2d', [y, x, mask, scale, planes, planeSize, per], chunks);
    return;
  }
  dropout2dPlanes(y, x, mask, scale, planeSize, 0, planes);
}

registerTask('dropout2d', (a, c) => {
  const [y, x, mask, scale, planes, planeSize, per] = a as [
    FloatArray,
    FloatArray,
    Uint8Array,
    number,
    number,
    number,
    number,
  ];
  dropout2dPlanes(y, x, mask, scale, planeSize, c * per, Math.min((c + 1) * per, planes));
});

function dropout2dPlanes(
  y: FloatArray,
  x: FloatArray,
  mask: Uint8Array,
  scale: number,
  planeSize: number,
  p0: number,
  p1: number,
): void {
  for (let p = p0; p < p1; p++) {
    const s = mask[p] !== 0 ? scale : 0;
    const end = (p + 1) * planeSize;
    for (let i = p * planeSize; i < end; i++) y[i] = x[i]! * s;
  }
}

/**
 * y[i] = x[i] with |x[i]| clamped into [min, max], sign kept, zeros (and NaN) unchanged, for
 * i < n (DeepShift's clampabs). y may be x.
 */
export function clampAbsRange(
  y: FloatArray,
  x: FloatArray,
  n: number,
  min: number,
  max: number,
): void {
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    y[i] = v > max ? max : v < -max ? -max : v > 0 && v < min ? min : v < 0 && v > -min ? -min : v;
  }
}
