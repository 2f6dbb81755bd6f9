// Backward of conv2d from a sparse output gradient (zero padding only).
//
// The gradient reaching a convolution followed by ReLU and max-pool is mostly zeros: max-pool's
// backward passes one position of each window, ReLU's backward zeroes those whose pooled value
// was 0, and dropout drops whole channels (97.4 % zeros at the MNIST net's conv2 on a batch of the
// trained baseline, 88 % at initialisation). Here both gradients are scattered from the non-zero
// entries of gy only:
//   gx[n, c, iy, ix]   += gy[n, o, y, x] · w[o, c, kh, kw]
//   gw[o, c, kh, kw]   += gy[n, o, y, x] · x[n, c, iy, ix]
// with iy = y·sH + kh·dH − padH, ix = x·sW + kw·dW − padW (taps in the padding skipped), summed
// in float64 and rounded once. The sums run over the non-zeros in a fixed order (gx: per image,
// o, y, x ascending; gw: per output channel, n, y, x ascending), so the result does not depend on
// the thread count; it is not the Winograd/im2col paths' order, so the bits differ from theirs
// (within float64 rounding before the final float32 store).
//
// A zero of gy times an Inf or NaN in w (for gx) or in x (for gw) is NaN in the dense sum but is
// skipped here: the callers check that operand for non-finite values and take the dense path.

import type { Conv2dParams } from './conv2d.ts';
import type { FloatArray } from './types.ts';
import {
  finishOutput,
  parallelFor,
  registerTask,
  sharedF32,
  sharedF64,
  sharedInput,
  sharedOutput,
  threadsFor,
} from './parallel.ts';

/** Largest estimated fraction of non-zeros in gy for which the sparse backward is used. */
export const CONV_SPARSE_DENSITY = 0.06;

// Per-thread float64 accumulators (each worker has its own module instance).
let accBuf = new Float64Array(1024);
const acc = (n: number): Float64Array => {
  if (accBuf.length < n) accBuf = new Float64Array(n);
  accBuf.fill(0, 0, n);
  return accBuf;
};

// gx of image i, accumulated channels-last (acc[(iy·W + ix)·cIn + c]) so that the innermost loop
// runs over contiguous channels of acc and of wT [cOut][kh][kw][cIn/groups] (w transposed).
function inputImage(
  gx: FloatArray,
  gy: FloatArray,
  wT: Float64Array,
  p: Conv2dParams,
  i: number,
): void {
  const { cIn, h, cOut, groups, outH, outW, kh, kw, strideH, strideW, padH, padW, dilH, dilW } = p;
  const W = p.w;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const hw = h * W;
  const P = outH * outW;
  const a = acc(cIn * hw);
  const kk = kh * kw;
  for (let o = 0; o < cOut; o++) {
    const c0 = Math.floor(o / cOutG) * cInG; // first input channel of o's group
    const gyo = (i * cOut + o) * P;
    const wo = o * kk * cInG;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const v = gy[gyo + y * outW + x]!;
        if (v === 0) continue;
        for (let r = 0; r < kh; r++) {
          const iy = y * strideH + r * dilH - padH;
          if (iy < 0 || iy >= h) continue;
          for (let s = 0; s < kw; s++) {
            const ix = x * strideW + s * dilW - padW;
            if (ix < 0 || ix >= W) continue;
            const dst = (iy * W + ix) * cIn + c0;
            const src = wo + (r * kw + s) * cInG;
            for (let c = 0; c < cInG; c++) a[dst + c] += v * wT[src + c]!;
          }
        }
      }
    }
  }
  const base = i * cIn * hw;
  for (let c = 0; c < cIn; c++) {
    for (let q = 0; q < hw; q++) gx[base + c * hw + q] = a[q * cIn + c]!;
  }
}

// gw of output channel o, accumulated as a[(kh·kw index)·cInG + c] from xT, x channels-last
// [n][h][w][cIn].
function weightChannel(
  gw: FloatArray,
  gy: FloatArray,
  xT: FloatArray,
  p: Conv2dParams,
  o: number,
): void {
  const { n, cIn, h, cOut, groups, outH, outW, kh, kw, strideH, strideW, padH, padW, dilH, dilW } =
    p;
  const W = p.w;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const P = outH * outW;
  const kk = kh * kw;
  const a = acc(cInG * kk);
  const c0 = Math.floor(o / cOutG) * cInG;
  for (let i = 0; i < n; i++) {
    const gyo = (i * cOut + o) * P;
    const xi = i * h * W;
    for (let y = 0; y < outH; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const v = gy[gyo + y * outW + xx]!;
        if (v === 0) continue;
        for (let r = 0; r < kh; r++) {
          const iy = y * strideH + r * dilH - padH;
          if (iy < 0 || iy >= h) continue;
          for (let s = 0; s < kw; s++) {
            const ix = xx * strideW + s * dilW - padW;
            if (ix < 0 || ix >= W) continue;
            const dst = (r * kw + s) * cInG;
            const src = (xi + iy * W + ix) * cIn + c0;
            for (let c = 0; c < cInG; c++) a[dst + c] += v * xT[src + c]!;
          }
        }
      }
    }
  }
  const base = o * cInG * kk;
  for (let c = 0; c < cInG; c++) {
    for (let t = 0; t < kk; t++) gw[base + c * kk + t] = a[t * cInG + c]!;
  }
}

registerTask('conv2d.sparseInput', (a, i) => inputImage(a[0], a[1], a[2], a[3], i));
registerTask('conv2d.sparseWeight', (a, o) => weightChannel(a[0], a[1], a[2], a[3], o));

/** gx from the non-zeros of gy (zero padding); images split over the threads. */
export function conv2dBackwardInputSparse(
  gx: FloatArray,
  gy: FloatArray,
  w: FloatArray,
  p: Conv2dParams,
): void {
  // w [cOut][cInG][kh][kw] → wT [cOut][kh][kw][cInG]
  const cInG = p.cIn / p.groups;
  const kk = p.kh * p.kw;
  const wT = sharedF64('convs.wT', p.cOut * cInG * kk);
  for (let o = 0; o < p.cOut; o++) {
    for (let c = 0; c < cInG; c++) {
      for (let t = 0; t < kk; t++) wT[(o * kk + t) * cInG + c] = w[(o * cInG + c) * kk + t]!;
    }
  }
  if (threadsFor(p.n) <= 1) {
    for (let i = 0; i < p.n; i++) inputImage(gx, gy, wT, p, i);
    return;
  }
  const gxs = sharedOutput('convs.gx', gx, p.n * p.cIn * p.h * p.w);
  const gys = sharedInput('convs.gy', gy, p.n * p.cOut * p.outH * p.outW);
  parallelFor('conv2d.sparseInput', [gxs, gys, wT, p], p.n);
  finishOutput(gx, gxs);
}

/** gw from the non-zeros of gy (zero padding); output channels split over the threads. */
export function conv2dBackwardWeightSparse(
  gw: FloatArray,
  gy: FloatArray,
  x: FloatArray,
  p: Conv2dParams,
): void {
  // x [n][cIn][h][w] → channels-last [n][h][w][cIn] (float32 is exact for float32 inputs)
  const hw = p.h * p.w;
  const size = p.n * p.cIn * hw;
  const xT: FloatArray =
    x instanceof Float64Array ? sharedF64('convs.xT', size) : sharedF32('convs.xT', size);
  for (let i = 0; i < p.n; i++) {
    for (let c = 0; c < p.cIn; c++) {
      const src = (i * p.cIn + c) * hw;
      const dst = i * hw * p.cIn + c;
      for (let q = 0; q < hw; q++) xT[dst + q * p.cIn] = x[src + q]!;
    }
  }
  if (threadsFor(p.cOut) <= 1) {
    for (let o = 0; o < p.cOut; o++) weightChannel(gw, gy, xT, p, o);
    return;
  }
  const gws = sharedOutput('convs.gw', gw, (p.cOut * p.cIn * p.kh * p.kw) / p.groups);
  const gys = sharedInput('convs.gy', gy, p.n * p.cOut * p.outH * p.outW);
  parallelFor('conv2d.sparseWeight', [gws, gys, xT, p], p.cOut);
  finishOutput(gw, gws);
}
