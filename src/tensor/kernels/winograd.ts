// Winograd F(2×2, 3×3) convolution for 3×3, stride-1, dilation-1, groups-1, zero-padded conv2d.
//
// Each 2×2 output tile comes from a 4×4 input tile d (rows 2ty − pad …, columns 2tx − pad …):
//   Y = Aᵀ [ Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]
// so the channel sum becomes 16 independent GEMMs (one per position ξ of the 4×4 tile),
//   M_ξ[o, t] = Σ_c U_ξ[o, c] · V_ξ[c, t],
// with 16 multiplies per tile instead of 36 (2.25× fewer). All transforms and sums are in
// float64 (the ½ factors are exact), so the only float32 rounding is the final store.
//
// Backward-input is the same forward pass on gy with the kernel flipped and in/out channels
// swapped (a full correlation, padding 2 − pad). Backward-weight uses the adjoint:
//   gw_{o,c} = Gᵀ [ Σ_t (A gy_{o,t} Aᵀ) ⊙ (Bᵀ d_{c,t} B) ] G,
// 16 GEMMs that reduce over tiles. Its batch is cut into fixed chunks of images (independent of
// the thread count); each chunk sums into its own float64 partial and the partials are added in
// chunk order, so the result is bit-identical for any number of threads.
//
// Packed layouts (float64), MR×NR = 4×3 micro-tiles like gemm.ts:
//   U  [16][Mo/4 panels][Ki][4]     transformed weights, rows = output channels
//   V  [16][TB/3 panels][Ki][3]     transformed input tiles of one tile block (forward)
//   M  [16][MoP][TB]                GEMM result for the block, then the output transform
// Forward chunks are single images (outputs are disjoint).

import type { FloatArray } from './types.ts';
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
const TB = 48; // tiles per block in the forward pass (multiple of NR)
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
}

const ceilTo = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * Transformed, packed weights U = G g Gᵀ (layout above) for kernels g[m][q] (m < mo, q < ki):
 * g = w[m, q] (forward, w [mo, ki, 3, 3]) or, with `flip`, g = rot180(w[q, m]) (backward-input,
 * w [ki, mo, 3, 3] in the original conv's layout).
 */
export function winogradWeights(
  u: Float64Array,
  w: FloatArray,
  mo: number,
  ki: number,
  flip: boolean,
): void {
  const panels = ceilTo(mo, MR) / MR;
  u.fill(0, 0, 16 * panels * MR * ki);
  const t = new Float64Array(12);
  for (let m = 0; m < mo; m++) {
    for (let q = 0; q < ki; q++) {
      const base = flip ? (q * mo + m) * 9 : (m * ki + q) * 9;
      // t = G g (4×3); g read flipped for the backward-input kernel
      for (let v = 0; v < 3; v++) {
        const g0 = w[flip ? base + 8 - v : base + v]!;
        const g1 = w[flip ? base + 5 - v : base + 3 + v]!;
        const g2 = w[flip ? base + 2 - v : base + 6 + v]!;
        t[v] = g0;
        t[3 + v] = 0.5 * (g0 + g1 + g2);
        t[6 + v] = 0.5 * (g0 - g1 + g2);
        t[9 + v] = g2;
      }
      const dst = (Math.floor(m / MR) * ki + q) * MR + (m % MR);
      const step = panels * MR * ki; // one ξ
      for (let r = 0; r < 4; r++) {
        const a = t[r * 3]!;
        const b = t[r * 3 + 1]!;
        const c = t[r * 3 + 2]!;
        u[r * 4 * step + dst] = a;
        u[(r * 4 + 1) * step + dst] = 0.5 * (a + b + c);
        u[(r * 4 + 2) * step + dst] = 0.5 * (a - b + c);
        u[(r * 4 + 3) * step + dst] = c;
      }
    }
  }
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

// Bᵀ d B of the 4×4 tile of plane x[xo ..] (h×w) whose top-left is (r0, c0), zeros outside;
// written to dst[ξ·step + off], ξ = 4i + j.
// prettier-ignore
function inputTile(
  x: FloatArray, xo: number, h: number, w: number, r0: number, c0: number,
  dst: Float64Array, off: number, step: number,
): void {
  let d00 = 0, d01 = 0, d02 = 0, d03 = 0, d10 = 0, d11 = 0, d12 = 0, d13 = 0;
  let d20 = 0, d21 = 0, d22 = 0, d23 = 0, d30 = 0, d31 = 0, d32 = 0, d33 = 0;
  if (r0 >= 0 && c0 >= 0 && r0 + 4 <= h && c0 + 4 <= w) {
    let s = xo + r0 * w + c0;
    d00 = x[s]!; d01 = x[s + 1]!; d02 = x[s + 2]!; d03 = x[s + 3]!; s += w;
    d10 = x[s]!; d11 = x[s + 1]!; d12 = x[s + 2]!; d13 = x[s + 3]!; s += w;
    d20 = x[s]!; d21 = x[s + 1]!; d22 = x[s + 2]!; d23 = x[s + 3]!; s += w;
    d30 = x[s]!; d31 = x[s + 1]!; d32 = x[s + 2]!; d33 = x[s + 3]!;
  } else {
    const v = tileBuf;
    for (let i = 0; i < 4; i++) {
      const r = r0 + i;
      for (let j = 0; j < 4; j++) {
        const cc = c0 + j;
        v[i * 4 + j] = r >= 0 && r < h && cc >= 0 && cc < w ? x[xo + r * w + cc]! : 0;
      }
    }
    d00 = v[0]!; d01 = v[1]!; d02 = v[2]!; d03 = v[3]!;
    d10 = v[4]!; d11 = v[5]!; d12 = v[6]!; d13 = v[7]!;
    d20 = v[8]!; d21 = v[9]!; d22 = v[10]!; d23 = v[11]!;
    d30 = v[12]!; d31 = v[13]!; d32 = v[14]!; d33 = v[15]!;
  }
  // rows: Bᵀ d
  const a0 = d00 - d20, a1 = d01 - d21, a2 = d02 - d22, a3 = d03 - d23;
  const b0 = d10 + d20, b1 = d11 + d21, b2 = d12 + d22, b3 = d13 + d23;
  const e0 = d20 - d10, e1 = d21 - d11, e2 = d22 - d12, e3 = d23 - d13;
  const f0 = d10 - d30, f1 = d11 - d31, f2 = d12 - d32, f3 = d13 - d33;
  // columns: (Bᵀ d) B
  let o = off;
  dst[o] = a0 - a2; o += step; dst[o] = a1 + a2; o += step; dst[o] = a2 - a1; o += step; dst[o] = a1 - a3; o += step;
  dst[o] = b0 - b2; o += step; dst[o] = b1 + b2; o += step; dst[o] = b2 - b1; o += step; dst[o] = b1 - b3; o += step;
  dst[o] = e0 - e2; o += step; dst[o] = e1 + e2; o += step; dst[o] = e2 - e1; o += step; dst[o] = e1 - e3; o += step;
  dst[o] = f0 - f2; o += step; dst[o] = f1 + f2; o += step; dst[o] = f2 - f1; o += step; dst[o] = f1 - f3;
}

const tileBuf = new Float64Array(16);

// Per-thread scratch (each worker has its own module instance).
let vBuf: Float64Array = new Float64Array(1024);
let mBuf: Float64Array = new Float64Array(1024);
let wBuf: Float64Array = new Float64Array(1024);

function grow(a: Float64Array, n: number): Float64Array {
  return a.length >= n ? a : new Float64Array(n);
}

/** Forward on image `img`: y[img] = conv(x[img], U) (+ b). */
function forwardImage(
  y: FloatArray,
  x: FloatArray,
  u: Float64Array,
  b: FloatArray | null,
  p: WinogradParams,
  img: number,
): void {
  const { ki, h, w, mo, padH, padW, outH, outW } = p;
  const tw = Math.ceil(outW / 2);
  const T = Math.ceil(outH / 2) * tw;
  const moP = ceilTo(mo, MR);
  const uStep = moP * ki; // one ξ of U
  const vStep = TB * ki; // one ξ of V (TB/3 panels × ki × 3)
  const mStep = moP * TB; // one ξ of M
  vBuf = grow(vBuf, 16 * vStep);
  mBuf = grow(mBuf, 16 * mStep);
  const V = vBuf;
  const M = mBuf;
  const hw = h * w;
  const P = outH * outW;
  const xImg = img * ki * hw;
  const yImg = img * mo * P;
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
        inputTile(x, xo, h, w, 2 * ty - padH, 2 * tx - padW, V, off, vStep);
      }
      for (let t = tb; t < tbP; t++) {
        const off = (Math.floor(t / NR) * ki + c) * NR + (t % NR);
        for (let xi = 0; xi < 16; xi++) V[xi * vStep + off] = 0;
      }
    }
    // 16 GEMMs: M[ξ][o][t] = Σ_c U[ξ][o][c] · V[ξ][c][t]
    for (let xi = 0; xi < 16; xi++) {
      for (let tp = 0; tp < tbP; tp += NR) {
        const bi = xi * vStep + tp * ki;
        for (let op = 0; op < moP; op += MR) {
          micro(ki, u, xi * uStep + op * ki, V, bi, M, xi * mStep + op * TB + tp, TB, false);
        }
      }
    }
    // output transform Aᵀ M A (+ bias), valid outputs only
    for (let o = 0; o < mo; o++) {
      const bias = b === null ? 0 : b[o]!;
      const yo = yImg + o * P;
      for (let t = 0; t < tb; t++) {
        const tt = t0 + t;
        const ty = Math.floor(tt / tw);
        const tx = tt - ty * tw;
        let q = o * TB + t;
        const m00 = M[q]!;
        q += mStep;
        const m01 = M[q]!;
        q += mStep;
        const m02 = M[q]!;
        q += mStep;
        const m03 = M[q]!;
        q += mStep;
        const m10 = M[q]!;
        q += mStep;
        const m11 = M[q]!;
        q += mStep;
        const m12 = M[q]!;
        q += mStep;
        const m13 = M[q]!;
        q += mStep;
        const m20 = M[q]!;
        q += mStep;
        const m21 = M[q]!;
        q += mStep;
        const m22 = M[q]!;
        q += mStep;
        const m23 = M[q]!;
        q += mStep;
        const m30 = M[q]!;
        q += mStep;
        const m31 = M[q]!;
        q += mStep;
        const m32 = M[q]!;
        q += mStep;
        const m33 = M[q]!;
        const s0 = m00 + m10 + m20,
          s1 = m01 + m11 + m21,
          s2 = m02 + m12 + m22,
          s3 = m03 + m13 + m23;
        const r0 = m10 - m20 - m30,
          r1 = m11 - m21 - m31,
          r2 = m12 - m22 - m32,
          r3 = m13 - m23 - m33;
        const oh = 2 * ty;
        const ow = 2 * tx;
        const yr = yo + oh * outW + ow;
        y[yr] = s0 + s1 + s2 + bias;
        const right = ow + 1 < outW;
        if (right) y[yr + 1] = s1 - s2 - s3 + bias;
        if (oh + 1 < outH) {
          y[yr + outW] = r0 + r1 + r2 + bias;
          if (right) y[yr + outW + 1] = r1 - r2 - r3 + bias;
        }
      }
    }
  }
}

registerTask('winograd.forward', (a, img) => {
  forwardImage(a[0], a[1], a[2], a[3], a[4], img);
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
    for (let i = 0; i < p.n; i++) forwardImage(y, x, u, b, p, i);
    return;
  }
  const ys = sharedOutput('wino.y', y, ySize);
  const xs = sharedInput('wino.x', x, p.n * p.ki * p.h * p.w);
  parallelFor('winograd.forward', [ys, xs, u, b, p], p.n);
  finishOutput(y, ys);
}

/** U scratch in shared memory (read by every worker). */
export function winogradWeightScratch(slot: string, mo: number, ki: number): Float64Array {
  return sharedF64(slot, 16 * ceilTo(mo, MR) * ki);
}

// ------------------------------------------------------------------------- backward-weight

/** Fixed chunking of the batch for backward-weight (depends on n only). */
export function weightChunks(n: number): { per: number; count: number } {
  const count0 = Math.min(Math.ceil(n / 4), 16);
  const per = Math.max(1, Math.ceil(n / Math.max(count0, 1)));
  return { per, count: Math.ceil(n / per) };
}

// gy tile A g Aᵀ (2×2 → 4×4) for plane gy[go ..] (outH×outW), tile (ty, tx), zeros outside;
// written to dst[ξ·step + off].
// prettier-ignore
function gradTile(
  gy: FloatArray, go: number, outH: number, outW: number, ty: number, tx: number,
  dst: Float64Array, off: number, step: number,
): void {
  const oh = 2 * ty, ow = 2 * tx;
  const r = go + oh * outW + ow;
  const right = ow + 1 < outW;
  const down = oh + 1 < outH;
  const g00 = gy[r]!;
  const g01 = right ? gy[r + 1]! : 0;
  const g10 = down ? gy[r + outW]! : 0;
  const g11 = right && down ? gy[r + outW + 1]! : 0;
  // rows of A g: [g0, g0+g1, g0−g1, −g1]; then columns the same
  const a0 = g00, a1 = g01;
  const b0 = g00 + g10, b1 = g01 + g11;
  const c0 = g00 - g10, c1 = g01 - g11;
  const d0 = -g10, d1 = -g11;
  let o = off;
  dst[o] = a0; o += step; dst[o] = a0 + a1; o += step; dst[o] = a0 - a1; o += step; dst[o] = -a1; o += step;
  dst[o] = b0; o += step; dst[o] = b0 + b1; o += step; dst[o] = b0 - b1; o += step; dst[o] = -b1; o += step;
  dst[o] = c0; o += step; dst[o] = c0 + c1; o += step; dst[o] = c0 - c1; o += step; dst[o] = -c1; o += step;
  dst[o] = d0; o += step; dst[o] = d0 + d1; o += step; dst[o] = d0 - d1; o += step; dst[o] = -d1;
}

/** Partial[ξ][moP][kiP] of chunk `chunk` (images [chunk·per, …)), written to part at chunk·size. */
function weightChunk(
  part: Float64Array,
  gy: FloatArray,
  x: FloatArray,
  p: WinogradParams,
  per: number,
  chunk: number,
): void {
  const { n, ki, h, w, mo, padH, padW, outH, outW } = p;
  const tw = Math.ceil(outW / 2);
  const T = Math.ceil(outH / 2) * tw;
  const moP = ceilTo(mo, MR);
  const kiP = ceilTo(ki, NR);
  const accStep = moP * kiP;
  const accOff = chunk * 16 * accStep;
  part.fill(0, accOff, accOff + 16 * accStep);
  const gStep = moP * TBW; // one ξ of the packed gy tiles: [moP/4][TBW][4]
  const vStep = kiP * TBW; // one ξ of the packed x tiles: [kiP/3][TBW][3]
  wBuf = grow(wBuf, 16 * gStep);
  vBuf = grow(vBuf, 16 * vStep);
  const G = wBuf;
  const V = vBuf;
  G.fill(0, 0, 16 * gStep); // padded rows stay zero
  V.fill(0, 0, 16 * vStep);
  const hw = h * w;
  const P = outH * outW;
  const i1 = Math.min(n, (chunk + 1) * per);
  for (let img = chunk * per; img < i1; img++) {
    for (let t0 = 0; t0 < T; t0 += TBW) {
      const tb = Math.min(TBW, T - t0);
      for (let o = 0; o < mo; o++) {
        const go = (img * mo + o) * P;
        const base = Math.floor(o / MR) * TBW * MR + (o % MR);
        for (let t = 0; t < tb; t++) {
          const tt = t0 + t;
          const ty = Math.floor(tt / tw);
          gradTile(gy, go, outH, outW, ty, tt - ty * tw, G, base + t * MR, gStep);
        }
      }
      for (let c = 0; c < ki; c++) {
        const xo = (img * ki + c) * hw;
        const base = Math.floor(c / NR) * TBW * NR + (c % NR);
        for (let t = 0; t < tb; t++) {
          const tt = t0 + t;
          const ty = Math.floor(tt / tw);
          const tx = tt - ty * tw;
          inputTile(x, xo, h, w, 2 * ty - padH, 2 * tx - padW, V, base + t * NR, vStep);
        }
      }
      // acc[ξ][o][c] += Σ_t G[ξ][o][t] · V[ξ][c][t]
      for (let xi = 0; xi < 16; xi++) {
        for (let cp = 0; cp < kiP; cp += NR) {
          const bi = xi * vStep + cp * TBW;
          for (let op = 0; op < moP; op += MR) {
            micro(
              tb,
              G,
              xi * gStep + op * TBW,
              V,
              bi,
              part,
              accOff + xi * accStep + op * kiP + cp,
              kiP,
              true,
            );
          }
        }
      }
    }
  }
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
  const part = sharedF64('wino.part', Math.max(count, 1) * 16 * accStep);
  if (threadsFor(count) <= 1) {
    for (let c = 0; c < count; c++) weightChunk(part, gy, x, p, per, c);
  } else {
    const gys = sharedInput('wino.gy', gy, n * mo * p.outH * p.outW);
    const xs = sharedInput('wino.x', x, n * ki * p.h * p.w);
    parallelFor('winograd.weight', [part, gys, xs, p, per], count);
  }
  // sum chunk partials in chunk order into chunk 0's slot
  const total = 16 * accStep;
  for (let c = 1; c < count; c++) {
    const off = c * total;
    for (let j = 0; j < total; j++) part[j] += part[off + j]!;
  }
  if (count === 0) part.fill(0, 0, total);
  // gw = Gᵀ acc G
  const m = new Float64Array(16);
  for (let o = 0; o < mo; o++) {
    for (let c = 0; c < ki; c++) {
      for (let xi = 0; xi < 16; xi++) m[xi] = part[xi * accStep + o * kiP + c]!;
      // rows: Gᵀ m → 3×4
      const q: number[] = [];
      for (let j = 0; j < 4; j++) {
        const a = m[j]!;
        const b = m[4 + j]!;
        const cc = m[8 + j]!;
        const d = m[12 + j]!;
        q[j] = a + 0.5 * (b + cc);
        q[4 + j] = 0.5 * (b - cc);
        q[8 + j] = 0.5 * (b + cc) + d;
      }
      const dst = (o * ki + c) * 9;
      for (let i = 0; i < 3; i++) {
        const a = q[i * 4]!;
        const b = q[i * 4 + 1]!;
        const cc = q[i * 4 + 2]!;
        const d = q[i * 4 + 3]!;
        gw[dst + i * 3] = a + 0.5 * (b + cc);
        gw[dst + i * 3 + 1] = 0.5 * (b - cc);
        gw[dst + i * 3 + 2] = 0.5 * (b + cc) + d;
      }
    }
  }
}
