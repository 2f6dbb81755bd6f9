// 2-D convolution (PyTorch F.conv2d / nn.Conv2d semantics) on typed arrays, NCHW, row-major.
//
// x  [n, cIn, h, w]           w  [cOut, cIn/groups, kh, kw]      b [cOut]
// y  [n, cOut, outH, outW]    outH = floor((h + 2·padH − dilH·(kh−1) − 1) / strideH) + 1
//
// y[i,o,oh,ow] = b[o] + Σ_{c,u,v} x̂[i, g·cInG + c, oh·sH − padH + u·dH, ow·sW − padW + v·dW]·w[o,c,u,v]
// with g = o / cOutG and x̂ the input padded by zeros ('zeros') or by wrap-around ('circular',
// like padding_mode='circular': F.pad(x, mode='circular') then an unpadded conv). The gradient
// of a wrapped position flows back to the input element it was copied from.
//
// Tuned path: im2col + the packed GEMM of gemm.ts, one image and group at a time:
//   forward      y_g[cOutG, P]  = w_g[cOutG, K] · col[K, P]          (K = cInG·kh·kw, P = outH·outW)
//   backward-in  gcol[K, P]     = w_gᵀ[K, cOutG] · gy_g[cOutG, P], then col2im (scatter-add)
//   backward-w   gw_g[cOutG, K] += gy_g[cOutG, P] · colᵀ[P, K]       (accumulated in float64)
// A 1×1, stride-1, unpadded conv skips im2col (x itself is the [K, P] matrix).
// Row/column index maps (input row for each (u, oh); −1 = zero padding) are built once per call,
// so zeros/circular padding, stride and dilation all share the same inner loops.

import {
  CONV_SPARSE_DENSITY,
  conv2dBackwardInputSparse,
  conv2dBackwardWeightSparse,
} from './conv2d-sparse.ts';
import { allFinite, densityEstimate } from './sparsity.ts';
import { gemmStrided } from './gemm.ts';
import type { FloatArray } from './types.ts';
import { reluRange } from './elementwise.ts';
import { AsmScratch, asmOn } from './asm.ts';
import { isK2S2, maxPool2dForwardPlanes, reluMaxPool2dK2S2, type MaxPool2dParams } from './pool.ts';
import {
  finishOutput,
  parallelFor,
  registerTask,
  sharedF64,
  sharedInput,
  sharedOutput,
  threadedOnShared,
  threadsFor,
} from './parallel.ts';
import {
  weightChunks,
  winogradBackwardWeight,
  winogradForward,
  winogradForwardImage,
  winogradWeights,
  winogradWeightScratch,
  type WinogradParams,
} from './winograd.ts';
import {
  winograd6Cheaper,
  winograd6Forward,
  winograd6ForwardImage,
  winograd6Weights,
  winograd6WeightScratch,
} from './winograd6.ts';

export type PaddingMode = 'zeros' | 'circular';

/** Every size of one conv2d call; build it with `conv2dParams`. */
export interface Conv2dParams {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilH: number;
  dilW: number;
  groups: number;
  paddingMode: PaddingMode;
  outH: number;
  outW: number;
}

type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  paddingMode?: PaddingMode;
}

function pair(name: string, v: Pair): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Number.isInteger(p[0]) || !Number.isInteger(p[1])) {
    throw new Error(
      `conv2d: ${name} must be an integer or a pair of integers, got ${JSON.stringify(v)}`,
    );
  }
  return p;
}

/**
 * Validate shapes and options and compute the output size like PyTorch.
 * @param xShape input shape [n, cIn, h, w]
 * @param wShape weight shape [cOut, cIn/groups, kh, kw]
 */
export function conv2dParams(
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dOptions = {},
): Conv2dParams {
  const xs = JSON.stringify(xShape);
  const ws = JSON.stringify(wShape);
  if (xShape.length !== 4)
    throw new Error(`conv2d: expected a 4-D input [N, C, H, W], got shape ${xs}`);
  if (wShape.length !== 4) {
    throw new Error(`conv2d: expected a 4-D weight [C_out, C_in/groups, kH, kW], got shape ${ws}`);
  }
  for (const d of [...xShape, ...wShape]) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`conv2d: bad shape: input ${xs}, weight ${ws}`);
  }
  const [n, cIn, h, w] = xShape as [number, number, number, number];
  const [cOut, cInG, kh, kw] = wShape as [number, number, number, number];
  const [strideH, strideW] = pair('stride', opts.stride ?? 1);
  const [padH, padW] = pair('padding', opts.padding ?? 0);
  const [dilH, dilW] = pair('dilation', opts.dilation ?? 1);
  const groups = opts.groups ?? 1;
  const paddingMode = opts.paddingMode ?? 'zeros';
  if (strideH <= 0 || strideW <= 0)
    throw new Error(`conv2d: stride must be positive, got [${strideH}, ${strideW}]`);
  if (padH < 0 || padW < 0)
    throw new Error(`conv2d: padding must be non-negative, got [${padH}, ${padW}]`);
  if (dilH <= 0 || dilW <= 0)
    throw new Error(`conv2d: dilation must be positive, got [${dilH}, ${dilW}]`);
  if (!Number.isInteger(groups) || groups <= 0)
    throw new Error(`conv2d: groups must be a positive integer, got ${groups}`);
  if (paddingMode !== 'zeros' && paddingMode !== 'circular') {
    throw new Error(
      `conv2d: paddingMode must be 'zeros' or 'circular', got '${String(paddingMode)}'`,
    );
  }
  if (cIn % groups !== 0)
    throw new Error(
      `conv2d: in_channels ${cIn} (input ${xs}) is not divisible by groups ${groups}`,
    );
  if (cOut % groups !== 0)
    throw new Error(
      `conv2d: out_channels ${cOut} (weight ${ws}) is not divisible by groups ${groups}`,
    );
  if (cInG * groups !== cIn) {
    throw new Error(
      `conv2d: weight ${ws} expects ${cInG * groups} input channels (${cInG} × groups ${groups}), ` +
        `but input ${xs} has ${cIn}`,
    );
  }
  if (kh < 1 || kw < 1) throw new Error(`conv2d: kernel size must be at least 1, got weight ${ws}`);
  if (paddingMode === 'circular' && (padH > h || padW > w)) {
    throw new Error(
      `conv2d: circular padding [${padH}, ${padW}] larger than the input size [${h}, ${w}] (input ${xs}) ` +
        'would wrap around more than once',
    );
  }
  const outH = Math.floor((h + 2 * padH - dilH * (kh - 1) - 1) / strideH) + 1;
  const outW = Math.floor((w + 2 * padW - dilW * (kw - 1) - 1) / strideW) + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(
      `conv2d: output size [${outH}, ${outW}] is too small: input ${xs} padded by [${padH}, ${padW}] is ` +
        `smaller than the dilated kernel (weight ${ws}, dilation [${dilH}, ${dilW}])`,
    );
  }
  return {
    n,
    cIn,
    h,
    w,
    cOut,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilH,
    dilW,
    groups,
    paddingMode,
    outH,
    outW,
  };
}

// ------------------------------------------------------------------------------- index maps
// rowMap[u·outH + oh] = input row read by kernel row u at output row oh (−1: zero padding);
// colMap[v·outW + ow] likewise for columns.

let rowMap = new Int32Array(64);
let colMap = new Int32Array(64);

function srcIndex(
  o: number,
  u: number,
  stride: number,
  pad: number,
  dil: number,
  size: number,
  circ: boolean,
): number {
  let i = o * stride - pad + u * dil;
  if (i < 0 || i >= size) {
    if (!circ) return -1;
    i = ((i % size) + size) % size;
  }
  return i;
}

function buildMaps(p: Conv2dParams): void {
  const circ = p.paddingMode === 'circular';
  if (rowMap.length < p.kh * p.outH) rowMap = new Int32Array(p.kh * p.outH);
  if (colMap.length < p.kw * p.outW) colMap = new Int32Array(p.kw * p.outW);
  for (let u = 0; u < p.kh; u++) {
    for (let oh = 0; oh < p.outH; oh++) {
      rowMap[u * p.outH + oh] = srcIndex(oh, u, p.strideH, p.padH, p.dilH, p.h, circ);
    }
  }
  for (let v = 0; v < p.kw; v++) {
    for (let ow = 0; ow < p.outW; ow++) {
      colMap[v * p.outW + ow] = srcIndex(ow, v, p.strideW, p.padW, p.dilW, p.w, circ);
    }
  }
}

// col[(c·kh + u)·kw + v, oh·outW + ow] = x̂[c0 + c, ...] for one image (x at xOff) and cInG channels.
function im2col(
  col: Float64Array,
  x: FloatArray,
  xOff: number,
  cInG: number,
  p: Conv2dParams,
): void {
  const { h, w, kh, kw, outH, outW, strideW } = p;
  const hw = h * w;
  const rm = rowMap;
  const cm = colMap;
  let d = 0;
  for (let c = 0; c < cInG; c++) {
    const xc = xOff + c * hw;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const cmo = v * outW;
        // columns that stay inside [0, w) with unit stride can be copied without the map
        const fast = strideW === 1 && cm[cmo]! >= 0 && cm[cmo + outW - 1]! === cm[cmo]! + outW - 1;
        const c0 = cm[cmo]!;
        for (let oh = 0; oh < outH; oh++) {
          const ih = rm[u * outH + oh]!;
          if (ih < 0) {
            for (let ow = 0; ow < outW; ow++) col[d++] = 0;
            continue;
          }
          const xr = xc + ih * w;
          if (fast) {
            const s = xr + c0;
            for (let ow = 0; ow < outW; ow++) col[d++] = x[s + ow]!;
          } else {
            for (let ow = 0; ow < outW; ow++) {
              const iw = cm[cmo + ow]!;
              col[d++] = iw < 0 ? 0 : x[xr + iw]!;
            }
          }
        }
      }
    }
  }
}

// gx[c0 + c, ih, iw] += gcol[(c·kh + u)·kw + v, oh·outW + ow] (gx plane must be zeroed first).
function col2im(
  gx: FloatArray,
  gxOff: number,
  gcol: Float64Array,
  cInG: number,
  p: Conv2dParams,
): void {
  const { h, w, kh, kw, outH, outW } = p;
  const hw = h * w;
  const rm = rowMap;
  const cm = colMap;
  let d = 0;
  for (let c = 0; c < cInG; c++) {
    const xc = gxOff + c * hw;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const cmo = v * outW;
        for (let oh = 0; oh < outH; oh++) {
          const ih = rm[u * outH + oh]!;
          if (ih < 0) {
            d += outW;
            continue;
          }
          const xr = xc + ih * w;
          for (let ow = 0; ow < outW; ow++, d++) {
            const iw = cm[cmo + ow]!;
            if (iw >= 0) gx[xr + iw] += gcol[d]!;
          }
        }
      }
    }
  }
}

let colBuf = new Float64Array(1024);

function colScratch(size: number): Float64Array {
  if (colBuf.length < size) colBuf = new Float64Array(size);
  return colBuf;
}

function isPointwise(p: Conv2dParams): boolean {
  return (
    p.kh === 1 && p.kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0
  );
}

// ------------------------------------------------------------------------------- dispatch
// Winograd F(4×4, 3×3) (winograd.ts) for 3×3 / stride 1 / dilation 1 / groups 1 / zero padding
// when both channel counts are large enough for its 36 small GEMMs to beat im2col (conv1, with
// one input channel, stays on im2col). Everything else takes the general im2col path.
// Work is split across threads by image (forward, backward-input) or by fixed chunks of images
// with float64 partials summed in chunk order (backward-weight); see parallel.ts.

/** Smallest channel count (each side) for which the Winograd path is used. */
export const WINOGRAD_MIN_CHANNELS = 8;

/** A 3×3 kernel at stride 1, dilation 1, one group: the shape of the specialised kernels. */
function plain3x3(p: Conv2dParams): boolean {
  return (
    p.kh === 3 &&
    p.kw === 3 &&
    p.strideH === 1 &&
    p.strideW === 1 &&
    p.dilH === 1 &&
    p.dilW === 1 &&
    p.groups === 1
  );
}

function winogradShape(p: Conv2dParams): boolean {
  return (
    plain3x3(p) &&
    p.paddingMode === 'zeros' &&
    p.cIn >= WINOGRAD_MIN_CHANNELS &&
    p.cOut >= WINOGRAD_MIN_CHANNELS
  );
}

// Sparse-gradient backward (conv2d-sparse.ts): opt-in. Its sums run in another order than the
// Winograd / im2col kernels', so training's results change in the last bits; it stays off by
// default until the committed experiments have been rerun with it (docs/performance.md).
let sparseBackwardOn = process.env.SHIFTGRAD_SPARSE_BACKWARD === '1';

/**
 * Let conv2d's backward scatter from the non-zeros of the output gradient when a sample puts its
 * density at most CONV_SPARSE_DENSITY (zero padding only): 2.6 % for the MNIST net's conv2 once
 * trained (after ReLU and max-pool). Default off, or on with `SHIFTGRAD_SPARSE_BACKWARD=1`.
 * Results are the same for any thread count either way.
 */
export function setConvSparseBackward(on: boolean): void {
  sparseBackwardOn = on;
}

function sparseBackward(p: Conv2dParams, gy: FloatArray): boolean {
  if (!sparseBackwardOn) return false;
  const size = p.n * p.cOut * p.outH * p.outW;
  return p.paddingMode === 'zeros' && size > 0 && densityEstimate(gy, size) <= CONV_SPARSE_DENSITY;
}

/** Which algorithm `conv2dForward` / `…BackwardInput` / `…BackwardWeight` use for these params. */
export function conv2dAlgorithm(
  p: Conv2dParams,
  op: 'forward' | 'input' | 'weight',
): 'winograd' | 'im2col' {
  if (!winogradShape(p)) return 'im2col';
  // backward-input is a forward pass with padding 2 − pad, so it needs pad ≤ 2
  if (op === 'input' && (p.padH > 2 || p.padW > 2)) return 'im2col';
  return 'winograd';
}

type ConvAlgorithm = 'direct' | 'winograd' | 'winograd6' | 'im2col';

let winograd6On = process.env.SHIFTGRAD_WINOGRAD6 !== '0';

/**
 * Let inference forwards use Winograd F(6×6) (default on; off with `SHIFTGRAD_WINOGRAD6=0`): the
 * switch the benchmarks use to time it against F(4×4) in one run.
 */
export function setConvWinograd6(on: boolean): void {
  winograd6On = on;
}

/**
 * The forward's kernel: direct for 1-channel unpadded 3×3, else as conv2dAlgorithm says; for an
 * `inference` forward (no backward follows) Winograd F(6×6) where it does fewer multiplies.
 */
export function conv2dForwardAlgorithm(p: Conv2dParams, inference = false): ConvAlgorithm {
  if (direct3x3Shape(p)) return 'direct';
  const algo = conv2dAlgorithm(p, 'forward');
  if (algo === 'winograd' && inference && winograd6On && winograd6Cheaper(p.cOut, p.outH, p.outW)) {
    return 'winograd6';
  }
  return algo;
}

function winoParams(p: Conv2dParams): WinogradParams {
  return {
    n: p.n,
    ki: p.cIn,
    h: p.h,
    w: p.w,
    mo: p.cOut,
    padH: p.padH,
    padW: p.padW,
    outH: p.outH,
    outW: p.outW,
  };
}

/**
 * y[n,cOut,outH,outW] = conv2d(x[n,cIn,h,w], w[cOut,cIn/groups,kh,kw]) + b[cOut] (b may be null).
 * `inference`: no backward follows, which lets a 3×3 layer use Winograd F(6×6) (the same values
 * to float32 rounding; see winograd6.ts). Training's forwards keep F(4×4).
 */
export function conv2dForward(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  p: Conv2dParams,
  inference = false,
): void {
  const algo = conv2dForwardAlgorithm(p, inference);
  if (algo === 'direct') {
    conv2dForwardDirect3x3(y, x, w, b, p);
    return;
  }
  if (algo === 'winograd6') {
    const u = winograd6WeightScratch('conv.u6', p.cOut, p.cIn);
    winograd6Weights(u, w, p.cOut, p.cIn);
    winograd6Forward(y, x, u, b, winoParams(p));
    return;
  }
  if (algo === 'winograd') {
    const u = winogradWeightScratch('conv.u', p.cOut, p.cIn);
    const skipZeros = winogradWeights(u, w, p.cOut, p.cIn, false);
    winogradForward(y, x, u, b, { ...winoParams(p), skipZeros });
    return;
  }
  conv2dForwardIm2col(y, x, w, b, p);
}

/** gx[n,cIn,h,w] = ∂(Σ y·gy)/∂x for gy [n,cOut,outH,outW], w [cOut,cIn/groups,kh,kw]. */
export function conv2dBackwardInput(
  gx: FloatArray,
  gy: FloatArray,
  w: FloatArray,
  p: Conv2dParams,
): void {
  if (sparseBackward(p, gy) && allFinite(w, w.length)) {
    conv2dBackwardInputSparse(gx, gy, w, p);
    return;
  }
  if (conv2dAlgorithm(p, 'input') === 'winograd') {
    // full correlation of gy with the flipped kernel, in/out channels swapped
    const u = winogradWeightScratch('conv.u', p.cIn, p.cOut);
    const skipZeros = winogradWeights(u, w, p.cIn, p.cOut, true);
    winogradForward(gx, gy, u, null, {
      skipZeros,
      n: p.n,
      ki: p.cOut,
      h: p.outH,
      w: p.outW,
      mo: p.cIn,
      padH: 2 - p.padH,
      padW: 2 - p.padW,
      outH: p.h,
      outW: p.w,
    });
    return;
  }
  conv2dBackwardInputIm2col(gx, gy, w, p);
}

/** gw[cOut,cIn/groups,kh,kw] = ∂(Σ y·gy)/∂w for gy [n,cOut,outH,outW], x [n,cIn,h,w]. */
export function conv2dBackwardWeight(
  gw: FloatArray,
  gy: FloatArray,
  x: FloatArray,
  p: Conv2dParams,
): void {
  if (sparseBackward(p, gy) && allFinite(x, p.n * p.cIn * p.h * p.w)) {
    conv2dBackwardWeightSparse(gw, gy, x, p);
    return;
  }
  if (conv2dAlgorithm(p, 'weight') === 'winograd') {
    winogradBackwardWeight(gw, gy, x, { ...winoParams(p), skipZeros: true }); // x checked per chunk
    return;
  }
  conv2dBackwardWeightIm2col(gw, gy, x, p);
}

// ------------------------------------------------------------- direct 3×3, one input channel
//
// The first layer of an MNIST net (1 → 32 channels, 3×3): im2col's GEMM has depth 9, so its
// micro-kernel spends its time on call overhead. Here each output is one expression over the 3×3
// window, with the window's left two columns carried from the previous output, summed in float64
// in im2col's order (i, j row-major, from 0) and the bias added last, so the results are
// bit-identical to the im2col path (tested), ~1.8× faster.

function direct3x3Shape(p: Conv2dParams): boolean {
  return plain3x3(p) && p.cIn === 1 && p.padH === 0 && p.padW === 0;
}

const directHeap = new AsmScratch();

/**
 * For the asm.js kernel: per output row r of the image at xb[xo …] (h × W, float32 bits), the
 * columns [spans[s + 2r], spans[s + 2r + 1]) outside which every 3×3 window holds the image's
 * top-left value v, bit for bit (an MNIST image's background: about half its windows), so that
 * the kernel stores its one output instead of summing each; returns v. A non-finite v (or
 * `setUniformSpans(false)`) computes every window.
 */
export function uniformSpans(
  xb: Int32Array,
  xo: number,
  h: number,
  W: number,
  spans: Int32Array,
  s: number,
): number {
  const outW = W - 2;
  const v = xb[xo]!;
  const finite = spansOn && (v & 0x7f800000) !== 0x7f800000;
  for (let r = 0; r < h - 2; r++) {
    let first = -1;
    let last = -1;
    if (!finite) {
      first = 0;
      last = W - 1;
    } else {
      for (let j = 0, q = xo + r * W; j < W; j++, q++) {
        if (xb[q] !== v || xb[q + W] !== v || xb[q + 2 * W] !== v) {
          if (first < 0) first = j;
          last = j;
        }
      }
    }
    // window c spans columns c … c + 2
    spans[s + 2 * r] = first < 0 ? outW : Math.max(0, first - 2);
    spans[s + 2 * r + 1] = first < 0 ? outW : Math.min(last, outW - 1) + 1;
  }
  uniformBits[0] = v;
  return uniformValue[0]!;
}

let spansOn = true;

/** Turn conv1's uniform spans off (every window computed) or on in this thread (benchmarks). */
export function setUniformSpans(on: boolean): void {
  spansOn = on;
}

const uniformValue = new Float32Array(1);
const uniformBits = new Int32Array(uniformValue.buffer);

// image i of y [n, cOut, outH, outW] from x [n, 1, h, w], w [cOut, 1, 3, 3]; with `relu`,
// relu(·) as reluRange gives it (the asm.js kernel in its heap before the copy out, the
// JavaScript loop with reluRange after)
function directImage(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  p: Conv2dParams,
  i: number,
  yImg: number,
  relu = false,
): void {
  const { cOut, h, outH, outW } = p;
  const W = p.w;
  const xo = i * h * W;
  if (asmOn && x instanceof Float32Array && y instanceof Float32Array) {
    // heap: kernels and biases (float64), then the image and the output (float32). A null bias
    // adds +0, which changes no sum: they start at +0, so none is −0
    const hw = h * W;
    const size = cOut * outH * outW;
    const bOff = cOut * 9;
    const xOff = 2 * (bOff + cOut);
    const yOff = xOff + hw;
    const sOff = yOff + size; // the rows' spans (int32)
    const hp = directHeap.get(bOff + cOut + Math.ceil((hw + size) / 2) + outH);
    for (let k = 0; k < bOff; k++) hp.f64[k] = w[k]!;
    for (let o = 0; o < cOut; o++) hp.f64[bOff + o] = b === null ? 0 : b[o]!;
    hp.f32.set(x.subarray(xo, xo + hw), xOff);
    const v = uniformSpans(hp.i32, xOff, h, W, hp.i32, sOff);
    hp.k.direct3x3(xOff, h, W, 0, bOff, cOut, yOff, relu ? 1 : 0, sOff, v);
    y.set(hp.f32.subarray(yOff, yOff + size), yImg);
    return;
  }
  for (let o = 0; o < cOut; o++) {
    const q = o * 9;
    // prettier-ignore
    const w0 = w[q]!, w1 = w[q + 1]!, w2 = w[q + 2]!, w3 = w[q + 3]!, w4 = w[q + 4]!,
      w5 = w[q + 5]!, w6 = w[q + 6]!, w7 = w[q + 7]!, w8 = w[q + 8]!;
    const bias = b === null ? 0 : b[o]!;
    let yo = yImg + o * outH * outW;
    for (let r = 0; r < outH; r++) {
      const i0 = xo + r * W;
      const i1 = i0 + W;
      const i2 = i1 + W;
      // prettier-ignore
      let a0 = x[i0]!, a1 = x[i0 + 1]!, b0 = x[i1]!, b1 = x[i1 + 1]!, c0 = x[i2]!, c1 = x[i2 + 1]!;
      for (let c = 2; c < outW + 2; c++) {
        const a2 = x[i0 + c]!;
        const b2 = x[i1 + c]!;
        const c2 = x[i2 + c]!;
        // 0 + …: the GEMM's accumulator starts at +0, which decides the sign of a zero sum
        // prettier-ignore
        const s = 0 + w0 * a0 + w1 * a1 + w2 * a2 + w3 * b0 + w4 * b1 + w5 * b2 + w6 * c0 + w7 * c1 + w8 * c2;
        y[yo++] = b === null ? s : s + bias;
        a0 = a1;
        a1 = a2;
        b0 = b1;
        b1 = b2;
        c0 = c1;
        c1 = c2;
      }
    }
  }
  if (relu) reluRange(y, y, yImg, yImg + cOut * outH * outW);
}

registerTask('conv2d.direct', (a, i) => {
  const p = a[4] as Conv2dParams;
  directImage(a[0], a[1], a[2], a[3], p, i, i * p.cOut * p.outH * p.outW);
});

/** `conv2dForward` for one input channel, 3×3, stride 1, no padding (see above). */
export function conv2dForwardDirect3x3(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  p: Conv2dParams,
): void {
  if (!direct3x3Shape(p))
    throw new Error('conv2dForwardDirect3x3: not a 1-channel 3×3 stride-1 unpadded convolution');
  const { n } = p;
  if (threadsFor(n) <= 1) {
    for (let i = 0; i < n; i++) directImage(y, x, w, b, p, i, i * p.cOut * p.outH * p.outW);
    return;
  }
  const ys = sharedOutput('conv.y', y, n * p.cOut * p.outH * p.outW);
  const xs = sharedInput('conv.x', x, n * p.h * p.w);
  parallelFor('conv2d.direct', [ys, xs, w, b, p], n);
  finishOutput(y, ys);
}

// ------------------------------------------------------------------------------- im2col path

function forwardImage(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  p: Conv2dParams,
  i: number,
  yImg: number,
): void {
  const { cIn, h, cOut, groups, outH, outW } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = outH * outW;
  const hw = h * p.w;
  const pointwise = isPointwise(p);
  const col = pointwise ? colBuf : colScratch(K * P);
  for (let g = 0; g < groups; g++) {
    const xOff = (i * cIn + g * cInG) * hw;
    const yOff = yImg + g * cOutG * P;
    if (b !== null) {
      for (let o = 0; o < cOutG; o++) y.fill(b[g * cOutG + o]!, yOff + o * P, yOff + (o + 1) * P);
    }
    const beta = b === null ? 0 : 1;
    if (pointwise) {
      gemmStrided(y, yOff, P, w, g * cOutG * K, K, 1, x, xOff, P, 1, cOutG, P, K, 1, beta);
    } else {
      im2col(col, x, xOff, cInG, p);
      gemmStrided(y, yOff, P, w, g * cOutG * K, K, 1, col, 0, P, 1, cOutG, P, K, 1, beta);
    }
  }
}

function inputImage(
  gx: FloatArray,
  gy: FloatArray,
  w: FloatArray,
  p: Conv2dParams,
  i: number,
): void {
  const { cIn, h, cOut, groups, outH, outW } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = outH * outW;
  const hw = h * p.w;
  const pointwise = isPointwise(p);
  const gcol = pointwise ? colBuf : colScratch(K * P);
  for (let g = 0; g < groups; g++) {
    const xOff = (i * cIn + g * cInG) * hw;
    const yOff = (i * cOut + g * cOutG) * P;
    const wOff = g * cOutG * K;
    if (pointwise) {
      gemmStrided(gx, xOff, P, w, wOff, 1, K, gy, yOff, P, 1, K, P, cOutG, 1, 0);
    } else {
      gemmStrided(gcol, 0, P, w, wOff, 1, K, gy, yOff, P, 1, K, P, cOutG, 1, 0);
      gx.fill(0, xOff, xOff + cInG * hw);
      col2im(gx, xOff, gcol, cInG, p);
    }
  }
}

// Partial weight gradient of images [chunk·per, …) into part[chunk·cOut·K …] (float64).
function weightChunk(
  part: Float64Array,
  gy: FloatArray,
  x: FloatArray,
  p: Conv2dParams,
  per: number,
  chunk: number,
): void {
  const { n, cIn, h, cOut, groups, outH, outW } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = outH * outW;
  const hw = h * p.w;
  const pointwise = isPointwise(p);
  const col = pointwise ? colBuf : colScratch(K * P);
  const i0 = chunk * per;
  const i1 = Math.min(n, i0 + per);
  const accOff = chunk * cOut * K;
  for (let i = i0; i < i1; i++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (i * cIn + g * cInG) * hw;
      const yOff = (i * cOut + g * cOutG) * P;
      const wOff = accOff + g * cOutG * K;
      const beta = i === i0 ? 0 : 1;
      if (pointwise) {
        gemmStrided(part, wOff, K, gy, yOff, P, 1, x, xOff, 1, P, cOutG, K, P, 1, beta);
      } else {
        im2col(col, x, xOff, cInG, p);
        gemmStrided(part, wOff, K, gy, yOff, P, 1, col, 0, 1, P, cOutG, K, P, 1, beta);
      }
    }
  }
}

registerTask('conv2d.forward', (a, i) => {
  const p = a[4] as Conv2dParams;
  if (!isPointwise(p)) buildMaps(p);
  forwardImage(a[0], a[1], a[2], a[3], p, i, i * p.cOut * p.outH * p.outW);
});
registerTask('conv2d.input', (a, i) => {
  const p = a[3] as Conv2dParams;
  if (!isPointwise(p)) buildMaps(p);
  inputImage(a[0], a[1], a[2], p, i);
});
registerTask('conv2d.weight', (a, c) => {
  const p = a[3] as Conv2dParams;
  if (!isPointwise(p)) buildMaps(p);
  weightChunk(a[0], a[1], a[2], p, a[4], c);
});

/** `conv2dForward` through im2col + GEMM, for any params. */
export function conv2dForwardIm2col(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  p: Conv2dParams,
): void {
  const { n } = p;
  if (threadsFor(n) <= 1) {
    if (!isPointwise(p)) buildMaps(p);
    for (let i = 0; i < n; i++) forwardImage(y, x, w, b, p, i, i * p.cOut * p.outH * p.outW);
    return;
  }
  const ys = sharedOutput('conv.y', y, n * p.cOut * p.outH * p.outW);
  const xs = sharedInput('conv.x', x, n * p.cIn * p.h * p.w);
  parallelFor('conv2d.forward', [ys, xs, w, b, p], n);
  finishOutput(y, ys);
}

/** `conv2dBackwardInput` through GEMM + col2im, for any params. */
export function conv2dBackwardInputIm2col(
  gx: FloatArray,
  gy: FloatArray,
  w: FloatArray,
  p: Conv2dParams,
): void {
  const { n } = p;
  if (threadsFor(n) <= 1) {
    if (!isPointwise(p)) buildMaps(p);
    for (let i = 0; i < n; i++) inputImage(gx, gy, w, p, i);
    return;
  }
  const gxs = sharedOutput('conv.gx', gx, n * p.cIn * p.h * p.w);
  const gys = sharedInput('conv.gy', gy, n * p.cOut * p.outH * p.outW);
  parallelFor('conv2d.input', [gxs, gys, w, p], n);
  finishOutput(gx, gxs);
}

/** `conv2dBackwardWeight` through im2col + GEMM, for any params (fixed image chunks). */
export function conv2dBackwardWeightIm2col(
  gw: FloatArray,
  gy: FloatArray,
  x: FloatArray,
  p: Conv2dParams,
): void {
  const { n, cIn, cOut, groups } = p;
  const K = (cIn / groups) * p.kh * p.kw;
  const size = cOut * K;
  const { per, count } = weightChunks(n);
  const part = sharedF64('conv.part', Math.max(count, 1) * size);
  if (threadsFor(count) <= 1) {
    if (!isPointwise(p)) buildMaps(p);
    for (let c = 0; c < count; c++) weightChunk(part, gy, x, p, per, c);
  } else {
    const gys = sharedInput('conv.gy', gy, n * cOut * p.outH * p.outW);
    const xs = sharedInput('conv.x', x, n * cIn * p.h * p.w);
    parallelFor('conv2d.weight', [part, gys, xs, p, per], count);
  }
  if (count === 0) part.fill(0, 0, size);
  for (let c = 1; c < count; c++) {
    const off = c * size;
    for (let j = 0; j < size; j++) part[j] += part[off + j]!;
  }
  for (let j = 0; j < size; j++) gw[j] = part[j]!;
}

/** gb[cOut] = Σ_{n,oh,ow} gy[n,cOut,oh,ow]. */
export function conv2dBackwardBias(gb: FloatArray, gy: FloatArray, p: Conv2dParams): void {
  const { n, cOut, outH, outW } = p;
  // one chunk per output channel, each summed in the same order on any thread; threaded only when
  // gy is already in shared memory (a BufferArena's) and large enough to pay
  if (n * cOut * outH * outW >= BIAS_MIN && threadedOnShared(cOut, gy)) {
    const out = sharedOutput('conv2d.gb', gb, cOut);
    parallelFor('conv2d.bias', [out, gy, p], cOut);
    finishOutput(gb, out);
    return;
  }
  for (let o = 0; o < cOut; o++) biasChannel(gb, gy, p, o);
}

/** gy elements from which conv2dBackwardBias splits its channels across threads. */
const BIAS_MIN = 1 << 16;

registerTask('conv2d.bias', (a, o) => biasChannel(a[0], a[1], a[2] as Conv2dParams, o));

// gb[o] = Σ gy[i, o, :, :], images in order, each plane in order, in float64
function biasChannel(gb: FloatArray, gy: FloatArray, p: Conv2dParams, o: number): void {
  const { n, cOut, outH, outW } = p;
  const P = outH * outW;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const off = (i * cOut + o) * P;
    for (let q = 0; q < P; q++) s += gy[off + q]!;
  }
  gb[o] = s;
}

// ------------------------------------------------------ inference: conv2d + ReLU (+ max-pool)
//
// y = maxPool2d(relu(conv2d(x, w) + b)), or relu(conv2d(x, w) + b) when pool is null, image by
// image: each image's convolution is stored in the output's dtype (as conv2dForward stores it)
// and ReLU'd while it is still in cache; with a pool it goes to a per-thread scratch image and
// is pooled from there, so the full-size activation never goes out to memory. The per-image
// kernels are the ones an inference conv2dForward runs (Winograd F(6×6) where it pays), and ReLU
// and the pool those of the separate ops (for a float32 2×2 pool, reluMaxPool2dK2S2 does both on
// the bits, or F(6×6)'s output transform pools each tile with the same window code), so the
// values are those of the eager evaluation bit for bit. No argmax is kept: inference only.

// per-thread scratch image (each worker has its own module instance)
let fusedF32 = new Float32Array(0);
let fusedF64 = new Float64Array(0);

function fusedScratch(like: FloatArray, n: number): FloatArray {
  if (like instanceof Float32Array) {
    if (fusedF32.length < n) fusedF32 = new Float32Array(n);
    return fusedF32;
  }
  if (fusedF64.length < n) fusedF64 = new Float64Array(n);
  return fusedF64;
}

function fusedImage(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  u: Float64Array | null,
  wp: WinogradParams | null,
  b: FloatArray | null,
  p: Conv2dParams,
  pool: MaxPool2dParams | null,
  algo: ConvAlgorithm,
  i: number,
): void {
  const size = p.cOut * p.outH * p.outW;
  const pooled = pool === null ? 0 : p.cOut * pool.outH * pool.outW;
  if (algo === 'winograd6' && pool !== null && y instanceof Float32Array && isK2S2(pool)) {
    // ReLU and the pool inside the output transform, tile by tile
    winograd6ForwardImage(y, x, u!, b, wp!, i, i * pooled, pool);
    return;
  }
  const dst = pool === null ? y : fusedScratch(y, size);
  const off = pool === null ? i * size : 0;
  if (algo === 'direct' && pool === null) {
    directImage(dst, x, w, b, p, i, off, true);
    return;
  }
  if (algo === 'direct') directImage(dst, x, w, b, p, i, off);
  else if (algo === 'winograd') winogradForwardImage(dst, x, u!, b, wp!, i, off);
  else if (algo === 'winograd6') winograd6ForwardImage(dst, x, u!, b, wp!, i, off, null);
  else forwardImage(dst, x, w, b, p, i, off);
  if (pool === null) {
    reluRange(dst, dst, off, off + size);
    return;
  }
  const yi = y.subarray(i * pooled, (i + 1) * pooled);
  if (dst instanceof Float32Array && yi instanceof Float32Array) {
    if (reluMaxPool2dK2S2(yi, dst, pool, 0, p.cOut)) return;
  }
  reluRange(dst, dst, 0, size);
  maxPool2dForwardPlanes(yi, dst, pool, 0, p.cOut);
}

registerTask('conv2d.fused', (a, i) => {
  const p = a[6] as Conv2dParams;
  if (a[8] === 'im2col' && !isPointwise(p)) buildMaps(p);
  fusedImage(a[0], a[1], a[2], a[3], a[4], a[5], p, a[7], a[8], i);
});

/**
 * y = maxPool2d(relu(conv2d(x, w) + b), pool) for pool params of the convolution's output shape,
 * or y = relu(conv2d(x, w) + b) when pool is null; the same values as the three kernels in turn
 * (conv2dForward with `inference` set).
 * Images are split across threads.
 */
/**
 * A convolution weight that its holder promises not to change while it uses this object (an
 * inference plan's constant, nn/trace.ts): conv2dReluPoolForward's choice of algorithm for p and,
 * for Winograd, the transformed weight U (its own shared buffer, stamped once, so each thread's
 * asm.js heap keeps its copy) — made once instead of in every call.
 */
export interface FrozenConv {
  readonly w: FloatArray;
  readonly algo: ConvAlgorithm;
  readonly u: Float64Array | null;
}

export function freezeConvWeight(w: FloatArray, p: Conv2dParams): FrozenConv {
  return prepareConv(w, p, true);
}

// the inference algorithm for p and, for Winograd, U: in a fresh buffer, or in the shared scratch
// every unfrozen call rewrites
function prepareConv(w: FloatArray, p: Conv2dParams, fresh: boolean): FrozenConv {
  const algo = conv2dForwardAlgorithm(p, true);
  let u: Float64Array | null = null;
  if (algo === 'winograd') {
    u = winogradWeightScratch(fresh ? null : 'conv.u', p.cOut, p.cIn);
    winogradWeights(u, w, p.cOut, p.cIn, false);
  } else if (algo === 'winograd6') {
    u = winograd6WeightScratch(fresh ? null : 'conv.u6', p.cOut, p.cIn);
    winograd6Weights(u, w, p.cOut, p.cIn);
  }
  return { w, algo, u };
}

export function conv2dReluPoolForward(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  p: Conv2dParams,
  pool: MaxPool2dParams | null,
  frozen: FrozenConv | null = null,
): void {
  if (frozen !== null && frozen.w !== w) {
    throw new Error('conv2dReluPool: the frozen weight given is not this weight');
  }
  if (
    pool !== null &&
    (pool.n !== p.n || pool.c !== p.cOut || pool.h !== p.outH || pool.w !== p.outW)
  ) {
    throw new Error(
      `conv2dReluPool: max-pool input [${pool.n}, ${pool.c}, ${pool.h}, ${pool.w}] is not the convolution's output [${p.n}, ${p.cOut}, ${p.outH}, ${p.outW}]`,
    );
  }
  const { algo, u } = frozen ?? prepareConv(w, p, false);
  const wp = algo === 'winograd' || algo === 'winograd6' ? winoParams(p) : null;
  if (threadsFor(p.n) <= 1) {
    if (algo === 'im2col' && !isPointwise(p)) buildMaps(p);
    for (let i = 0; i < p.n; i++) fusedImage(y, x, w, u, wp, b, p, pool, algo, i);
    return;
  }
  const ySize = p.n * p.cOut * (pool === null ? p.outH * p.outW : pool.outH * pool.outW);
  const ys = sharedOutput('conv.y', y, ySize);
  const xs = sharedInput('conv.x', x, p.n * p.cIn * p.h * p.w);
  parallelFor('conv2d.fused', [ys, xs, w, u, wp, b, p, pool, algo], p.n);
  finishOutput(y, ys);
}

// ------------------------------------------------------------------------------- references
// Direct loops over (n, cOut, oh, ow, c, u, v), straight from the definition.

/** Reference for `conv2dForward`. */
export function conv2dForwardNaive(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  p: Conv2dParams,
): void {
  const { n, cIn, h, cOut, kh, kw, groups, outH, outW } = p;
  const W = p.w;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const circ = p.paddingMode === 'circular';
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < cOut; o++) {
      const g = Math.floor(o / cOutG);
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let s = b === null ? 0 : b[o]!;
          for (let c = 0; c < cInG; c++) {
            for (let u = 0; u < kh; u++) {
              const ih = srcIndex(oh, u, p.strideH, p.padH, p.dilH, h, circ);
              if (ih < 0) continue;
              for (let v = 0; v < kw; v++) {
                const iw = srcIndex(ow, v, p.strideW, p.padW, p.dilW, W, circ);
                if (iw < 0) continue;
                s +=
                  x[((i * cIn + g * cInG + c) * h + ih) * W + iw]! *
                  w[((o * cInG + c) * kh + u) * kw + v]!;
              }
            }
          }
          y[((i * cOut + o) * outH + oh) * outW + ow] = s;
        }
      }
    }
  }
}

/** Reference for `conv2dBackwardInput`. */
export function conv2dBackwardInputNaive(
  gx: FloatArray,
  gy: FloatArray,
  w: FloatArray,
  p: Conv2dParams,
): void {
  const { n, cIn, h, cOut, kh, kw, groups, outH, outW } = p;
  const W = p.w;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const circ = p.paddingMode === 'circular';
  gx.fill(0, 0, n * cIn * h * W);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < cOut; o++) {
      const g = Math.floor(o / cOutG);
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const gv = gy[((i * cOut + o) * outH + oh) * outW + ow]!;
          for (let c = 0; c < cInG; c++) {
            for (let u = 0; u < kh; u++) {
              const ih = srcIndex(oh, u, p.strideH, p.padH, p.dilH, h, circ);
              if (ih < 0) continue;
              for (let v = 0; v < kw; v++) {
                const iw = srcIndex(ow, v, p.strideW, p.padW, p.dilW, W, circ);
                if (iw < 0) continue;
                gx[((i * cIn + g * cInG + c) * h + ih) * W + iw] +=
                  gv * w[((o * cInG + c) * kh + u) * kw + v]!;
              }
            }
          }
        }
      }
    }
  }
}

/** Reference for `conv2dBackwardWeight`. */
export function conv2dBackwardWeightNaive(
  gw: FloatArray,
  gy: FloatArray,
  x: FloatArray,
  p: Conv2dParams,
): void {
  const { n, cIn, h, cOut, kh, kw, groups, outH, outW } = p;
  const W = p.w;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const circ = p.paddingMode === 'circular';
  for (let o = 0; o < cOut; o++) {
    const g = Math.floor(o / cOutG);
    for (let c = 0; c < cInG; c++) {
      for (let u = 0; u < kh; u++) {
        for (let v = 0; v < kw; v++) {
          let s = 0;
          for (let i = 0; i < n; i++) {
            for (let oh = 0; oh < outH; oh++) {
              const ih = srcIndex(oh, u, p.strideH, p.padH, p.dilH, h, circ);
              if (ih < 0) continue;
              for (let ow = 0; ow < outW; ow++) {
                const iw = srcIndex(ow, v, p.strideW, p.padW, p.dilW, W, circ);
                if (iw < 0) continue;
                s +=
                  gy[((i * cOut + o) * outH + oh) * outW + ow]! *
                  x[((i * cIn + g * cInG + c) * h + ih) * W + iw]!;
              }
            }
          }
          gw[((o * cInG + c) * kh + u) * kw + v] = s;
        }
      }
    }
  }
}

/** Reference for `conv2dBackwardBias`: gb[o] = Σ over images and positions of gy, in order. */
export function conv2dBackwardBiasNaive(gb: FloatArray, gy: FloatArray, p: Conv2dParams): void {
  const P = p.outH * p.outW;
  for (let o = 0; o < p.cOut; o++) {
    let s = 0;
    for (let i = 0; i < p.n; i++) for (let q = 0; q < P; q++) s += gy[(i * p.cOut + o) * P + q]!;
    gb[o] = s;
  }
}
