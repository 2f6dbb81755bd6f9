// Winograd F(6×6, 3×3) forward, for inference: 3×3, stride-1, dilation-1, groups-1, zero-padded
// conv2d, as winograd.ts's F(4×4, 3×3) but with 8×8 input tiles and 6×6 output tiles:
//   Y = Aᵀ [ Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A,
// interpolation points 0, ±1, ±2, ±1/2, ∞ (Lavin & Gray 2015; the matrices are written out beside
// bt8, gColumn8 and outputColumn). 64 multiplies per 36 outputs instead of F(4×4)'s 36 per 16: 21 %
// fewer in the 64 channel-sum GEMMs that dominate the layer. Transforms and sums are float64, the
// only float32 rounding is the final store, so the outputs are those of F(4×4) and of the direct
// convolution except where the exact value lies within ~1e-14 of a float32 rounding boundary.
//
// Only the forward: training keeps F(4×4), whose backward passes reuse the forward's tiling, so
// a training run's numbers do not depend on this kernel. conv2dForward picks it for a forward
// that no backward follows when its tile count makes it cheaper (winograd6Cheaper).
//
// The GEMM micro-tile is MR×NR = 2×4 (8 accumulators): the MNIST net's 24×24 output is 16 tiles,
// which 4-wide tile panels cover exactly, and its 64 output channels need no padding. 2×4 runs
// 0.81–0.88× the time of the 3×4 tile used until session 15 (12 accumulators, 64 channels padded
// to 66) on one image's GEMMs (bench/trials/f6rows.ts): the 12-accumulator tile spills.
// Packed layouts (float64):
//   U  [64][Mo/2 panels][Ki][2]     transformed weights, rows = output channels
//   V  [64][TB/4 panels][Ki][4]     transformed input tiles of one tile block
//   M  [64][OB][TB]                 GEMM result for OB output channels, then their output transform
// (each ξ plane of V and M padded by one cache line; see vStep). As in winograd.ts, a U buffer from
// `winograd6WeightScratch` ends in a stamp, and with the asm.js micro-kernels each thread works in
// its asm.js heap ([U | V | M | scratch]), copying U once per stamp; there the input transform
// (asm.ts input8, on a copy of the image) and the pooled output transform (pooled6) run in
// asm.js too, with the same arithmetic as inputTile8 and pooledTransform below.
//
// With `pool` (a float32 2×2 / stride 2 max-pool of the convolution's ReLU), each 6×6 output tile
// is stored to a float32 scratch tile and its nine 2×2 windows go through pool.ts's reluMaxBits:
// the values conv2dForward, reluForward and maxPool2dForward give, bit for bit, without the
// full-size activation.

import type { FloatArray } from './types.ts';
import { ceilTo } from './util.ts';
import {
  finishOutput,
  parallelFor,
  registerTask,
  sharedF64,
  sharedInput,
  sharedOutput,
  threadsFor,
} from './parallel.ts';
import { reluMaxBits } from './pool.ts';
import { StampedScratch, asmOn, stamp, type AsmHeap } from './asm.ts';
import type { WinogradParams } from './winograd.ts';

const MR = 2;
const NR = 4;
const XI = 64; // positions ξ of the 8×8 tiles
const TB_MAX = 64; // most tiles per block
const OB = 16; // output channels per GEMM + output-transform block (multiple of MR)

/** Multiply count of F(6×6) (tiles rounded to NR, channels to MR) over F(4×4)'s (to 3 and 4). */
export function winograd6Cheaper(mo: number, outH: number, outW: number): boolean {
  const t4 = ceilTo(Math.ceil(outH / 4) * Math.ceil(outW / 4), 3);
  const t6 = ceilTo(Math.ceil(outH / 6) * Math.ceil(outW / 6), NR);
  return t6 * XI * ceilTo(mo, MR) < t4 * 36 * ceilTo(mo, 4);
}

/** U scratch in shared memory (read by every worker), reused per `slot`; a fresh buffer for null. */
export function winograd6WeightScratch(slot: string | null, mo: number, ki: number): Float64Array {
  const n = XI * ceilTo(mo, MR) * ki + 1;
  return slot === null ? new Float64Array(new SharedArrayBuffer(8 * n)) : sharedF64(slot, n);
}

/** Transformed, packed weights U = G g Gᵀ (8×8, layout above) of w [mo, ki, 3, 3]. */
export function winograd6Weights(u: Float64Array, w: FloatArray, mo: number, ki: number): void {
  const step = ceilTo(mo, MR) * ki; // one ξ
  u.fill(0, 0, XI * step);
  const t = new Float64Array(24);
  for (let m = 0; m < mo; m++) {
    for (let q = 0; q < ki; q++) {
      const base = (m * ki + q) * 9;
      // t = G g (8×3)
      for (let v = 0; v < 3; v++)
        gColumn8(w[base + v]!, w[base + 3 + v]!, w[base + 6 + v]!, t, v, 3);
      // U = (G g) Gᵀ: G applied to each row of t, ξ = 8r + c
      const dst = (Math.floor(m / MR) * ki + q) * MR + (m % MR);
      for (let r = 0; r < 8; r++) {
        gColumn8(t[r * 3]!, t[r * 3 + 1]!, t[r * 3 + 2]!, u, 8 * r * step + dst, step);
      }
    }
  }
  stamp(u, XI * step);
}

// G (g0, g1, g2)ᵀ written to dst[o], dst[o + s], …, dst[o + 7s]. G rows: [1 0 0],
// [−2/9 −2/9 −2/9], [−2/9 2/9 −2/9], [1/90 1/45 2/45], [1/90 −1/45 2/45], [32/45 16/45 8/45],
// [32/45 −16/45 8/45], [0 0 1].
// prettier-ignore
function gColumn8(g0: number, g1: number, g2: number, dst: Float64Array, o: number, s: number): void {
  const even = g0 + g2;
  dst[o] = g0;
  dst[o + s] = (-2 / 9) * (even + g1);
  dst[o + 2 * s] = (-2 / 9) * (even - g1);
  const e3 = g0 / 90 + (2 / 45) * g2, f3 = g1 / 45;
  dst[o + 3 * s] = e3 + f3;
  dst[o + 4 * s] = e3 - f3;
  const e5 = (32 / 45) * g0 + (8 / 45) * g2, f5 = (16 / 45) * g1;
  dst[o + 5 * s] = e5 + f5;
  dst[o + 6 * s] = e5 - f5;
  dst[o + 7 * s] = g2;
}

// Bᵀ (d0 … d7)ᵀ written to dst[o], dst[o + s], …, dst[o + 7s]. Bᵀ rows:
// [1 0 −21/4 0 21/4 0 −1 0], [0 1 1 −17/4 −17/4 1 1 0], [0 −1 1 17/4 −17/4 −1 1 0],
// [0 1/2 1/4 −5/2 −5/4 2 1 0], [0 −1/2 1/4 5/2 −5/4 −2 1 0], [0 2 4 −5/2 −5 1/2 1 0],
// [0 −2 4 5/2 −5 −1/2 1 0], [0 −1 0 21/4 0 −21/4 0 1].
// prettier-ignore
function bt8(
  d0: number, d1: number, d2: number, d3: number,
  d4: number, d5: number, d6: number, d7: number,
  dst: Float64Array, o: number, s: number,
): void {
  dst[o] = d0 - d6 + 5.25 * (d4 - d2);
  dst[o + 7 * s] = d7 - d1 + 5.25 * (d3 - d5);
  let e = d2 + d6 - 4.25 * d4, f = d1 + d5 - 4.25 * d3;
  dst[o + s] = e + f;
  dst[o + 2 * s] = e - f;
  e = d6 + 0.25 * d2 - 1.25 * d4;
  f = 0.5 * d1 - 2.5 * d3 + 2 * d5;
  dst[o + 3 * s] = e + f;
  dst[o + 4 * s] = e - f;
  e = d6 + 4 * d2 - 5 * d4;
  f = 2 * d1 - 2.5 * d3 + 0.5 * d5;
  dst[o + 5 * s] = e + f;
  dst[o + 6 * s] = e - f;
}

const tile8 = new Float64Array(64);
const tile8b = new Float64Array(64);

// Bᵀ d B of the 8×8 tile of plane x[xo ..] (h×w) whose top-left is (r0, c0), zeros outside;
// written to dst[ξ·step + off], ξ = 8i + j.
function inputTile8(
  x: FloatArray,
  xo: number,
  h: number,
  w: number,
  r0: number,
  c0: number,
  dst: Float64Array,
  off: number,
  step: number,
): void {
  const d = tile8;
  if (r0 >= 0 && c0 >= 0 && r0 + 8 <= h && c0 + 8 <= w) {
    for (let i = 0, s = xo + r0 * w + c0; i < 8; i++, s += w) {
      const b = 8 * i;
      for (let j = 0; j < 8; j++) d[b + j] = x[s + j]!;
    }
  } else {
    for (let i = 0; i < 8; i++) {
      const r = r0 + i;
      const inRow = r >= 0 && r < h;
      for (let j = 0; j < 8; j++) {
        const cc = c0 + j;
        d[8 * i + j] = inRow && cc >= 0 && cc < w ? x[xo + r * w + cc]! : 0;
      }
    }
  }
  const t = tile8b;
  for (let j = 0; j < 8; j++) {
    // prettier-ignore
    bt8(d[j]!, d[8 + j]!, d[16 + j]!, d[24 + j]!, d[32 + j]!, d[40 + j]!, d[48 + j]!, d[56 + j]!, t, j, 8);
  }
  for (let i = 0; i < 8; i++) {
    const b = 8 * i;
    // prettier-ignore
    bt8(t[b]!, t[b + 1]!, t[b + 2]!, t[b + 3]!, t[b + 4]!, t[b + 5]!, t[b + 6]!, t[b + 7]!,
      dst, off + b * step, step);
  }
}

// prettier-ignore
// C[2,4] at c[ci + i·ldc + j] = Σ_p ap[ai + 2p + i]·bp[bi + 4p + j]
function micro24(
  kc: number, ap: Float64Array, ai: number, bp: Float64Array, bi: number,
  c: Float64Array, ci: number, ldc: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ai]!, a1 = ap[ai + 1]!;
    const b0 = bp[bi]!, b1 = bp[bi + 1]!, b2 = bp[bi + 2]!, b3 = bp[bi + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    ai += 2;
    bi += 4;
  }
  const r1 = ci + ldc;
  c[ci] = c00; c[ci + 1] = c01; c[ci + 2] = c02; c[ci + 3] = c03;
  c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13;
}

// Per-thread scratch (each worker has its own module instance).
const heap = new StampedScratch();

/** Tiles per block: all of an image's tiles when they fit TB_MAX, else equal blocks. */
function tileBlock(T: number): number {
  return ceilTo(Math.ceil(T / Math.ceil(T / TB_MAX)), NR);
}

/** Pooled output of {@link winograd6ForwardImage}: a float32 [mo, outH/2, outW/2] per image. */
export interface Winograd6Pool {
  outH: number;
  outW: number;
}

/**
 * Image `img` of y = conv(x, U) (+ b), F(6×6, 3×3), written at y[yImg …] ([mo, outH, outW]); or,
 * with `pool`, maxPool2d(relu(·)) with kernel 2 / stride 2 written at y[yImg …] ([mo, pool.outH,
 * pool.outW], pool.outH ≤ outH/2, float32 y only).
 */
export function winograd6ForwardImage(
  y: FloatArray,
  x: FloatArray,
  u: Float64Array,
  b: FloatArray | null,
  p: WinogradParams,
  img: number,
  yImg: number,
  pool: Winograd6Pool | null,
): void {
  const { ki, h, w, mo, padH, padW } = p;
  if (
    pool !== null &&
    (!(y instanceof Float32Array) || 2 * pool.outH > p.outH || 2 * pool.outW > p.outW)
  ) {
    throw new Error(
      `winograd6: a pooled output needs float32 and at most [${p.outH >> 1}, ${p.outW >> 1}] windows, got ${y.constructor.name} [${pool.outH}, ${pool.outW}]`,
    );
  }
  const tw = Math.ceil(p.outW / 6);
  const T = Math.ceil(p.outH / 6) * tw;
  const TB = tileBlock(T);
  const moP = ceilTo(mo, MR);
  const uStep = moP * ki; // one ξ of U
  // one ξ of V, plus a cache line: the transform writes all 64 ξ of a tile, and at a power-of-two
  // stride (16 tiles × 32 channels × 8 bytes) they would all fall in one L1 set
  const vStep = TB * ki + 8;
  const mStep = Math.min(OB, moP) * TB + 8; // one ξ of M (padded like V's)
  // V and M in scratch (with asm.js: in the heap after U, at vOff and mOff)
  // with asm.js and a pool, the pooled transform's scratch after M: bias (OB), S (48), the
  // float32 tile (18 doubles), the pooled planes of OB channels (int32)
  const pScratch = pool !== null ? OB + 48 + 18 + Math.ceil((OB * pool.outH * pool.outW) / 2) : 0;
  const hw = h * w;
  // with asm.js and a float32 input, the image's planes after that, and the input transform's
  // scratch (64 doubles)
  const inAsm = asmOn && inputOn && x instanceof Float32Array;
  const xScratch = inAsm ? 64 + Math.ceil((ki * hw) / 2) : 0;
  // the tiles this call computes, in order, then those whose outputs it reuses (see `uniform`)
  const tiles = tileList(2 * T);
  let nCalc = 0;
  let nReused = 0;
  let seed = -1;
  const reuse =
    reuseOn &&
    x instanceof Float32Array &&
    y instanceof Float32Array &&
    (b === null || b instanceof Float32Array) &&
    uniform.prepare(u, XI * uStep, b, p, pool, tw);
  const xb = reuse ? bitsOf(x) : null;
  // every tile's window inside the image (no zero padding to read)
  const allInside = padH === 0 && padW === 0 && 6 * (T / tw - 1) + 8 <= h && 6 * (tw - 1) + 8 <= w;
  const xImg = img * ki * hw;
  for (let tt = 0; tt < T; tt++) {
    if (xb !== null && interiorTile(tt, tw, p, pool) && uniform.window(xb, xImg, tt)) {
      if (uniform.valid && uniform.same()) {
        tiles[T + nReused++] = tt;
        continue;
      }
      if (!uniform.valid && seed < 0) {
        seed = tt;
        uniform.keep();
      }
    }
    tiles[nCalc++] = tt;
  }
  // the heap after M: the pooled transform's scratch, the tile list (int32), the input
  // transform's scratch and the image (float32)
  const mapDoubles = Math.ceil(T / 2);
  const { hp, V, M, vOff, mOff, lOff } = heap.take(
    u,
    XI * uStep,
    XI * vStep,
    XI * mStep,
    pScratch + mapDoubles + xScratch,
  );
  const map = 2 * (lOff + pScratch); // int32 index of the tile list in the heap
  const sIn = lOff + pScratch + mapDoubles; // the input transform's scratch (doubles)
  const xIn = 2 * (sIn + 64);
  if (hp) hp.i32.set(tiles.subarray(0, nCalc), map);
  if (hp && inAsm) hp.f32.set((x as Float32Array).subarray(xImg, xImg + ki * hw), xIn);
  for (let t0 = 0; t0 < nCalc; t0 += TB) {
    const tb = Math.min(TB, nCalc - t0);
    const tbP = ceilTo(tb, NR);
    // a last panel of one to three tiles goes through a narrower kernel (asm.js panel22, panel23)
    const rest = tb % NR;
    const npFull = tb >> 2;
    // input transform: V[ξ][t/4][c][t%4] (with asm.js, of the tiles inside the image)
    if (hp && inAsm) hp.k.input8(xIn, ki, h, w, tb, map + t0, tw, padH, padW, vOff, vStep, sIn);
    // with asm.js the GEMMs never read the padded columns (panel22 / panel23 take a short last
    // panel), so this loop has nothing left to do when every tile lies inside the image
    for (let c = 0; c < (hp && inAsm && allInside ? 0 : ki); c++) {
      const xo = xImg + c * hw;
      for (let t = 0; t < tb; t++) {
        const tt = tiles[t0 + t]!;
        const ty = Math.floor(tt / tw);
        const tx = tt - ty * tw;
        const r0 = 6 * ty - padH;
        const c0 = 6 * tx - padW;
        if (hp && inAsm && r0 >= 0 && c0 >= 0 && r0 + 8 <= h && c0 + 8 <= w) continue;
        const off = (Math.floor(t / NR) * ki + c) * NR + (t % NR);
        inputTile8(x, xo, h, w, r0, c0, V, off, vStep);
      }
      for (let t = tb; t < tbP; t++) {
        const off = (Math.floor(t / NR) * ki + c) * NR + (t % NR);
        for (let xi = 0; xi < XI; xi++) V[xi * vStep + off] = 0;
      }
    }
    // per block of OB output channels: 64 GEMMs M[ξ][o][t] = Σ_c U[ξ][o][c] · V[ξ][c][t], then
    // Aᵀ M A (+ bias), pooled or not
    for (let ob = 0; ob < moP; ob += OB) {
      const obEnd = Math.min(ob + OB, moP);
      for (let xi = 0; xi < XI; xi++) {
        if (hp) {
          const mp = (obEnd - ob) / MR;
          const ua = xi * uStep + ob * ki;
          const vb = vOff + xi * vStep;
          const mc = mOff + xi * mStep;
          hp.k.panels24(ki, mp, npFull, ua, MR * ki, vb, NR * ki, mc, TB);
          const vr = vb + npFull * NR * ki;
          if (rest === 3) hp.k.panel23(ki, mp, ua, MR * ki, vr, mc + npFull * NR, TB);
          else if (rest > 0) hp.k.panel22(ki, mp, ua, MR * ki, vr, mc + npFull * NR, TB);
          continue;
        }
        for (let tp = 0; tp < tbP; tp += NR) {
          const bi = xi * vStep + tp * ki;
          for (let op = ob; op < obEnd; op += MR) {
            micro24(ki, u, xi * uStep + op * ki, V, bi, M, xi * mStep + (op - ob) * TB + tp, TB);
          }
        }
      }
      const o1 = Math.min(obEnd, mo);
      // prettier-ignore
      if (pool === null) outputTransform(y, M, b, mStep, TB, tb, tiles, t0, tw, yImg, p, ob, o1);
      else if (!(
        hp &&
        pooledOn &&
        pooledAsm(hp, y as Float32Array, mOff, lOff, b, mStep, TB, tb, tiles, t0, map,
          tb === nCalc, tw, yImg, pool, ob, o1)
      ))
        pooledTransform(y as Float32Array, M, b, mStep, TB, tb, tiles, t0, tw, yImg, pool, ob, o1);
    }
  }
  if (nReused > 0) uniform.put(y as Float32Array, yImg, tiles.subarray(T, T + nReused));
  if (seed >= 0) uniform.take(y as Float32Array, yImg, seed);
}

// ---------------------------------------------------------------- uniform tiles, reused
//
// A tile whose 8×8 input window lies inside the image and holds one value per channel (the
// background of an MNIST image through conv1 and ReLU: about 2 of conv2's 16 tiles per test
// image, bench/trials/uniform.ts) gets outputs that depend only on those values, U and the bias:
// its input transform reads just them, each GEMM column sums its own tile in the same order in
// whatever panel it sits, and the output transform and pool work tile by tile. So each thread
// keeps the outputs of one such tile (the first it computes for a U stamp, bias and pool) and
// writes them, the same bits, for every later tile with the same channel values instead of
// transforming and multiplying it again; the remaining tiles are compacted into the GEMM's
// panels, a last panel of one to three tiles taking a narrower kernel (asm.js panel22, panel23),
// so that the saving is not lost to a padded column.

let tileScratch = new Int32Array(0);
let bitsView: Int32Array<ArrayBufferLike> = new Int32Array(0);

/** x's bits (a view kept while x stays the same array). */
function bitsOf(x: Float32Array): Int32Array {
  if (
    bitsView.buffer !== x.buffer ||
    bitsView.byteOffset !== x.byteOffset ||
    bitsView.length !== x.length
  ) {
    bitsView = new Int32Array(x.buffer, x.byteOffset, x.length);
  }
  return bitsView;
}

function tileList(n: number): Int32Array {
  if (tileScratch.length < n) tileScratch = new Int32Array(n);
  return tileScratch;
}

/** Whether tile tt's input window is inside the image and all its outputs (and windows) exist. */
function interiorTile(tt: number, tw: number, p: WinogradParams, pool: Winograd6Pool | null) {
  const ty = Math.floor(tt / tw);
  const tx = tt - ty * tw;
  const r0 = 6 * ty - p.padH;
  const c0 = 6 * tx - p.padW;
  if (r0 < 0 || c0 < 0 || r0 + 8 > p.h || c0 + 8 > p.w) return false;
  if (6 * ty + 6 > p.outH || 6 * tx + 6 > p.outW) return false;
  return pool === null || (3 * ty + 3 <= pool.outH && 3 * tx + 3 <= pool.outW);
}

/** One thread's kept uniform tile: its key (U stamp, bias, pool, channel values) and outputs. */
class UniformTile {
  /** whether `out` holds the outputs of a tile with `key` under the current U, bias and pool */
  valid = false;
  private stamp = NaN;
  private bias = new Int32Array(0);
  private hasBias = false;
  private pH = -1; // −1: no pool
  private pW = -1;
  private key = new Int32Array(0); // the kept tile's channel values (float32 bits)
  private cand = new Int32Array(0); // the last window's (uniform.window)
  private out = new Int32Array(0); // per output channel: the tile's 3×3 pooled or 6×6 outputs
  // the current call's geometry (set by prepare)
  private p!: WinogradParams;
  private pool: Winograd6Pool | null = null;
  private tw = 0;
  reuses = 0;

  /** Starts an image (geometry p, pool, tw tiles per row): keeps the stored tile only if U's
   * stamp, the bias and the pool are those it was computed with. False when U carries no stamp
   * (nothing can be kept). */
  prepare(
    u: Float64Array,
    n: number,
    b: Float32Array | null,
    p: WinogradParams,
    pool: Winograd6Pool | null,
    tw: number,
  ): boolean {
    if (u.length <= n) return false;
    const { ki, mo } = p;
    this.p = p;
    this.pool = pool;
    this.tw = tw;
    const s = u[n]!;
    const pH = pool === null ? -1 : pool.outH;
    const pW = pool === null ? -1 : pool.outW;
    let same =
      s === this.stamp && pH === this.pH && pW === this.pW && (b !== null) === this.hasBias;
    if (same && b !== null) {
      const bb = new Int32Array(b.buffer, b.byteOffset, mo);
      for (let o = 0; o < mo && same; o++) same = bb[o] === this.bias[o];
    }
    if (same) return true;
    this.valid = false;
    this.stamp = s;
    this.pH = pH;
    this.pW = pW;
    this.hasBias = b !== null;
    if (this.bias.length < mo) this.bias = new Int32Array(mo);
    if (b !== null) this.bias.set(new Int32Array(b.buffer, b.byteOffset, mo));
    if (this.key.length !== ki) {
      this.key = new Int32Array(ki);
      this.cand = new Int32Array(ki);
    }
    const side = pool === null ? 6 : 3;
    if (this.out.length < mo * side * side) this.out = new Int32Array(mo * side * side);
    return true;
  }

  /** Whether tile tt's window holds one finite value per channel (kept as the candidate). */
  window(xb: Int32Array, xImg: number, tt: number): boolean {
    const { p, tw } = this;
    const { ki, h, w } = p;
    const ty = Math.floor(tt / tw);
    const o0 = xImg + (6 * ty - p.padH) * w + 6 * (tt - ty * tw) - p.padW;
    const hw = h * w;
    // first the corners and a middle value of every channel (most windows of a digit differ
    // there), then every value
    for (let c = 0, o = o0; c < ki; c++, o += hw) {
      const v = xb[o]!;
      if ((v & 0x7f800000) === 0x7f800000) return false;
      if (xb[o + 7] !== v || xb[o + 7 * w] !== v || xb[o + 7 * w + 7] !== v) return false;
      if (xb[o + 4 * w + 3] !== v) return false;
      this.cand[c] = v;
    }
    for (let c = 0, o = o0; c < ki; c++, o += hw) {
      const v = this.cand[c]!;
      for (let i = 0, r = o; i < 8; i++, r += w) {
        for (let j = 0; j < 8; j++) if (xb[r + j] !== v) return false;
      }
    }
    return true;
  }

  /** Whether the candidate's values are the kept tile's. */
  same(): boolean {
    const { key, cand } = this;
    for (let c = 0; c < key.length; c++) if (key[c] !== cand[c]) return false;
    return true;
  }

  /** The candidate becomes the tile to keep (its outputs taken by `take`). */
  keep(): void {
    this.key.set(this.cand);
  }

  /** Keeps tile tt's outputs from y (unless one is NaN: a NaN's bits need not repeat). */
  take(y: Float32Array, yImg: number, tt: number): void {
    this.copy(y, yImg, tt, false);
    const side = this.pool === null ? 6 : 3;
    const n = this.p.mo * side * side;
    for (let k = 0; k < n; k++) if ((this.out[k]! & 0x7fffffff) > 0x7f800000) return;
    this.valid = true;
  }

  /** Writes the kept outputs at each of `tiles`. */
  put(y: Float32Array, yImg: number, tiles: Int32Array): void {
    for (let k = 0; k < tiles.length; k++) this.copy(y, yImg, tiles[k]!, true);
    this.reuses += tiles.length;
  }

  private copy(y: Float32Array, yImg: number, tt: number, toY: boolean): void {
    const { p, pool, tw } = this;
    const yb = new Int32Array(y.buffer, y.byteOffset, y.length);
    const side = pool === null ? 6 : 3;
    const H = pool === null ? p.outH : pool.outH;
    const W = pool === null ? p.outW : pool.outW;
    const ty = Math.floor(tt / tw);
    const base = yImg + side * ty * W + side * (tt - ty * tw);
    const out = this.out;
    for (let o = 0, k = 0; o < p.mo; o++) {
      for (let r = 0; r < side; r++) {
        const yr = base + o * H * W + r * W;
        for (let c = 0; c < side; c++, k++) {
          if (toY) yb[yr + c] = out[k]!;
          else out[k] = yb[yr + c]!;
        }
      }
    }
  }
}

const uniform = new UniformTile();
let reuseOn = true;

/**
 * Turn the reuse of uniform tiles' outputs off or on in this thread (tests and benchmarks
 * compare the two; the bits are the same).
 */
export function setUniformTileReuse(on: boolean): void {
  reuseOn = on;
}

/** Tiles whose outputs this thread has written from a kept uniform tile so far. */
export function uniformTileReuses(): number {
  return uniform.reuses;
}

let pooledOn = true;
let inputOn = true;

/**
 * Turn the asm.js input and pooled output transforms off or on in this thread (benchmarks
 * compare them; the GEMMs stay with `setAsm`).
 */
export function setTransformsAsm(on: boolean): void {
  pooledOn = on;
  inputOn = on;
}

/**
 * pooledTransform in asm.js (asm.ts pooled6: the same sums in the same order, the same window
 * code on the bits), M in the heap at mOff, scratch at sOff. Returns false, having stored
 * nothing, when a window holds a NaN: the JavaScript path then does the block.
 */
function pooledAsm(
  hp: AsmHeap,
  y: Float32Array,
  mOff: number,
  sOff: number,
  b: FloatArray | null,
  mStep: number,
  TB: number,
  tb: number,
  tiles: Int32Array,
  t0: number,
  map: number,
  single: boolean,
  tw: number,
  yImg: number,
  pool: Winograd6Pool,
  o0: number,
  o1: number,
): boolean {
  const nO = o1 - o0;
  const H = hp.f64;
  for (let o = 0; o < nO; o++) H[sOff + o] = b === null ? 0 : b[o0 + o]!;
  const sS = sOff + OB;
  const ot = 2 * (sS + 48); // float32 elements
  const out = ot + 36; // int32 elements
  const pH = pool.outH;
  const pW = pool.outW;
  const plane = pH * pW;
  if (hp.k.pooled6(nO, tb, mOff, mStep, TB, sOff, out, sS, ot, map + t0, tw, pH, pW) !== 0) {
    return false;
  }
  const bits = hp.i32;
  const yb = new Int32Array(y.buffer, y.byteOffset, y.length);
  if (single) {
    // every window of these channels came from this block, or is written afterwards from a kept
    // uniform tile: one copy
    yb.set(bits.subarray(out, out + nO * plane), yImg + o0 * plane);
    return true;
  }
  // else only this block's windows (the others are stale)
  for (let o = 0; o < nO; o++) {
    const yo = yImg + (o0 + o) * plane;
    const src = out + o * plane;
    for (let t = 0; t < tb; t++) {
      const tt = tiles[t0 + t]!;
      const ty = Math.floor(tt / tw);
      const tx = tt - ty * tw;
      const prs = Math.min(3, pH - 3 * ty);
      const pcs = Math.min(3, pW - 3 * tx);
      for (let pr = 0; pr < prs; pr++) {
        const k = (3 * ty + pr) * pW + 3 * tx;
        for (let pc = 0; pc < pcs; pc++) yb[yo + k + pc] = bits[src + k + pc]!;
      }
    }
  }
  return true;
}

const cols8 = new Float64Array(48); // S = Aᵀ M, 6×8
const outTile = new Float32Array(36);
const outBits = new Int32Array(outTile.buffer);

// S = Aᵀ M (6×8) of tile column q of M's block, column by column. Aᵀ rows: [1 1 1 1 1 1 1 0],
// [0 1 −1 2 −2 1/2 −1/2 0], [0 1 1 4 4 1/4 1/4 0], [0 1 −1 8 −8 1/8 −1/8 0],
// [0 1 1 16 16 1/16 1/16 0], [0 1 −1 32 −32 1/32 −1/32 1].
function leftTransform(M: Float64Array, q: number, mStep: number, S: Float64Array): void {
  for (let j = 0; j < 8; j++) {
    const c0 = q + j * mStep;
    const s8 = 8 * mStep;
    outputColumn(
      M[c0]!,
      M[c0 + s8]!,
      M[c0 + 2 * s8]!,
      M[c0 + 3 * s8]!,
      M[c0 + 4 * s8]!,
      M[c0 + 5 * s8]!,
      M[c0 + 6 * s8]!,
      M[c0 + 7 * s8]!,
      S,
      j,
      8,
    );
  }
}

// Aᵀ (m0 … m7)ᵀ written to dst[o], dst[o + s], …, dst[o + 5s]
// prettier-ignore
function outputColumn(
  m0: number, m1: number, m2: number, m3: number,
  m4: number, m5: number, m6: number, m7: number,
  dst: Float64Array, o: number, s: number,
): void {
  const a = m1 + m2, d = m1 - m2, c = m3 + m4, e = m3 - m4, f = m5 + m6, g = m5 - m6;
  dst[o] = m0 + a + c + f;
  dst[o + s] = d + 2 * e + 0.5 * g;
  dst[o + 2 * s] = a + 4 * c + 0.25 * f;
  dst[o + 3 * s] = d + 8 * e + 0.125 * g;
  dst[o + 4 * s] = a + 16 * c + 0.0625 * f;
  dst[o + 5 * s] = d + 32 * e + 0.03125 * g + m7;
}

// Y = S A (+ bias) for output channels o0 … o1 − 1 of a block of tiles, valid outputs only.
function outputTransform(
  y: FloatArray,
  M: Float64Array,
  b: FloatArray | null,
  mStep: number,
  TB: number,
  tb: number,
  tiles: Int32Array,
  t0: number,
  tw: number,
  yImg: number,
  p: WinogradParams,
  o0: number,
  o1: number,
): void {
  const { outH, outW } = p;
  const S = cols8;
  const row = outRow;
  for (let o = o0; o < o1; o++) {
    const bias = b === null ? 0 : b[o]!;
    const yo = yImg + o * outH * outW;
    for (let t = 0; t < tb; t++) {
      const tt = tiles[t0 + t]!;
      const ty = Math.floor(tt / tw);
      const tx = tt - ty * tw;
      leftTransform(M, (o - o0) * TB + t, mStep, S);
      const oh = 6 * ty;
      const ow = 6 * tx;
      const rows = Math.min(6, outH - oh);
      const cols = Math.min(6, outW - ow);
      for (let i = 0; i < rows; i++) {
        const r = 8 * i;
        const yr = yo + (oh + i) * outW + ow;
        if (cols === 6) {
          // Y row i = S row i · A, as outputColumn
          const m1 = S[r + 1]!,
            m2 = S[r + 2]!,
            m3 = S[r + 3]!,
            m4 = S[r + 4]!;
          const m5 = S[r + 5]!,
            m6 = S[r + 6]!;
          const a = m1 + m2,
            d = m1 - m2,
            c = m3 + m4,
            e = m3 - m4,
            f = m5 + m6,
            g = m5 - m6;
          y[yr] = S[r]! + a + c + f + bias;
          y[yr + 1] = d + 2 * e + 0.5 * g + bias;
          y[yr + 2] = a + 4 * c + 0.25 * f + bias;
          y[yr + 3] = d + 8 * e + 0.125 * g + bias;
          y[yr + 4] = a + 16 * c + 0.0625 * f + bias;
          y[yr + 5] = d + 32 * e + 0.03125 * g + S[r + 7]! + bias;
          continue;
        }
        // prettier-ignore
        outputColumn(S[r]!, S[r + 1]!, S[r + 2]!, S[r + 3]!, S[r + 4]!, S[r + 5]!, S[r + 6]!, S[r + 7]!, row, 0, 1);
        for (let j = 0; j < cols; j++) y[yr + j] = row[j]! + bias;
      }
    }
  }
}

const outRow = new Float64Array(6);

// As outputTransform, then ReLU and the 2×2 / stride-2 max-pool of each tile, into the pooled y.
function pooledTransform(
  y: Float32Array,
  M: Float64Array,
  b: FloatArray | null,
  mStep: number,
  TB: number,
  tb: number,
  tiles: Int32Array,
  t0: number,
  tw: number,
  yImg: number,
  pool: Winograd6Pool,
  o0: number,
  o1: number,
): void {
  const yb = new Int32Array(y.buffer, y.byteOffset, y.length);
  const S = cols8;
  const ot = outTile;
  const bits = outBits;
  const pH = pool.outH;
  const pW = pool.outW;
  for (let o = o0; o < o1; o++) {
    const bias = b === null ? 0 : b[o]!;
    const yo = yImg + o * pH * pW;
    for (let t = 0; t < tb; t++) {
      const tt = tiles[t0 + t]!;
      const ty = Math.floor(tt / tw);
      const tx = tt - ty * tw;
      // the tile's pooled rows and columns: windows inside both the tile and the pool's output
      const prs = Math.min(3, pH - 3 * ty);
      const pcs = Math.min(3, pW - 3 * tx);
      if (prs <= 0 || pcs <= 0) continue;
      leftTransform(M, (o - o0) * TB + t, mStep, S);
      // rows of Y = S A (+ bias) with the float32 stores conv2dForward makes (columns past the
      // output's edge are computed from the zero padding and never pooled). outputTransform's
      // formulas written out again: one helper storing to y, this tile and a float64 row ran the
      // pooled forward 1.18× slower (its stores see three array kinds)
      for (let i = 0, r = 0, q = 0; i < 2 * prs; i++, r += 8, q += 6) {
        const m1 = S[r + 1]!,
          m2 = S[r + 2]!,
          m3 = S[r + 3]!,
          m4 = S[r + 4]!;
        const m5 = S[r + 5]!,
          m6 = S[r + 6]!;
        const a = m1 + m2,
          d = m1 - m2,
          c = m3 + m4,
          e = m3 - m4,
          f = m5 + m6,
          g = m5 - m6;
        ot[q] = S[r]! + a + c + f + bias;
        ot[q + 1] = d + 2 * e + 0.5 * g + bias;
        ot[q + 2] = a + 4 * c + 0.25 * f + bias;
        ot[q + 3] = d + 8 * e + 0.125 * g + bias;
        ot[q + 4] = a + 16 * c + 0.0625 * f + bias;
        ot[q + 5] = d + 32 * e + 0.03125 * g + S[r + 7]! + bias;
      }
      for (let pr = 0; pr < prs; pr++) {
        const w0 = 12 * pr;
        const yr = yo + (3 * ty + pr) * pW + 3 * tx;
        for (let pc = 0; pc < pcs; pc++) {
          const k = w0 + 2 * pc;
          yb[yr + pc] = reluMaxBits(bits[k]!, bits[k + 1]!, bits[k + 6]!, bits[k + 7]!);
        }
      }
    }
  }
}

registerTask('winograd6.forward', (a, img) => {
  const p = a[4] as WinogradParams;
  winograd6ForwardImage(a[0], a[1], a[2], a[3], p, img, img * p.mo * p.outH * p.outW, null);
});

/**
 * y [n, mo, outH, outW] = conv(x [n, ki, h, w], kernel) + b with F(6×6, 3×3), the kernel given as
 * packed U (`winograd6Weights`). Images are split across threads.
 */
export function winograd6Forward(
  y: FloatArray,
  x: FloatArray,
  u: Float64Array,
  b: FloatArray | null,
  p: WinogradParams,
): void {
  const size = p.mo * p.outH * p.outW;
  if (threadsFor(p.n) <= 1) {
    for (let i = 0; i < p.n; i++) winograd6ForwardImage(y, x, u, b, p, i, i * size, null);
    return;
  }
  const ys = sharedOutput('wino.y', y, p.n * size);
  const xs = sharedInput('wino.x', x, p.n * p.ki * p.h * p.w);
  parallelFor('winograd6.forward', [ys, xs, u, b, p], p.n);
  finishOutput(y, ys);
}
