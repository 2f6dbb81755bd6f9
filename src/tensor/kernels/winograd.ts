// Winograd F(4×4, 3×3) convolution for 3×3, stride-1, dilation-1, groups-1, zero-padded conv2d.
//
// Each 4×4 output tile comes from a 6×6 input tile d (rows 4ty − pad …, columns 4tx − pad …):
//   Y = Aᵀ [ Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
// with the interpolation points 0, ±1, ±2, ∞ (Lavin & Gray 2015; the matrices are written out
// beside the functions that apply them: bt6, gColumn, the output transform, a6, gtColumn). The
// channel sum becomes 36 independent GEMMs (one per position ξ of the 6×6 tile),
//   M_ξ[o, t] = Σ_c U_ξ[o, c] · V_ξ[c, t],
// with 36 multiplies per 16 outputs instead of 144 (4× fewer; F(2×2, 3×3) saves 2.25×). The
// larger tile amplifies rounding (entries up to 8 in Aᵀ, 1/24 in G), so all transforms and sums
// are in float64 (tested against the direct float64 convolution to 1e-12 relative), and the only
// float32 rounding is the final store.
//
// Backward-input is the same forward pass on gy with the kernel flipped and in/out channels
// swapped (a full correlation, padding 2 − pad). Backward-weight uses the adjoint:
//   gw_{o,c} = Gᵀ [ Σ_t (A gy_{o,t} Aᵀ) ⊙ (Bᵀ d_{c,t} B) ] G,
// 36 GEMMs that reduce over tiles. Its batch is cut into fixed chunks of images (independent of
// the thread count); each chunk sums into its own float64 partial and the partials are added in
// chunk order, so the result is bit-identical for any number of threads.
//
// Packed layouts (float64), MR×NR = 4×3 micro-tiles like gemm.ts:
//   U  [36][Mo/4 panels][Ki][4]     transformed weights, rows = output channels
//   V  [36][TB/3 panels][Ki][3]     transformed input tiles of one tile block (forward)
//   M  [36][OB][TB]                 GEMM result for OB output channels of the block, then their
//                                   output transform (M stays in cache; OB = MoP took ~3 % longer)
// Forward chunks are single images (outputs are disjoint); a block holds all of an image's tiles
// when there are few enough of them (TB_MAX, TILE_CHANNELS_MAX). A U buffer from
// `winogradWeightScratch` has one more element, a stamp (asm.ts): with the asm.js micro-kernels
// each thread copies U, V and M into its asm.js heap ([U | V | M]), and U only once per stamp, i.e.
// once per transform of the weights.

import type { FloatArray } from './types.ts';
import { ceilTo } from './util.ts';
import { AsmScratch, StampedScratch, asmOn, stamp } from './asm.ts';
import {
  finishOutput,
  parallelFor,
  registerTask,
  sharedF64,
  sharedInput,
  sharedOutput,
  threadsFor,
} from './parallel.ts';

const MR = 4;
const NR = 3;
const TB_MAX = 64; // most tiles per block in the forward pass
// most tiles × input channels per forward block: V is then at most 36 × 1728 × 8 B = 498 KB, about
// one core's L2. Backward-input on the MNIST net (64 channels, 49 tiles) took 196 ms per batch with
// one block of 51 tiles (940 KB of V) and 158 ms with two of 27 (the sums are over channels, so
// blocking tiles changes no bit)
const TILE_CHANNELS_MAX = 1728;
const OB = 8; // output channels per GEMM + output-transform block (multiple of MR): its M stays in L1/L2
const XI = 36; // positions ξ of the forward pass's 6×6 tiles
const TBW = 96; // tiles per block in backward-weight (the GEMM depth)

/** Sizes of one Winograd convolution: x [n, ki, h, w] * kernel [mo, ki, 3, 3] → y [n, mo, outH, outW]. */
export interface WinogradParams {
  n: number;
  ki: number;
  h: number;
  w: number;
  mo: number;
  padH: number;
  padW: number;
  outH: number;
  outW: number;
  /**
   * The kernel operand (U, or x in backward-weight) is known finite, so the GEMMs may leave out
   * the terms of all-zero tiles (asm.js `panelsIdx`): the same bits, less work on sparse inputs
   * such as conv2's output gradient. Set by conv2d.ts from `winogradWeights`' answer.
   */
  skipZeros?: boolean;
}

/**
 * Transformed, packed weights U = G g Gᵀ (6×6, layout above) for kernels g[m][q] (m < mo, q < ki):
 * g = w[m, q] (forward, w [mo, ki, 3, 3]) or, with `flip`, g = rot180(w[q, m]) (backward-input,
 * w [ki, mo, 3, 3] in the original conv's layout). Returns whether U is finite (the params'
 * `skipZeros`).
 */
export function winogradWeights(
  u: Float64Array,
  w: FloatArray,
  mo: number,
  ki: number,
  flip: boolean,
): boolean {
  const panels = ceilTo(mo, MR) / MR;
  const step = panels * MR * ki; // one ξ
  u.fill(0, 0, XI * step);
  const t = new Float64Array(18);
  for (let m = 0; m < mo; m++) {
    for (let q = 0; q < ki; q++) {
      const base = flip ? (q * mo + m) * 9 : (m * ki + q) * 9;
      // t = G g (6×3); g read flipped for the backward-input kernel
      for (let v = 0; v < 3; v++) {
        const g0 = w[flip ? base + 8 - v : base + v]!;
        const g1 = w[flip ? base + 5 - v : base + 3 + v]!;
        const g2 = w[flip ? base + 2 - v : base + 6 + v]!;
        gColumn(g0, g1, g2, t, v, 3);
      }
      // U = (G g) Gᵀ: G applied to each row of t, ξ = 6r + c
      const dst = (Math.floor(m / MR) * ki + q) * MR + (m % MR);
      for (let r = 0; r < 6; r++) {
        gColumn(t[r * 3]!, t[r * 3 + 1]!, t[r * 3 + 2]!, u, 6 * r * step + dst, step);
      }
    }
  }
  stamp(u, XI * step);
  return allFinite(u, XI * step);
}

/** Whether a[0, n) holds no NaN and no ±Inf. */
function allFinite(a: FloatArray, n: number, from = 0): boolean {
  let s = 0;
  for (let i = from; i < n; i++) s += a[i]! * 0; // NaN iff some a[i] is NaN or ±Inf
  return s === 0;
}

// G (g0, g1, g2)ᵀ for F(4×4, 3×3), written to dst[o], dst[o + s], …, dst[o + 5s].
function gColumn(
  g0: number,
  g1: number,
  g2: number,
  dst: Float64Array,
  o: number,
  s: number,
): void {
  const even = g0 + g2;
  dst[o] = g0 / 4;
  dst[o + s] = -(even + g1) / 6;
  dst[o + 2 * s] = -(even - g1) / 6;
  const e = g0 / 24 + g2 / 6;
  dst[o + 3 * s] = e + g1 / 12;
  dst[o + 4 * s] = e - g1 / 12;
  dst[o + 5 * s] = g2;
}

// prettier-ignore
// C[4,3] at c[ci + i·ldc + j] (+)= Σ_p ap[ai + 4p + i]·bp[bi + 3p + j]
function micro(
  kc: number, ap: Float64Array, ai: number, bp: Float64Array, bi: number,
  c: Float64Array, ci: number, ldc: number, acc: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0;
  let c10 = 0, c11 = 0, c12 = 0;
  let c20 = 0, c21 = 0, c22 = 0;
  let c30 = 0, c31 = 0, c32 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ai]!, a1 = ap[ai + 1]!, a2 = ap[ai + 2]!, a3 = ap[ai + 3]!;
    const b0 = bp[bi]!, b1 = bp[bi + 1]!, b2 = bp[bi + 2]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2;
    ai += 4;
    bi += 3;
  }
  const r1 = ci + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
  if (acc) {
    c[ci] += c00; c[ci + 1] += c01; c[ci + 2] += c02;
    c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12;
    c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22;
    c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32;
  } else {
    c[ci] = c00; c[ci + 1] = c01; c[ci + 2] = c02;
    c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12;
    c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22;
    c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32;
  }
}

// Per-thread scratch (each worker has its own module instance).
const fwdHeap = new StampedScratch();
const weightHeap = new AsmScratch();
let vBuf: Float64Array = new Float64Array(1024);
let wBuf: Float64Array = new Float64Array(1024);

function grow(a: Float64Array, n: number): Float64Array {
  return a.length >= n ? a : new Float64Array(n);
}

// Bᵀ d B of the 6×6 tile of plane x[xo ..] (h×w) whose top-left is (r0, c0), zeros outside;
// written to dst[ξ·step + off], ξ = 6i + j. Bᵀ rows: [4 0 −5 0 1 0], [0 −4 −4 1 1 0],
// [0 4 −4 −1 1 0], [0 −2 −1 2 1 0], [0 2 −1 −2 1 0], [0 4 0 −5 0 1]. Returns false for a tile
// of zeros (its transform is all ±0).
function inputTile6(
  x: FloatArray,
  xo: number,
  h: number,
  w: number,
  r0: number,
  c0: number,
  dst: Float64Array,
  off: number,
  step: number,
): boolean {
  const d = tile6;
  let nz = false;
  if (r0 >= 0 && c0 >= 0 && r0 + 6 <= h && c0 + 6 <= w) {
    for (let i = 0, s = xo + r0 * w + c0; i < 6; i++, s += w) {
      const b = 6 * i;
      const v0 = x[s]!,
        v1 = x[s + 1]!,
        v2 = x[s + 2]!,
        v3 = x[s + 3]!,
        v4 = x[s + 4]!,
        v5 = x[s + 5]!;
      d[b] = v0;
      d[b + 1] = v1;
      d[b + 2] = v2;
      d[b + 3] = v3;
      d[b + 4] = v4;
      d[b + 5] = v5;
      nz ||= v0 !== 0 || v1 !== 0 || v2 !== 0 || v3 !== 0 || v4 !== 0 || v5 !== 0;
    }
    if (!nz && skipZeroTiles) {
      zeroTile(dst, off, step);
      return false;
    }
  } else {
    for (let i = 0; i < 6; i++) {
      const r = r0 + i;
      const inRow = r >= 0 && r < h;
      for (let j = 0; j < 6; j++) {
        const cc = c0 + j;
        const v = inRow && cc >= 0 && cc < w ? x[xo + r * w + cc]! : 0;
        d[6 * i + j] = v;
        nz ||= v !== 0;
      }
    }
    if (!nz && skipZeroTiles) {
      zeroTile(dst, off, step);
      return false;
    }
  }
  const t = tile6b;
  for (let j = 0; j < 6; j++)
    bt6(d[j]!, d[6 + j]!, d[12 + j]!, d[18 + j]!, d[24 + j]!, d[30 + j]!, t, j, 6);
  for (let i = 0; i < 6; i++) {
    const b = 6 * i;
    bt6(t[b]!, t[b + 1]!, t[b + 2]!, t[b + 3]!, t[b + 4]!, t[b + 5]!, dst, off + b * step, step);
  }
  return nz;
}

// Bᵀ (d0 … d5)ᵀ written to dst[o], dst[o + s], …, dst[o + 5s].
// prettier-ignore
function bt6(
  d0: number, d1: number, d2: number, d3: number, d4: number, d5: number,
  dst: Float64Array, o: number, s: number,
): void {
  const p = d4 - 4 * d2, q = d3 - 4 * d1;
  const r = d4 - d2, u = 2 * (d3 - d1);
  dst[o] = 4 * d0 - 5 * d2 + d4;
  dst[o + s] = p + q;
  dst[o + 2 * s] = p - q;
  dst[o + 3 * s] = r + u;
  dst[o + 4 * s] = r - u;
  dst[o + 5 * s] = 4 * d1 - 5 * d3 + d5;
}

// A tile of ±0 (common: conv2's output gradient is 88–97 % zeros, a quarter of its channels
// dropped whole) transforms to ±0: stored as +0 without the arithmetic. The sign of a zero term
// changes no sum these tiles enter (each starts at +0, and +0 + −0 = +0), and 0·Inf is NaN for
// either sign.
let skipZeroTiles = true;

/**
 * Turn the zero-tile shortcuts (transforms stored as +0, GEMMs over lists of non-zero tiles) off
 * or on in this thread (tests compare the bits of the two).
 */
export function setZeroTileSkip(on: boolean): void {
  skipZeroTiles = on;
}

function zeroTile(dst: Float64Array, off: number, step: number): void {
  for (let xi = 0, o = off; xi < 36; xi++, o += step) dst[o] = 0;
}

const tile6 = new Float64Array(36);
const tile6b = new Float64Array(36);
const out6 = new Float64Array(24);

/** Tiles per forward block: all of an image's tiles when they fit the limits, else equal blocks. */
function forwardBlock(T: number, ki: number): number {
  const most = Math.max(NR, Math.min(TB_MAX, Math.floor(TILE_CHANNELS_MAX / ki)));
  return ceilTo(Math.ceil(T / Math.ceil(T / most)), NR);
}

/** Forward on image `img`: y[yImg …] = conv(x[img], U) (+ b), F(4×4, 3×3). */
export function winogradForwardImage(
  y: FloatArray,
  x: FloatArray,
  u: Float64Array,
  b: FloatArray | null,
  p: WinogradParams,
  img: number,
  yImg: number,
): void {
  const { ki, h, w, mo, padH, padW, outH, outW } = p;
  const tw = Math.ceil(outW / 4);
  const T = Math.ceil(outH / 4) * tw;
  const TB = forwardBlock(T, ki);
  const moP = ceilTo(mo, MR);
  const uStep = moP * ki; // one ξ of U
  const vStep = TB * ki; // one ξ of V (TB/3 panels × ki × 3)
  const mStep = Math.min(OB, moP) * TB; // one ξ of M (one block of output channels)
  // with skipZeros: per tile panel, the channels whose tiles are not all zero (int32 lists after
  // M in the heap: TB/3 lists of ki, then their lengths)
  const lists = listsOn(p) ? (TB / NR) * (ki + 1) : 0;
  // V and M in scratch (with asm.js: in the heap after U, at vOff and mOff)
  const { hp, V, M, vOff, mOff, lOff } = fwdHeap.take(
    u,
    XI * uStep,
    XI * vStep,
    XI * mStep,
    Math.ceil(lists / 2),
  );
  const hw = h * w;
  const P = outH * outW;
  const xImg = img * ki * hw;
  const nzt = lists > 0 ? nzFlags(ki * TB) : null; // nzt[t·ki + c]: tile t of channel c ≠ 0
  for (let t0 = 0; t0 < T; t0 += TB) {
    const tb = Math.min(TB, T - t0);
    const tbP = ceilTo(tb, NR);
    // input transform: V[ξ][t/3][c][t%3]
    for (let c = 0; c < ki; c++) {
      const xo = xImg + c * hw;
      for (let t = 0; t < tb; t++) {
        const tt = t0 + t;
        const ty = Math.floor(tt / tw);
        const tx = tt - ty * tw;
        const off = (Math.floor(t / NR) * ki + c) * NR + (t % NR);
        const nz = inputTile6(x, xo, h, w, 4 * ty - padH, 4 * tx - padW, V, off, vStep);
        if (nzt) nzt[t * ki + c] = nz ? 1 : 0;
      }
      for (let t = tb; t < tbP; t++) {
        const off = (Math.floor(t / NR) * ki + c) * NR + (t % NR);
        for (let xi = 0; xi < XI; xi++) V[xi * vStep + off] = 0;
        if (nzt) nzt[t * ki + c] = 0;
      }
    }
    // the GEMMs over listed channels only, when that leaves out enough of them
    const cnt = 2 * lOff + (TB / NR) * ki;
    const listed = nzt ? panelLists(hp!.i32, 2 * lOff, cnt, nzt, tbP / NR, ki) : 0;
    const sparse = nzt !== null && listed <= LIST_MAX * (tbP / NR) * ki;
    if (sparse) listedBlocks++;
    // per block of OB output channels (so that block's M stays in cache for its output
    // transform): 36 GEMMs M[ξ][o][t] = Σ_c U[ξ][o][c] · V[ξ][c][t], then Aᵀ M A (+ bias)
    for (let ob = 0; ob < moP; ob += OB) {
      const obEnd = Math.min(ob + OB, moP);
      for (let xi = 0; xi < XI; xi++) {
        if (hp && sparse) {
          // prettier-ignore
          hp.k.panelsIdx((obEnd - ob) / MR, tbP / NR, xi * uStep + ob * ki, MR * ki,
            vOff + xi * vStep, NR * ki, mOff + xi * mStep, TB, 0, 2 * lOff, ki, cnt, 0);
          continue;
        }
        if (hp) {
          // prettier-ignore
          hp.k.panels(ki, (obEnd - ob) / MR, tbP / NR, xi * uStep + ob * ki, MR * ki,
            vOff + xi * vStep, NR * ki, mOff + xi * mStep, TB, 0);
          continue;
        }
        for (let tp = 0; tp < tbP; tp += NR) {
          const bi = xi * vStep + tp * ki;
          for (let op = ob; op < obEnd; op += MR) {
            micro(
              ki,
              u,
              xi * uStep + op * ki,
              V,
              bi,
              M,
              xi * mStep + (op - ob) * TB + tp,
              TB,
              false,
            );
          }
        }
      }
      outputTransform(y, M, b, mStep, TB, tb, t0, tw, yImg, P, outH, outW, ob, Math.min(obEnd, mo));
    }
  }
}

// ------------------------------------------------------------- GEMMs over non-zero tiles
//
// conv2's output gradient is 88 % (initial weights) to 97 % (trained) zeros, so most of the tiles
// that backward-input and backward-weight transform are zero (on the trained net: 77 % of
// backward-input's 6×6 windows per channel, 81 % of backward-weight's 4×4 tiles). A zero tile's
// transform is zero, and leaving its terms out of a GEMM's sums keeps every bit when the other
// factor is finite (asm.ts panelsIdx), so the GEMMs run over lists of the non-zero ones: per tile
// panel the channels with a non-zero tile (forward / backward-input), per channel panel the tiles
// with a non-zero gradient (backward-weight).

/**
 * Lists are used when they keep at most this share of the terms, else the dense GEMM: a term
 * costs 1.07–1.23× as much through a list (its index is loaded), and a list of 80 % of the terms
 * took 0.89–0.92× the dense time (`runs/trials/idxcost.ts`, one thread).
 */
const LIST_MAX = 0.85;

let zeroLists = true;
let listedBlocks = 0;

/** Tile blocks whose GEMMs ran over lists in this thread so far (tests check the path ran). */
export function zeroListBlocks(): number {
  return listedBlocks;
}

/** Turn the GEMMs' lists of non-zero tiles off or on in this thread (benchmarks, tests). */
export function setZeroTileLists(on: boolean): void {
  zeroLists = on;
}

// asm.js heaps only (the plain-JavaScript GEMMs stay dense), only with a finite kernel; off with
// setZeroTileLists(false) or with the transforms' shortcut (setZeroTileSkip(false))
const listsOn = (p: WinogradParams): boolean =>
  asmOn && zeroLists && skipZeroTiles && p.skipZeros === true;

let nzBuf = new Uint8Array(0);
function nzFlags(n: number): Uint8Array {
  if (nzBuf.length < n) nzBuf = new Uint8Array(n);
  return nzBuf;
}

/**
 * For each of `panels` panels of NR tiles: the channels c < ki (ascending) where one of the
 * panel's tiles is non-zero (nzt[t·ki + c]), written to I32[lst + j·ki …], and their count to
 * I32[cnt + j]. Returns the total count.
 */
function panelLists(
  i32: Int32Array,
  lst: number,
  cnt: number,
  nzt: Uint8Array,
  panels: number,
  ki: number,
): number {
  let total = 0;
  for (let j = 0; j < panels; j++) {
    const f0 = NR * j * ki;
    let k = lst + j * ki;
    for (let c = 0; c < ki; c++) {
      i32[k] = c;
      k += nzt[f0 + c]! | nzt[f0 + ki + c]! | nzt[f0 + 2 * ki + c]!; // NR = 3
    }
    const n = k - (lst + j * ki);
    i32[cnt + j] = n;
    total += n;
  }
  return total;
}

/**
 * For each of `panels` panels of MR channels: the tiles t < tb (ascending) where one of the
 * panel's channels has a non-zero tile (nzt[o·TBW + t]), written to I32[lst + i·TBW …], and their
 * count to I32[cnt + i]. Returns the total count.
 */
function tileLists(
  i32: Int32Array,
  lst: number,
  cnt: number,
  nzt: Uint8Array,
  panels: number,
  tb: number,
): number {
  let total = 0;
  for (let i = 0; i < panels; i++) {
    const f0 = MR * i * TBW;
    let k = lst + i * TBW;
    for (let t = 0; t < tb; t++) {
      i32[k] = t;
      k += nzt[f0 + t]! | nzt[f0 + TBW + t]! | nzt[f0 + 2 * TBW + t]! | nzt[f0 + 3 * TBW + t]!; // MR = 4
    }
    const n = k - (lst + i * TBW);
    i32[cnt + i] = n;
    total += n;
  }
  return total;
}

// Aᵀ M A (+ bias) for output channels o0 … o1 − 1 of a block of tiles (M rows relative to o0),
// valid outputs only. Aᵀ rows: [1 1 1 1 1 0], [0 1 −1 2 −2 0], [0 1 1 4 4 0], [0 1 −1 8 −8 1].
function outputTransform(
  y: FloatArray,
  M: Float64Array,
  b: FloatArray | null,
  mStep: number,
  TB: number,
  tb: number,
  t0: number,
  tw: number,
  yImg: number,
  P: number,
  outH: number,
  outW: number,
  o0: number,
  o1: number,
): void {
  const S = out6;
  for (let o = o0; o < o1; o++) {
    const bias = b === null ? 0 : b[o]!;
    const yo = yImg + o * P;
    for (let t = 0; t < tb; t++) {
      const tt = t0 + t;
      const ty = Math.floor(tt / tw);
      const tx = tt - ty * tw;
      const q = (o - o0) * TB + t;
      // S = Aᵀ M (4×6), column by column
      for (let j = 0; j < 6; j++) {
        const c0 = q + j * mStep;
        const m0 = M[c0]!;
        const m1 = M[c0 + 6 * mStep]!;
        const m2 = M[c0 + 12 * mStep]!;
        const m3 = M[c0 + 18 * mStep]!;
        const m4 = M[c0 + 24 * mStep]!;
        const m5 = M[c0 + 30 * mStep]!;
        const a = m1 + m2,
          d = m1 - m2,
          e = m3 + m4,
          f = m3 - m4;
        S[j] = m0 + a + e;
        S[6 + j] = d + 2 * f;
        S[12 + j] = a + 4 * e;
        S[18 + j] = d + 8 * f + m5;
      }
      // Y = S A, row by row, clipped to the output
      const oh = 4 * ty;
      const ow = 4 * tx;
      const rows = Math.min(4, outH - oh);
      const cols = Math.min(4, outW - ow);
      for (let i = 0; i < rows; i++) {
        const r = 6 * i;
        const m0 = S[r]!,
          m1 = S[r + 1]!,
          m2 = S[r + 2]!,
          m3 = S[r + 3]!,
          m4 = S[r + 4]!;
        const m5 = S[r + 5]!;
        const a = m1 + m2,
          d = m1 - m2,
          e = m3 + m4,
          f = m3 - m4;
        const yr = yo + (oh + i) * outW + ow;
        y[yr] = m0 + a + e + bias;
        if (cols > 1) y[yr + 1] = d + 2 * f + bias;
        if (cols > 2) y[yr + 2] = a + 4 * e + bias;
        if (cols > 3) y[yr + 3] = d + 8 * f + m5 + bias;
      }
    }
  }
}

registerTask('winograd.forward', (a, img) => {
  const p = a[4] as WinogradParams;
  winogradForwardImage(a[0], a[1], a[2], a[3], p, img, img * p.mo * p.outH * p.outW);
});

/**
 * y [n, mo, outH, outW] = conv(x [n, ki, h, w], kernel) + b, kernel given as packed U
 * (`winogradWeights`). Images are split across threads.
 */
export function winogradForward(
  y: FloatArray,
  x: FloatArray,
  u: Float64Array,
  b: FloatArray | null,
  p: WinogradParams,
): void {
  const ySize = p.n * p.mo * p.outH * p.outW;
  if (threadsFor(p.n) <= 1) {
    for (let i = 0; i < p.n; i++)
      winogradForwardImage(y, x, u, b, p, i, i * p.mo * p.outH * p.outW);
    return;
  }
  const ys = sharedOutput('wino.y', y, ySize);
  const xs = sharedInput('wino.x', x, p.n * p.ki * p.h * p.w);
  parallelFor('winograd.forward', [ys, xs, u, b, p], p.n);
  finishOutput(y, ys);
}

/** U scratch in shared memory (read by every worker), reused per `slot`; a fresh buffer for null. */
export function winogradWeightScratch(slot: string | null, mo: number, ki: number): Float64Array {
  const n = XI * ceilTo(mo, MR) * ki + 1;
  return slot === null ? new Float64Array(new SharedArrayBuffer(8 * n)) : sharedF64(slot, n);
}

// ------------------------------------------------------------------------- backward-weight

/** Fixed chunking of the batch for backward-weight (depends on n only). */
export function weightChunks(n: number): { per: number; count: number } {
  const count0 = Math.min(Math.ceil(n / 4), 16);
  const per = Math.max(1, Math.ceil(n / Math.max(count0, 1)));
  return { per, count: Math.ceil(n / per) };
}

// A g Aᵀ (4×4 → 6×6) of the gy tile (ty, tx) of plane gy[go ..] (outH×outW), zeros outside;
// written to dst[ξ·step + off]. A = (Aᵀ)ᵀ has rows [1 0 0 0], [1 1 1 1], [1 −1 1 −1], [1 2 4 8],
// [1 −2 4 −8], [0 0 0 1]. Returns false for a tile of zeros (its transform is all ±0).
function gradTile6(
  gy: FloatArray,
  go: number,
  outH: number,
  outW: number,
  ty: number,
  tx: number,
  dst: Float64Array,
  off: number,
  step: number,
): boolean {
  const oh = 4 * ty;
  const ow = 4 * tx;
  const g = tile16;
  let nz = false;
  if (oh + 4 <= outH && ow + 4 <= outW) {
    for (let i = 0, r = go + oh * outW + ow; i < 4; i++, r += outW) {
      const v0 = gy[r]!,
        v1 = gy[r + 1]!,
        v2 = gy[r + 2]!,
        v3 = gy[r + 3]!;
      g[4 * i] = v0;
      g[4 * i + 1] = v1;
      g[4 * i + 2] = v2;
      g[4 * i + 3] = v3;
      nz ||= v0 !== 0 || v1 !== 0 || v2 !== 0 || v3 !== 0;
    }
    if (!nz && skipZeroTiles) {
      zeroTile(dst, off, step);
      return false;
    }
  } else {
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const v = oh + i < outH && ow + j < outW ? gy[go + (oh + i) * outW + ow + j]! : 0;
        g[4 * i + j] = v;
        nz ||= v !== 0;
      }
    }
  }
  const t = tile6b; // A g: 6×4
  for (let j = 0; j < 4; j++) a6(g[j]!, g[4 + j]!, g[8 + j]!, g[12 + j]!, t, j, 4);
  for (let i = 0; i < 6; i++) {
    const r = 4 * i;
    a6(t[r]!, t[r + 1]!, t[r + 2]!, t[r + 3]!, dst, off + 6 * i * step, step);
  }
  return nz;
}

// A (g0 … g3)ᵀ written to dst[o], dst[o + s], …, dst[o + 5s].
// prettier-ignore
function a6(g0: number, g1: number, g2: number, g3: number, dst: Float64Array, o: number, s: number): void {
  const e = g0 + g2, f = g1 + g3;
  const e2 = g0 + 4 * g2, f2 = 2 * g1 + 8 * g3;
  dst[o] = g0;
  dst[o + s] = e + f;
  dst[o + 2 * s] = e - f;
  dst[o + 3 * s] = e2 + f2;
  dst[o + 4 * s] = e2 - f2;
  dst[o + 5 * s] = g3;
}

const tile16 = new Float64Array(16);

/**
 * Partial[ξ][moP][kiP] of chunk `chunk` (images [chunk·per, …)), written to part at chunk·size.
 * The chunk's tiles (all images, in order) are taken in blocks of TBW: the GEMM depth.
 */
function weightChunk(
  part: Float64Array,
  gy: FloatArray,
  x: FloatArray,
  p: WinogradParams,
  per: number,
  chunk: number,
): void {
  const { n, ki, h, w, mo, padH, padW, outH, outW } = p;
  const tw = Math.ceil(outW / 4);
  const T = Math.ceil(outH / 4) * tw;
  const moP = ceilTo(mo, MR);
  const kiP = ceilTo(ki, NR);
  const accStep = moP * kiP;
  const accOff = chunk * XI * accStep;
  // one ξ of the packed gy tiles ([moP/4][TBW][4]) and of the packed x tiles ([kiP/3][TBW][3]),
  // each plus a cache line: a tile's transform writes all 36 ξ, and at the unpadded strides
  // (48 KB and 24 KB on the MNIST net) they all fall in one L1 set (backward-weight took 1.15×
  // as long)
  const gStep = moP * TBW + 8;
  const vStep = kiP * TBW + 8;
  // with asm.js, G, V and the chunk's sums live in the heap: [G | V | acc]
  const vOff = XI * gStep;
  const aOff = vOff + XI * vStep;
  const hw = h * w;
  const img0 = chunk * per;
  const imgEnd = Math.min(n, img0 + per);
  // with skipZeros (and x finite): per panel of MR output channels, the tiles where one of their
  // gradient tiles is non-zero (int32 lists after the sums: moP/MR lists of TBW, then lengths)
  const lists =
    listsOn(p) && allFinite(x, imgEnd * ki * hw, img0 * ki * hw) ? (moP / MR) * (TBW + 1) : 0;
  const lOff = aOff + XI * accStep;
  const hp = asmOn ? weightHeap.get(lOff + Math.ceil(lists / 2)) : null;
  const nzt = lists > 0 ? nzFlags(moP * TBW) : null; // nzt[o·TBW + t]: gy tile t of channel o ≠ 0
  if (nzt) nzt.fill(0, 0, moP * TBW); // padded channels stay zero
  if (!hp) {
    wBuf = grow(wBuf, XI * gStep);
    vBuf = grow(vBuf, XI * vStep);
  }
  const G = hp ? hp.f64.subarray(0, vOff) : wBuf;
  const V = hp ? hp.f64.subarray(vOff, aOff) : vBuf;
  const acc = hp ? hp.f64.subarray(aOff, aOff + XI * accStep) : part;
  const acc0 = hp ? 0 : accOff;
  acc.fill(0, acc0, acc0 + XI * accStep);
  G.fill(0, 0, XI * gStep); // padded rows stay zero
  V.fill(0, 0, XI * vStep);
  const P = outH * outW;
  const total = (imgEnd - img0) * T;
  for (let t0 = 0; t0 < total; t0 += TBW) {
    const tb = Math.min(TBW, total - t0);
    for (let t = 0; t < tb; t++) {
      const k = t0 + t;
      const img = img0 + Math.floor(k / T);
      const tt = k % T;
      const ty = Math.floor(tt / tw);
      const tx = tt - ty * tw;
      for (let o = 0; o < mo; o++) {
        const base = Math.floor(o / MR) * TBW * MR + (o % MR) + t * MR;
        const nz = gradTile6(gy, (img * mo + o) * P, outH, outW, ty, tx, G, base, gStep);
        if (nzt) nzt[o * TBW + t] = nz ? 1 : 0;
      }
      for (let c = 0; c < ki; c++) {
        const base = Math.floor(c / NR) * TBW * NR + (c % NR) + t * NR;
        inputTile6(x, (img * ki + c) * hw, h, w, 4 * ty - padH, 4 * tx - padW, V, base, vStep);
      }
    }
    // acc[ξ][o][c] += Σ_t G[ξ][o][t] · V[ξ][c][t], over listed tiles only when that pays
    const lst = 2 * lOff;
    const cnt = lst + (moP / MR) * TBW;
    const listed = nzt ? tileLists(hp!.i32, lst, cnt, nzt, moP / MR, tb) : 0;
    const sparse = nzt !== null && listed <= LIST_MAX * (moP / MR) * tb;
    if (sparse) listedBlocks++;
    for (let xi = 0; xi < XI; xi++) {
      if (hp && sparse) {
        // prettier-ignore
        hp.k.panelsIdx(moP / MR, kiP / NR, xi * gStep, MR * TBW, vOff + xi * vStep, NR * TBW,
          aOff + xi * accStep, kiP, 1, lst, TBW, cnt, 1);
        continue;
      }
      if (hp) {
        // prettier-ignore
        hp.k.panels(tb, moP / MR, kiP / NR, xi * gStep, MR * TBW, vOff + xi * vStep, NR * TBW,
          aOff + xi * accStep, kiP, 1);
        continue;
      }
      for (let cp = 0; cp < kiP; cp += NR) {
        const bi = xi * vStep + cp * TBW;
        for (let op = 0; op < moP; op += MR) {
          // prettier-ignore
          micro(tb, G, xi * gStep + op * TBW, V, bi, part, accOff + xi * accStep + op * kiP + cp, kiP, true);
        }
      }
    }
  }
  if (hp) part.set(acc, accOff);
}

registerTask('winograd.weight', (a, chunk) => {
  weightChunk(a[0], a[1], a[2], a[3], a[4], chunk);
});

/** gw [mo, ki, 3, 3] = ∂(Σ y·gy)/∂kernel for gy [n, mo, outH, outW], x [n, ki, h, w]. */
export function winogradBackwardWeight(
  gw: FloatArray,
  gy: FloatArray,
  x: FloatArray,
  p: WinogradParams,
): void {
  const { n, ki, mo } = p;
  const moP = ceilTo(mo, MR);
  const kiP = ceilTo(ki, NR);
  const accStep = moP * kiP;
  const { per, count } = weightChunks(n);
  const part = sharedF64('wino.part', Math.max(count, 1) * XI * accStep);
  if (threadsFor(count) <= 1) {
    for (let c = 0; c < count; c++) weightChunk(part, gy, x, p, per, c);
  } else {
    const gys = sharedInput('wino.gy', gy, n * mo * p.outH * p.outW);
    const xs = sharedInput('wino.x', x, n * ki * p.h * p.w);
    parallelFor('winograd.weight', [part, gys, xs, p, per], count);
  }
  // sum chunk partials in chunk order into chunk 0's slot
  const total = XI * accStep;
  for (let c = 1; c < count; c++) {
    const off = c * total;
    for (let j = 0; j < total; j++) part[j] += part[off + j]!;
  }
  if (count === 0) part.fill(0, 0, total);
  // gw = Gᵀ acc G (3×6 · 6×6 · 6×3)
  const m = new Float64Array(36);
  const q = new Float64Array(18);
  for (let o = 0; o < mo; o++) {
    for (let c = 0; c < ki; c++) {
      for (let xi = 0; xi < XI; xi++) m[xi] = part[xi * accStep + o * kiP + c]!;
      // Gᵀ m: 3×6, column by column
      for (let j = 0; j < 6; j++) {
        gtColumn(m[j]!, m[6 + j]!, m[12 + j]!, m[18 + j]!, m[24 + j]!, m[30 + j]!, q, j, 6);
      }
      // (Gᵀ m) G: 3×3, row by row
      const dst = (o * ki + c) * 9;
      for (let i = 0; i < 3; i++) {
        const r = 6 * i;
        gtColumn(q[r]!, q[r + 1]!, q[r + 2]!, q[r + 3]!, q[r + 4]!, q[r + 5]!, gw, dst + 3 * i, 1);
      }
    }
  }
}

// Gᵀ (m0 … m5)ᵀ (3 values) written to dst[o], dst[o + s], dst[o + 2s].
// prettier-ignore
function gtColumn(
  m0: number, m1: number, m2: number, m3: number, m4: number, m5: number,
  dst: FloatArray | Float64Array, o: number, s: number,
): void {
  const a = m1 + m2, e = m3 + m4;
  dst[o] = m0 / 4 - a / 6 + e / 24;
  dst[o + s] = (m2 - m1) / 6 + (m3 - m4) / 12;
  dst[o + 2 * s] = (e - a) / 6 + m5;
}
