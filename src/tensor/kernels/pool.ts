// 2-D max pooling over NCHW, with PyTorch's output-size rule, index layout, tie and NaN rules.
//
// x:      [N, C, H, W]    row-major
// y:      [N, C, OH, OW]  row-major
// argmax: [N, C, OH, OW]  flat offset ih*W + iw of the chosen input inside its (n, c) plane,
//                         exactly like the `indices` returned by F.max_pool2d(return_indices=True)
//
// Window (oh, ow) reads rows oh*sH - padH + i*dH (i < kH) and columns ow*sW - padW + j*dW (j < kW).
// Padded positions count as -inf and are never chosen. Scan order is row-major inside the window;
// an element replaces the running max if `v > max || isNaN(v)` (PyTorch's CPU kernel), so ties keep
// the FIRST maximum and a NaN always wins (the last NaN in scan order gives the index).
// A window holding no input position at all (possible only with dilation, e.g. W=1, kW=2, padW=1,
// dW=2) gives -inf and index -1, which the backward skips; PyTorch leaves an unspecified index there.

import type { FloatArray } from './types.ts';
import { parallelFor, registerTask, threadedOnShared } from './parallel.ts';

type Pair = number | readonly [number, number];

/** Sizes of one max-pool call; every field is a non-negative integer. */
export interface MaxPool2dParams {
  /** batch (1 for a 3-D [C, H, W] input) */
  n: number;
  c: number;
  h: number;
  w: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  padH: number;
  padW: number;
  dH: number;
  dW: number;
  ceilMode: boolean;
  outH: number;
  outW: number;
}

function pair(name: string, v: Pair): [number, number] {
  const out: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (typeof v !== 'number' && v.length !== 2) {
    throw new Error(`maxPool2d: ${name} must be an int or a pair of ints, got [${v.join(', ')}]`);
  }
  if (!Number.isInteger(out[0]) || !Number.isInteger(out[1])) {
    throw new Error(`maxPool2d: ${name} must be integers, got ${out[0]}, ${out[1]}`);
  }
  return out;
}

/** PyTorch's pooling_output_shape: floor or ceil division, and with ceilMode the last window
 * must start inside the input or the left padding. */
function outputSize(
  size: number,
  k: number,
  s: number,
  pad: number,
  dil: number,
  ceilMode: boolean,
): number {
  const num = size + 2 * pad - dil * (k - 1) - 1 + (ceilMode ? s - 1 : 0);
  let out = Math.floor(num / s) + 1;
  if (ceilMode && (out - 1) * s >= size + pad) out--;
  return out;
}

/**
 * Checks the arguments of F.max_pool2d and computes the output size.
 * Mirrors `F.max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`;
 * `stride` undefined/null means stride = kernel size. Throws an Error naming `maxPool2d` and the
 * offending values.
 * @param inputShape [N, C, H, W] or [C, H, W]
 */
export function maxPool2dParams(
  inputShape: readonly number[],
  kernelSize: Pair,
  stride?: Pair | null,
  padding: Pair = 0,
  dilation: Pair = 1,
  ceilMode = false,
): MaxPool2dParams {
  if (inputShape.length !== 3 && inputShape.length !== 4) {
    throw new Error(
      `maxPool2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape [${inputShape.join(', ')}]`,
    );
  }
  const [n, c, h, w] =
    inputShape.length === 4
      ? (inputShape as [number, number, number, number])
      : [1, inputShape[0], inputShape[1], inputShape[2]];
  if (![n, c, h, w].every((d) => Number.isInteger(d) && d >= 0) || c === 0 || h === 0 || w === 0) {
    throw new Error(
      `maxPool2d: input must have non-negative integer sizes and non-zero C, H, W, got shape [${inputShape.join(', ')}]`,
    );
  }
  const [kH, kW] = pair('kernelSize', kernelSize);
  const [sH, sW] = stride === undefined || stride === null ? [kH, kW] : pair('stride', stride);
  const [padH, padW] = pair('padding', padding);
  const [dH, dW] = pair('dilation', dilation);
  if (kH <= 0 || kW <= 0) {
    throw new Error(`maxPool2d: kernel size should be greater than zero, got kH=${kH}, kW=${kW}`);
  }
  if (sH <= 0 || sW <= 0) {
    throw new Error(`maxPool2d: stride should be greater than zero, got sH=${sH}, sW=${sW}`);
  }
  if (dH <= 0 || dW <= 0) {
    throw new Error(`maxPool2d: dilation should be greater than zero, got dH=${dH}, dW=${dW}`);
  }
  if (padH < 0 || padW < 0) {
    throw new Error(`maxPool2d: padding should be non-negative, got padH=${padH}, padW=${padW}`);
  }
  if (2 * padH > kH || 2 * padW > kW) {
    throw new Error(
      `maxPool2d: padding should be at most half of kernel size, got padH=${padH}, padW=${padW}, kH=${kH}, kW=${kW}`,
    );
  }
  const outH = outputSize(h, kH, sH, padH, dH, ceilMode);
  const outW = outputSize(w, kW, sW, padW, dW, ceilMode);
  if (outH < 1 || outW < 1) {
    throw new Error(
      `maxPool2d: given input size (${c}x${h}x${w}), calculated output size (${c}x${outH}x${outW}) is too small ` +
        `(kernel ${kH}x${kW}, stride ${sH}x${sW}, padding ${padH}x${padW}, dilation ${dH}x${dW}, ceilMode ${ceilMode})`,
    );
  }
  return { n, c, h, w, kH, kW, sH, sW, padH, padW, dH, dW, ceilMode, outH, outW };
}

/** Reference: the obvious loop over every window position, skipping padded ones. */
export function maxPool2dForwardNaive(
  y: FloatArray,
  argmax: Int32Array | null,
  x: FloatArray,
  p: MaxPool2dParams,
): void {
  const { h, w, outH, outW } = p;
  const planes = p.n * p.c;
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    const yo = pl * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let max = -Infinity;
        let idx = -1;
        for (let i = 0; i < p.kH; i++) {
          const ih = oh * p.sH - p.padH + i * p.dH;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < p.kW; j++) {
            const iw = ow * p.sW - p.padW + j * p.dW;
            if (iw < 0 || iw >= w) continue;
            const v = x[xo + ih * w + iw];
            if (idx < 0) idx = ih * w + iw;
            if (v > max || v !== v) {
              max = v;
              idx = ih * w + iw;
            }
          }
        }
        y[yo + oh * outW + ow] = max;
        if (argmax !== null) argmax[yo + oh * outW + ow] = idx;
      }
    }
  }
}

// kernel 2, stride 2, no padding, dilation 1, every window complete (the training shape);
// planes [p0, p1); argmax null: maxima only (inference).
function maxPool2dForwardK2S2(
  y: FloatArray,
  argmax: Int32Array | null,
  x: FloatArray,
  p0: number,
  p1: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
): void {
  const hw = h * w;
  const ohw = outH * outW;
  for (let pl = p0; pl < p1; pl++) {
    const xo = pl * hw;
    let o = pl * ohw;
    for (let oh = 0; oh < outH; oh++) {
      const r0 = 2 * oh * w; // plane-relative offset of the window's top row
      for (let ow = 0; ow < outW; ow++, o++) {
        const i0 = r0 + 2 * ow;
        let idx = i0;
        let m = x[xo + i0]!;
        const b = x[xo + i0 + 1]!;
        if (b > m || b !== b) {
          m = b;
          idx = i0 + 1;
        }
        const c = x[xo + i0 + w]!;
        if (c > m || c !== c) {
          m = c;
          idx = i0 + w;
        }
        const d = x[xo + i0 + w + 1]!;
        if (d > m || d !== d) {
          m = d;
          idx = i0 + w + 1;
        }
        y[o] = m;
        if (argmax !== null) argmax[o] = idx;
      }
    }
  }
}

// Any parameters: clamp each window to the input once, then scan.
function maxPool2dForwardGeneral(
  y: FloatArray,
  argmax: Int32Array | null,
  x: FloatArray,
  p: MaxPool2dParams,
  p0: number,
  p1: number,
): void {
  const { h, w, kH, kW, sH, sW, padH, padW, dH, dW, outH, outW } = p;
  for (let pl = p0; pl < p1; pl++) {
    const xo = pl * h * w;
    let o = pl * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      let h0 = oh * sH - padH;
      const h1 = Math.min(h0 + (kH - 1) * dH + 1, h);
      while (h0 < 0) h0 += dH;
      for (let ow = 0; ow < outW; ow++, o++) {
        let w0 = ow * sW - padW;
        const w1 = Math.min(w0 + (kW - 1) * dW + 1, w);
        while (w0 < 0) w0 += dW;
        let max = -Infinity;
        let idx = h0 < h1 && w0 < w1 ? h0 * w + w0 : -1;
        for (let ih = h0; ih < h1; ih += dH) {
          const row = ih * w;
          for (let iw = w0; iw < w1; iw += dW) {
            const v = x[xo + row + iw];
            if (v > max || v !== v) {
              max = v;
              idx = row + iw;
            }
          }
        }
        y[o] = max;
        if (argmax !== null) argmax[o] = idx;
      }
    }
  }
}

/** Kernel 2, stride 2, no padding, dilation 1, complete windows only: the fast paths' pools. */
export const isK2S2 = (p: MaxPool2dParams): boolean =>
  p.kH === 2 &&
  p.kW === 2 &&
  p.sH === 2 &&
  p.sW === 2 &&
  p.padH === 0 &&
  p.padW === 0 &&
  p.dH === 1 &&
  p.dW === 1 &&
  2 * p.outH <= p.h &&
  2 * p.outW <= p.w;

// planes [p0, p1) of the forward
function forwardPlanes(
  y: FloatArray,
  argmax: Int32Array | null,
  x: FloatArray,
  p: MaxPool2dParams,
  p0: number,
  p1: number,
): void {
  const { h, w, outH, outW } = p;
  if (isK2S2(p)) maxPool2dForwardK2S2(y, argmax, x, p0, p1, h, w, outH, outW);
  else maxPool2dForwardGeneral(y, argmax, x, p, p0, p1);
}

/** Planes [p0, p1) of the forward without indices, on the calling thread (inference). */
export function maxPool2dForwardPlanes(
  y: FloatArray,
  x: FloatArray,
  p: MaxPool2dParams,
  p0: number,
  p1: number,
): void {
  forwardPlanes(y, null, x, p, p0, p1);
}

/**
 * y = maxPool2d(relu(x)) with kernel 2 / stride 2 (no padding, dilation 1, complete windows) for
 * float32 planes [p0, p1): the values reluForward then maxPool2dForward give, bit for bit. Both
 * give +0 for a window of values ≤ 0 and both pass a NaN on, so ReLU may go first, on the IEEE
 * bits: after it, a non-NaN value's bits are a non-negative int32 that orders like the float, and
 * the window's maximum is integer arithmetic without a data-dependent branch (random signs make
 * the pool's comparisons mispredict). A window holding a NaN goes through the separate ops' code.
 * Returns false, writing nothing, when p is not such a pool.
 */
export function reluMaxPool2dK2S2(
  y: Float32Array,
  x: Float32Array,
  p: MaxPool2dParams,
  p0: number,
  p1: number,
): boolean {
  if (!isK2S2(p)) return false;
  const { h, w, outH, outW } = p;
  const xb = new Int32Array(x.buffer, x.byteOffset, x.length);
  const yb = new Int32Array(y.buffer, y.byteOffset, y.length);
  const hw = h * w;
  const ohw = outH * outW;
  for (let pl = p0; pl < p1; pl++) {
    const xo = pl * hw;
    let o = pl * ohw;
    for (let oh = 0; oh < outH; oh++) {
      const r0 = xo + 2 * oh * w;
      for (let ow = 0; ow < outW; ow++, o++) {
        const i = r0 + 2 * ow;
        yb[o] = reluMaxBits(xb[i]!, xb[i + 1]!, xb[i + w]!, xb[i + w + 1]!);
      }
    }
  }
  return true;
}

/**
 * The bits of max(relu(a), relu(b), relu(c), relu(d)) for the float32 values with bits a … d, as
 * reluForward then the pool's scan give them (NaN included); reluMaxPool2dK2S2's window, shared
 * with the Winograd kernel that pools its output tiles.
 */
export function reluMaxBits(a: number, b: number, c: number, d: number): number {
  // negative iff one of the four is a NaN (magnitude bits above infinity's)
  const nan =
    (EXP_INF - (a & ABS_MASK)) |
    (EXP_INF - (b & ABS_MASK)) |
    (EXP_INF - (c & ABS_MASK)) |
    (EXP_INF - (d & ABS_MASK));
  if (nan < 0) return nanWindow(a, b, c, d);
  // ReLU: a set sign bit (negative, −0) gives +0
  const ra = a & ~(a >> 31);
  const rb = b & ~(b >> 31);
  const rc = c & ~(c >> 31);
  const rd = d & ~(d >> 31);
  // m − (m − v) where m < v: the larger of two non-negative int32
  let t = ra - rb;
  let m = ra - (t & (t >> 31));
  t = m - rc;
  m -= t & (t >> 31);
  t = m - rd;
  m -= t & (t >> 31);
  return m;
}

const ABS_MASK = 0x7fffffff;
const EXP_INF = 0x7f800000;
const windowBits = new Int32Array(4);
const windowVals = new Float32Array(windowBits.buffer);

// A window holding a NaN, as reluForward (on the bits: a NaN keeps its bits) and then the pool's
// scan (`v > max || v !== v`) treat it; returns the bits the pool's store leaves.
function nanWindow(a: number, b: number, c: number, d: number): number {
  const src = [a, b, c, d];
  for (let k = 0; k < 4; k++) {
    const v = src[k]!;
    windowBits[k] = (v & ABS_MASK) > EXP_INF ? v : v & ~(v >> 31);
  }
  let m = windowVals[0]!;
  for (let k = 1; k < 4; k++) {
    const v = windowVals[k]!;
    if (v > m || v !== v) m = v;
  }
  // stored as the pool stores it (a float32 store quiets a signalling NaN)
  windowVals[0] = m;
  return windowBits[0]!;
}

/** Planes per chunk of the threaded forward (fixed, so any thread count does the same work). */
const POOL_CHUNK = 64;

registerTask('pool.forward', (a, c) => {
  const p = a[2] as MaxPool2dParams;
  const p0 = c * POOL_CHUNK;
  forwardPlanes(a[0], a[3] as Int32Array | null, a[1], p, p0, Math.min(p0 + POOL_CHUNK, p.n * p.c));
});

registerTask('pool.backward', (a, c) => {
  const p = a[3] as MaxPool2dParams;
  const p0 = c * POOL_CHUNK;
  backwardPlanes(a[0], a[1], a[2] as Int32Array, p, p0, Math.min(p0 + POOL_CHUNK, p.n * p.c));
});

/**
 * y[n,c,oh,ow] = max over the window; argmax = flat ih*W+iw of the chosen element in its plane,
 * or null when no backward follows (inference). Same result as {@link maxPool2dForwardNaive};
 * kernel 2 / stride 2 / no padding takes a fast path.
 */
export function maxPool2dForward(
  y: FloatArray,
  argmax: Int32Array | null,
  x: FloatArray,
  p: MaxPool2dParams,
): void {
  const planes = p.n * p.c;
  const chunks = Math.ceil(planes / POOL_CHUNK);
  // threaded only on arrays already in shared memory (a BufferArena's: evaluation, and training
  // steps in trainer.ts's trainStep): copying them there would cost what the second thread saves
  if (threadedOnShared(chunks, x, y, argmax)) {
    parallelFor('pool.forward', [y, x, p, argmax], chunks);
    return;
  }
  forwardPlanes(y, argmax, x, p, 0, planes);
}

/**
 * gx[n,c,argmax[n,c,oh,ow]] += gy[n,c,oh,ow]; gx is zeroed first. Overlapping windows that share
 * an argmax accumulate; index -1 (empty window) is skipped.
 * gx: [N, C, H, W], gy and argmax: [N, C, OH, OW].
 */
export function maxPool2dBackward(
  gx: FloatArray,
  gy: FloatArray,
  argmax: Int32Array,
  p: MaxPool2dParams,
): void {
  const planes = p.n * p.c;
  const chunks = Math.ceil(planes / POOL_CHUNK);
  // planes are independent: split across threads, each plane summed in the same order
  if (threadedOnShared(chunks, gx, gy, argmax)) {
    parallelFor('pool.backward', [gx, gy, argmax, p], chunks);
    return;
  }
  backwardPlanes(gx, gy, argmax, p, 0, planes);
}

// maxPool2dBackward for planes [p0, p1): their part of gx zeroed, then the scatter.
function backwardPlanes(
  gx: FloatArray,
  gy: FloatArray,
  argmax: Int32Array,
  p: MaxPool2dParams,
  p0: number,
  p1: number,
): void {
  const hw = p.h * p.w;
  const ohw = p.outH * p.outW;
  gx.fill(0, p0 * hw, p1 * hw);
  for (let pl = p0; pl < p1; pl++) {
    const xo = pl * hw;
    const end = (pl + 1) * ohw;
    for (let o = pl * ohw; o < end; o++) {
      const i = argmax[o]!;
      if (i >= 0) gx[xo + i] += gy[o]!;
    }
  }
}
