// Dense matrix multiply (GEMM) and the linear layer on typed arrays.
//
// All matrices are row-major. `gemm` computes C[m,n] = alpha·op(A)·op(B) + beta·C with
// op(A) = A [m,k] or Aᵀ (A stored [k,m]) and op(B) = B [k,n] or Bᵀ (B stored [n,k]).
// beta = 0 overwrites C (NaN/Inf already in C do not leak through).
//
// Tuned path (GotoBLAS/BLIS layout, scalar because V8 does not vectorise):
//   for each NC-wide column block of C
//     for each KC-deep slice of k: pack op(B)[KC, NC] into NR-wide panels (Float64)
//       for each MC-high row block: pack op(A)[MC, KC] into MR-high panels (Float64)
//         for each MR×NR tile: micro-kernel with MR·NR scalar accumulators over KC.
// Panels are zero-padded to full MR/NR, so the micro-kernel never branches on edges; edge tiles
// are computed into a small scratch tile and the valid part copied out. Packing into Float64
// keeps the micro-kernel monomorphic for both Float32Array and Float64Array inputs, and
// accumulation is always in float64.
// MR×NR = 4×3, chosen on the plain-JavaScript loop (4×4, 4×8, 8×4 ran ~35% slower there). In
// asm.js V8 allocates 15 double registers and 4×3 spills some accumulators; 4×2 ran 0.83–0.85×
// on Winograd's dense GEMMs (bench/trials/f4shapes.ts), not measured on these yet.
// The loop over a block's tiles runs in asm.js (asm.ts `panels`, into a per-thread heap, C then
// copied out); micro4x3 below is the same loop in plain JavaScript (`SHIFTGRAD_ASM=0`).

import type { FloatArray } from './types.ts';
import { densityEstimate } from './sparsity.ts';
import { ceilTo } from './util.ts';
import { AsmScratch, asmHeap, asmOn, newStamp, type AsmHeap } from './asm.ts';
import {
  finishOutput,
  parallelFor,
  registerTask,
  sharedF64,
  sharedInput,
  sharedI32,
  sharedOutput,
  threadsFor,
  type TaskArgs,
} from './parallel.ts';

export interface GemmOptions {
  /** A is stored [k, m] and used transposed. */
  transA?: boolean;
  /** B is stored [n, k] and used transposed. */
  transB?: boolean;
  /** default 1 */
  alpha?: number;
  /** default 0 (overwrite C) */
  beta?: number;
}

const MR = 4;
const NR = 3;
const KC = 384;
const MC = 128; // multiple of MR
const NC = 768; // multiple of NR; only one KC×NR micro-panel of packed B needs to stay in L1

// Module-level growable scratch, reused across calls (kernels are not re-entrant).
let packA = new Float64Array(0); // the plain-JavaScript path's panels, grown on first use
let packB = new Float64Array(0);
const tile = new Float64Array(MR * NR);

// With the asm.js micro-kernels (asm.ts), the packed panels and each block's C live in one asm.js
// heap per thread, at fixed offsets (kc ≤ KC, mc ≤ MC and nc ≤ NC always hold).
const HEAP_A = 0;
const HEAP_B = MC * KC;
const HEAP_C = HEAP_B + NC * KC;
let heap: AsmHeap | null = null;
function gemmHeap(): AsmHeap {
  return (heap ??= asmHeap(HEAP_C + MC * NC));
}

/**
 * Strided GEMM core: C = alpha·op(A)·op(B) + beta·C where
 *   op(A)[i,p] = a[aOff + i·aRs + p·aCs]   (i < m, p < k)
 *   op(B)[p,j] = b[bOff + p·bRs + j·bCs]   (p < k, j < n)
 *   C[i,j]     = c[cOff + i·ldc + j]
 * Transposes are just swapped strides; convolutions use the offsets to address sub-matrices.
 */
export function gemmStrided(
  c: FloatArray,
  cOff: number,
  ldc: number,
  a: FloatArray,
  aOff: number,
  aRs: number,
  aCs: number,
  b: FloatArray,
  bOff: number,
  bRs: number,
  bCs: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  beta: number,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (let i = 0; i < m; i++) {
      const r = cOff + i * ldc;
      for (let j = 0; j < n; j++) c[r + j] = beta === 0 ? 0 : beta * c[r + j]!;
    }
    return;
  }
  // split k into equal slices of at most KC (no thin remainder slice)
  const kcMax = Math.ceil(k / Math.ceil(k / KC));
  const ncMax = Math.min(NC, Math.ceil(n / NR) * NR);
  const mcMax = Math.min(MC, Math.ceil(m / MR) * MR);
  const h = asmOn ? gemmHeap() : null;
  if (!h && packA.length < mcMax * kcMax) packA = new Float64Array(mcMax * kcMax);
  if (!h && packB.length < ncMax * kcMax) packB = new Float64Array(ncMax * kcMax);
  const ap = h ? h.f64.subarray(HEAP_A, HEAP_B) : packA;
  const bp = h ? h.f64.subarray(HEAP_B, HEAP_C) : packB;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += kcMax) {
      const kc = Math.min(kcMax, k - p0);
      const bet = p0 === 0 ? beta : 1;
      packPanels(bp, b, bOff + p0 * bRs + j0 * bCs, bCs, bRs, nc, kc, NR);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        packPanels(ap, a, aOff + i0 * aRs + p0 * aCs, aRs, aCs, mc, kc, MR);
        if (h) {
          // all MR×NR tiles of the block into the heap, then C = alpha·block + bet·C
          const np = Math.ceil(nc / NR);
          const ldb = np * NR;
          h.k.panels(kc, Math.ceil(mc / MR), np, HEAP_A, kc * MR, HEAP_B, kc * NR, HEAP_C, ldb, 0);
          const hc = h.f64;
          for (let i = 0; i < mc; i++) {
            const o = cOff + (i0 + i) * ldc + j0;
            const t = HEAP_C + i * ldb;
            if (bet === 0) for (let j = 0; j < nc; j++) c[o + j] = alpha * hc[t + j]!;
            else for (let j = 0; j < nc; j++) c[o + j] = alpha * hc[t + j]! + bet * c[o + j]!;
          }
          continue;
        }
        for (let jr = 0; jr < nc; jr += NR) {
          const bi = jr * kc;
          const nr = nc - jr;
          for (let ir = 0; ir < mc; ir += MR) {
            const ai = ir * kc;
            const ci = cOff + (i0 + ir) * ldc + j0 + jr;
            const mr = mc - ir;
            if (mr >= MR && nr >= NR) {
              micro4x3(kc, ap, ai, bp, bi, c, ci, ldc, alpha, bet);
            } else {
              micro4x3(kc, ap, ai, bp, bi, tile, 0, NR, 1, 0);
              const mm = mr < MR ? mr : MR;
              const nn = nr < NR ? nr : NR;
              for (let i = 0; i < mm; i++) {
                for (let j = 0; j < nn; j++) {
                  const o = ci + i * ldc + j;
                  const v = alpha * tile[i * NR + j]!;
                  c[o] = bet === 0 ? v : v + bet * c[o]!;
                }
              }
            }
          }
        }
      }
    }
  }
}

// Pack a [rows, kc] block of a strided matrix M[r,p] = src[off + r·rs + p·ps] into R-high panels:
// dst[(r/R)·R·kc + p·R + r%R], zero-padding the last panel to R rows.
function packPanels(
  dst: Float64Array,
  src: FloatArray,
  off: number,
  rs: number,
  ps: number,
  rows: number,
  kc: number,
  R: number,
): void {
  for (let r0 = 0; r0 < rows; r0 += R) {
    const base = r0 * kc;
    const rr = Math.min(R, rows - r0);
    if (ps === 1) {
      for (let r = 0; r < rr; r++) {
        const s = off + (r0 + r) * rs;
        let d = base + r;
        for (let p = 0; p < kc; p++, d += R) dst[d] = src[s + p]!;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const s = off + p * ps + r0 * rs;
        const d = base + p * R;
        for (let r = 0; r < rr; r++) dst[d + r] = src[s + r * rs]!;
      }
    }
    for (let r = rr; r < R; r++) {
      for (let p = 0, d = base + r; p < kc; p++, d += R) dst[d] = 0;
    }
  }
}

// prettier-ignore
// C[4,3] tile at c[ci + i·ldc + j] = alpha·Σ_p ap[ai + 4p + i]·bp[bi + 3p + j] + beta·C.
function micro4x3(
  kc: number,
  ap: Float64Array,
  ai: number,
  bp: Float64Array,
  bi: number,
  c: FloatArray,
  ci: number,
  ldc: number,
  alpha: number,
  beta: number,
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
  if (beta === 0) {
    c[ci] = alpha * c00; c[ci + 1] = alpha * c01; c[ci + 2] = alpha * c02;
    c[r1] = alpha * c10; c[r1 + 1] = alpha * c11; c[r1 + 2] = alpha * c12;
    c[r2] = alpha * c20; c[r2 + 1] = alpha * c21; c[r2 + 2] = alpha * c22;
    c[r3] = alpha * c30; c[r3 + 1] = alpha * c31; c[r3 + 2] = alpha * c32;
  } else {
    c[ci] = alpha * c00 + beta * c[ci]!;
    c[ci + 1] = alpha * c01 + beta * c[ci + 1]!;
    c[ci + 2] = alpha * c02 + beta * c[ci + 2]!;
    c[r1] = alpha * c10 + beta * c[r1]!;
    c[r1 + 1] = alpha * c11 + beta * c[r1 + 1]!;
    c[r1 + 2] = alpha * c12 + beta * c[r1 + 2]!;
    c[r2] = alpha * c20 + beta * c[r2]!;
    c[r2 + 1] = alpha * c21 + beta * c[r2 + 1]!;
    c[r2 + 2] = alpha * c22 + beta * c[r2 + 2]!;
    c[r3] = alpha * c30 + beta * c[r3]!;
    c[r3 + 1] = alpha * c31 + beta * c[r3 + 1]!;
    c[r3 + 2] = alpha * c32 + beta * c[r3 + 2]!;
  }
}

/**
 * C[m,n] = alpha·op(A)·op(B) + beta·C, row-major.
 * A: [m,k] (or [k,m] if transA); B: [k,n] (or [n,k] if transB); C: [m,n].
 */
export function gemm(
  c: FloatArray,
  a: FloatArray,
  b: FloatArray,
  m: number,
  n: number,
  k: number,
  opts: GemmOptions = {},
): void {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = opts;
  checkGemm('gemm', c, a, b, m, n, k);
  gemmStrided(
    c,
    0,
    n,
    a,
    0,
    transA ? 1 : k,
    transA ? m : 1,
    b,
    0,
    transB ? 1 : n,
    transB ? k : 1,
    m,
    n,
    k,
    alpha,
    beta,
  );
}

/** Reference triple loop for `gemm` (same signature and semantics). */
export function gemmNaive(
  c: FloatArray,
  a: FloatArray,
  b: FloatArray,
  m: number,
  n: number,
  k: number,
  opts: GemmOptions = {},
): void {
  const { transA = false, transB = false, alpha = 1, beta = 0 } = opts;
  checkGemm('gemmNaive', c, a, b, m, n, k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = transB ? b[j * k + p]! : b[p * n + j]!;
        s += av * bv;
      }
      c[i * n + j] = beta === 0 ? alpha * s : alpha * s + beta * c[i * n + j]!;
    }
  }
}

function checkGemm(
  name: string,
  c: FloatArray,
  a: FloatArray,
  b: FloatArray,
  m: number,
  n: number,
  k: number,
): void {
  if (a.length < m * k || b.length < k * n || c.length < m * n) {
    throw new Error(
      `${name}: buffers too small for m=${m}, n=${n}, k=${k} ` +
        `(A has ${a.length}, needs ${m * k}; B has ${b.length}, needs ${k * n}; C has ${c.length}, needs ${m * n})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Linear layer, PyTorch layout: x [batch, inF], w [outF, inF], b [outF], y [batch, outF].

// Threading: the layer GEMMs are split so that no thread count changes a sum.
//   forward with a deep reduction (inF ≥ LINEAR_KSPLIT): fixed k-chunks of LINEAR_KCHUNK, each a
//     float64 partial [batch, outF]; y = b + Σ partials in chunk order (also with one thread);
//   otherwise, and for gx / gw: chunks of LINEAR_NCHUNK output columns (a column split leaves
//     every dot product untouched).

/** inF from which linearForward sums fixed k-chunks (parallel-friendly) instead of one GEMM. */
export const LINEAR_KSPLIT = 4096;
const LINEAR_KCHUNK = 1152; // 3·KC
const LINEAR_NCHUNK = 768; // multiple of NR

registerTask('gemm.cols', (a, j) => {
  const nChunk = a[16] as number;
  const j0 = j * nChunk;
  const nc = Math.min(nChunk, (a[12] as number) - j0);
  gemmStrided(
    a[0],
    a[1] + j0,
    a[2],
    a[3],
    a[4],
    a[5],
    a[6],
    a[7],
    a[8] + j0 * a[10],
    a[9],
    a[10],
    a[11],
    nc,
    a[13],
    a[14],
    a[15],
  );
});

// C = alpha·op(A)·op(B) + beta·C (strided, as gemmStrided) with the columns of C in chunks
// spread over the threads; C[i, j] does not depend on the split.
function gemmColumns(
  c: FloatArray,
  cOff: number,
  ldc: number,
  a: FloatArray,
  aOff: number,
  aRs: number,
  aCs: number,
  aLen: number,
  b: FloatArray,
  bOff: number,
  bRs: number,
  bCs: number,
  bLen: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  beta: number,
  cLen: number,
): void {
  const chunks = Math.ceil(n / LINEAR_NCHUNK);
  if (threadsFor(chunks) <= 1 || m * n * k < 1 << 20) {
    gemmStrided(c, cOff, ldc, a, aOff, aRs, aCs, b, bOff, bRs, bCs, m, n, k, alpha, beta);
    return;
  }
  const cs = sharedOutput('gemm.c', c, cLen, beta !== 0);
  const as = sharedInput('gemm.a', a, aLen);
  const bs = sharedInput('gemm.b', b, bLen);
  parallelFor(
    'gemm.cols',
    [cs, cOff, ldc, as, aOff, aRs, aCs, bs, bOff, bRs, bCs, m, n, k, alpha, beta, LINEAR_NCHUNK],
    chunks,
  );
  finishOutput(c, cs);
}

registerTask('linear.kchunk', (a, j) => {
  const [part, x, w, batch, inF, outF] = a as [
    Float64Array,
    FloatArray,
    FloatArray,
    number,
    number,
    number,
  ];
  const p0 = j * LINEAR_KCHUNK;
  const kc = Math.min(LINEAR_KCHUNK, inF - p0);
  gemmStrided(part, j * batch * outF, outF, x, p0, inF, 1, w, p0, 1, inF, batch, outF, kc, 1, 0);
});

// ---- Sparse input (the deep-reduction forward when x is mostly zeros, as after ReLU + max-pool:
// 86 % of fc1's inputs in the MNIST net). Each output is the same float64 sum as the dense path's
// (same k-chunks, same KC slices inside a chunk, k ascending within a slice, partials combined in
// the same order) with the terms x[r,k] = ±0 left out. Leaving them out changes no bit: a sum that
// starts at +0 and adds exact float32·float32 products is never −0, and ±0 added to it is a no-op.
// The one exception is a non-finite weight (0·Inf = NaN): a row of w holding one is summed densely.

/** Densest input (fraction of non-zeros) for which linearForward takes the sparse path. */
export const LINEAR_SPARSE_DENSITY = 0.4;
const SPARSE_OB = 8; // outputs per block (register accumulators)

/** The KC slices of the dense path's k-chunks: ends (exclusive k) and whether a slice starts a chunk. */
function kSlices(inF: number): { ends: Int32Array; first: Uint8Array } {
  const ends: number[] = [];
  const first: number[] = [];
  for (let p0 = 0; p0 < inF; p0 += LINEAR_KCHUNK) {
    const kc = Math.min(LINEAR_KCHUNK, inF - p0);
    const kcMax = Math.ceil(kc / Math.ceil(kc / KC)); // as gemmStrided splits a chunk
    for (let s0 = 0; s0 < kc; s0 += kcMax) {
      ends.push(p0 + Math.min(s0 + kcMax, kc));
      first.push(s0 === 0 ? 1 : 0);
    }
  }
  return { ends: Int32Array.from(ends), first: Uint8Array.from(first) };
}

/**
 * Gathers the non-zero columns of rows r0 … r1 − 1 of x into idx[r·inF …] (k ascending) and, per
 * slice s, the end of the row's list in ends[r·nS + s].
 */
function gatherNonZeros(
  idx: Int32Array,
  ends: Int32Array,
  x: FloatArray,
  r0: number,
  r1: number,
  inF: number,
  sliceEnds: Int32Array,
): void {
  const nS = sliceEnds.length;
  for (let r = r0; r < r1; r++) {
    const xr = r * inF;
    let t = xr;
    let k = 0;
    for (let s = 0; s < nS; s++) {
      const e = sliceEnds[s]!;
      // branch-free: the store always happens, the cursor moves only past a non-zero
      for (; k < e; k++) {
        idx[t] = k;
        t += x[xr + k] !== 0 ? 1 : 0;
      }
      ends[r * nS + s] = t;
    }
  }
}

// y[r0 … r1, o0 … o0 + ob) from the gathered lists (one block of ob ≤ 8 outputs; the
// accumulators of missing outputs read row o0 of w and are not stored).
// prettier-ignore
function sparseBlock(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  idx: Int32Array,
  ends: Int32Array,
  first: Uint8Array,
  r0: number,
  r1: number,
  inF: number,
  outF: number,
  o0: number,
  ob: number,
): void {
  const nS = first.length;
  const wr = (i: number): number => (i < ob ? o0 + i : o0) * inF;
  const w0 = wr(0), w1 = wr(1), w2 = wr(2), w3 = wr(3), w4 = wr(4), w5 = wr(5), w6 = wr(6), w7 = wr(7);
  const p = sparsePart;
  const yb = sparseY;
  for (let i = 0; i < 8; i++) yb[i] = b === null || i >= ob ? 0 : b[o0 + i]!;
  for (let r = r0; r < r1; r++) {
    const xr = r * inF;
    let y0 = yb[0]!, y1 = yb[1]!, y2 = yb[2]!, y3 = yb[3]!;
    let y4 = yb[4]!, y5 = yb[5]!, y6 = yb[6]!, y7 = yb[7]!;
    let t = xr;
    for (let s = 0; s < nS; s++) {
      const e = ends[r * nS + s]!;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (; t < e; t++) {
        const k = idx[t]!;
        const v = x[xr + k]!;
        a0 += v * w[w0 + k]!; a1 += v * w[w1 + k]!; a2 += v * w[w2 + k]!; a3 += v * w[w3 + k]!;
        a4 += v * w[w4 + k]!; a5 += v * w[w5 + k]!; a6 += v * w[w6 + k]!; a7 += v * w[w7 + k]!;
      }
      // the dense path: C = acc for a chunk's first slice, then C = acc + C
      if (first[s] === 1) {
        p[0] = a0; p[1] = a1; p[2] = a2; p[3] = a3; p[4] = a4; p[5] = a5; p[6] = a6; p[7] = a7;
      } else {
        p[0] = a0 + p[0]!; p[1] = a1 + p[1]!; p[2] = a2 + p[2]!; p[3] = a3 + p[3]!;
        p[4] = a4 + p[4]!; p[5] = a5 + p[5]!; p[6] = a6 + p[6]!; p[7] = a7 + p[7]!;
      }
      if (s + 1 === nS || first[s + 1] === 1) {
        y0 += p[0]!; y1 += p[1]!; y2 += p[2]!; y3 += p[3]!;
        y4 += p[4]!; y5 += p[5]!; y6 += p[6]!; y7 += p[7]!;
      }
    }
    const q = r * outF + o0;
    y[q] = y0;
    if (ob > 1) y[q + 1] = y1;
    if (ob > 2) y[q + 2] = y2;
    if (ob > 3) y[q + 3] = y3;
    if (ob > 4) y[q + 4] = y4;
    if (ob > 5) y[q + 5] = y5;
    if (ob > 6) y[q + 6] = y6;
    if (ob > 7) y[q + 7] = y7;
  }
}
const sparsePart = new Float64Array(8);
const sparseY = new Float64Array(8);

// Output o summed densely with the same slices (for a row of w holding Inf or NaN).
function denseRow(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  sliceEnds: Int32Array,
  first: Uint8Array,
  r0: number,
  r1: number,
  inF: number,
  outF: number,
  o: number,
): void {
  const nS = first.length;
  const wo = o * inF;
  for (let r = r0; r < r1; r++) {
    const xr = r * inF;
    let yv = b === null ? 0 : b[o]!;
    let p = 0;
    let k = 0;
    for (let s = 0; s < nS; s++) {
      let a = 0;
      for (const e = sliceEnds[s]!; k < e; k++) a += x[xr + k]! * w[wo + k]!;
      p = first[s] === 1 ? a : a + p;
      if (s + 1 === nS || first[s + 1] === 1) yv += p;
    }
    y[r * outF + o] = yv;
  }
}

// Rows j·per … of y: gather their non-zeros, then every block of SPARSE_OB outputs; outputs whose
// row of w holds Inf or NaN (bad[o] = 1) go through denseRow.
function sparseTask(a: TaskArgs, j: number): void {
  const [y, x, w, b, idx, ends, sliceEnds, first, bad, batch, inF, outF, per, stamp] = a as [
    FloatArray,
    FloatArray,
    FloatArray,
    FloatArray | null,
    Int32Array,
    Int32Array,
    Int32Array,
    Uint8Array,
    Uint8Array,
    number,
    number,
    number,
    number,
    number,
  ];
  const r0 = j * per;
  const r1 = Math.min(batch, r0 + per);
  if (asmOn && x instanceof Float32Array && w instanceof Float32Array) {
    sparseRowsAsm(y, x, w, b, sliceEnds, first, bad, r0, r1, inF, outF, stamp);
    return;
  }
  gatherNonZeros(idx, ends, x, r0, r1, inF, sliceEnds);
  for (let o0 = 0; o0 < outF; o0 += SPARSE_OB) {
    const ob = Math.min(SPARSE_OB, outF - o0);
    const finite = allZero(bad, o0, o0 + ob);
    if (finite) {
      sparseBlock(y, x, w, b, idx, ends, first, r0, r1, inF, outF, o0, ob);
    } else {
      for (let o = o0; o < o0 + ob; o++)
        denseRow(y, x, w, b, sliceEnds, first, r0, r1, inF, outF, o);
    }
  }
}
registerTask('linear.sparse', sparseTask);

/** a[i] === 0 for every i in [i0, i1) (no output of the block flagged non-finite). */
function allZero(a: Uint8Array, i0: number, i1: number): boolean {
  for (let i = i0; i < i1; i++) if (a[i] !== 0) return false;
  return true;
}

// the sparse forward's heap (which may keep a frozen weight between calls) and the sparse weight
// gradient's
const forwardHeap = new AsmScratch();
const sparseHeap = new AsmScratch();

// sparseTask in asm.js (float32 x and w): rows r0 … r1 − 1 of x, all of w (rows padded with zeros
// to a multiple of 8), the bias, the slices and the gathered lists in this thread's heap; each
// block of 8 outputs through `sparseRows8`, a block with a non-finite row of w through denseRow.
// Same sums in the same order as gatherNonZeros + sparseBlock.
function sparseRowsAsm(
  y: FloatArray,
  x: Float32Array,
  w: Float32Array,
  b: FloatArray | null,
  sliceEnds: Int32Array,
  first: Uint8Array,
  bad: Uint8Array,
  r0: number,
  r1: number,
  inF: number,
  outF: number,
  stamp: number,
): void {
  const rows = r1 - r0;
  if (rows <= 0) return;
  const nS = sliceEnds.length;
  const outP = ceilTo(outF, 8);
  // 4-byte offsets: W | X | idx | ends | slice ends | first, then 8-byte: bias | y
  const wOff = 0;
  const xOff = wOff + outP * inF;
  const idxOff = xOff + rows * inF;
  const endsOff = idxOff + rows * inF;
  const slOff = endsOff + rows * nS;
  const firstOff = slOff + nS;
  const bOff = Math.ceil((firstOff + nS) / 2);
  const yOff = bOff + outP;
  const hp = forwardHeap.get(yOff + rows * outP);
  const { f32, i32, f64 } = hp;
  // w stays in the heap between calls with a frozen weight's stamp (NaN: copied every call)
  forwardHeap.once(hp, stamp, () => {
    f32.set(w.subarray(0, outF * inF), wOff);
    f32.fill(0, wOff + outF * inF, xOff);
  });
  f32.set(x.subarray(r0 * inF, r1 * inF), xOff);
  i32.set(sliceEnds, slOff);
  for (let s = 0; s < nS; s++) i32[firstOff + s] = first[s]!;
  for (let o = 0; o < outP; o++) f64[bOff + o] = b === null || o >= outF ? 0 : b[o]!;
  hp.k.gatherNonZeros(xOff, rows, inF, nS, slOff, idxOff, endsOff);
  for (let o0 = 0; o0 < outF; o0 += 8) {
    const ob = Math.min(8, outF - o0);
    const finite = allZero(bad, o0, o0 + ob);
    if (!finite) {
      for (let o = o0; o < o0 + ob; o++)
        denseRow(y, x, w, b, sliceEnds, first, r0, r1, inF, outF, o);
      continue;
    }
    // prettier-ignore
    hp.k.sparseRows8(rows, nS, inF, o0, xOff, wOff, idxOff, endsOff, firstOff, bOff, yOff, outP);
    for (let r = 0; r < rows; r++) {
      const src = yOff + r * outP + o0;
      const dst = (r0 + r) * outF + o0;
      for (let i = 0; i < ob; i++) y[dst + i] = f64[src + i]!;
    }
  }
}

/** bad[o] = 1 where row o (o0 ≤ o < o1) of w [outF, inF] holds an Inf or NaN. */
function nonFiniteRows(bad: Uint8Array, w: FloatArray, o0: number, o1: number, inF: number): void {
  for (let o = o0; o < o1; o++) {
    // Inf·0 and NaN·0 are NaN; four sums keep the adds independent
    let z0 = 0,
      z1 = 0,
      z2 = 0,
      z3 = 0;
    let k = o * inF;
    for (const e = k + inF - 3; k < e; k += 4) {
      z0 += w[k]! * 0;
      z1 += w[k + 1]! * 0;
      z2 += w[k + 2]! * 0;
      z3 += w[k + 3]! * 0;
    }
    for (const e = (o + 1) * inF; k < e; k++) z0 += w[k]! * 0;
    bad[o] = z0 + z1 + z2 + z3 === 0 ? 0 : 1;
  }
}
registerTask('linear.finite', (a, j) => {
  const [bad, w, outF, inF, per] = a as [Uint8Array, FloatArray, number, number, number];
  nonFiniteRows(bad, w, j * per, Math.min(outF, (j + 1) * per), inF);
});

const sliceCache = new Map<number, { ends: Int32Array; first: Uint8Array }>();

/**
 * The sparse-input path of linearForward (inF ≥ LINEAR_KSPLIT): the same bits as
 * `linearForwardChunks`, from the non-zeros of x only. Returns false, writing nothing, when an
 * estimate puts x's density above LINEAR_SPARSE_DENSITY. Rows are split over the threads.
 */
export function linearForwardSparse(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  batch: number,
  inF: number,
  outF: number,
  frozen: FrozenWeight | null = null,
): boolean {
  if (densityEstimate(x, batch * inF) > LINEAR_SPARSE_DENSITY) return false;
  let sl = sliceCache.get(inF);
  if (sl === undefined) {
    sl = kSlices(inF);
    sliceCache.set(inF, sl);
  }
  const nS = sl.ends.length;
  const idx = sharedI32('linear.idx', batch * inF);
  const ends = sharedI32('linear.ends', batch * nS);
  const bad = frozen?.bad ?? new Uint8Array(new SharedArrayBuffer(outF));
  const threads = threadsFor(batch);
  const per = Math.ceil(batch / threads);
  const stamp = frozen?.stamp ?? NaN;
  // prettier-ignore
  const args: TaskArgs = [y, x, w, b, idx, ends, sl.ends, sl.first, bad, batch, inF, outF, per, stamp];
  if (threads <= 1) {
    if (frozen === null) nonFiniteRows(bad, w, 0, outF, inF);
    sparseTask(args, 0);
    return true;
  }
  const ys = sharedOutput('linear.y', y, batch * outF);
  const ws = sharedInput('gemm.b', w, outF * inF);
  const perO = Math.ceil(outF / threads);
  if (frozen === null) {
    parallelFor('linear.finite', [bad, ws, outF, inF, perO], Math.ceil(outF / perO));
  }
  args[0] = ys;
  args[1] = sharedInput('gemm.a', x, batch * inF);
  args[2] = ws;
  parallelFor('linear.sparse', args, Math.ceil(batch / per));
  finishOutput(y, ys);
  return true;
}

/**
 * A weight w [outF, inF] that its holder promises not to change while it uses this object (an
 * inference plan's constant, nn/trace.ts): the work linearForward's sparse path does on w in
 * every call — finding its rows that hold Inf or NaN, copying it into each thread's asm.js heap —
 * done once (the copy once per thread, kept under `stamp`).
 */
export interface FrozenWeight {
  readonly w: FloatArray;
  readonly bad: Uint8Array;
  readonly stamp: number;
}

export function freezeWeight(w: FloatArray, outF: number, inF: number): FrozenWeight {
  const bad = new Uint8Array(new SharedArrayBuffer(Math.max(outF, 1)));
  nonFiniteRows(bad, w, 0, outF, inF);
  return { w, bad, stamp: newStamp() };
}

/**
 * y[batch,outF] = x[batch,inF]·wᵀ + b (b may be null); `frozen`, if given, is w's (freezeWeight),
 * with the same results.
 */
export function linearForward(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  batch: number,
  inF: number,
  outF: number,
  frozen: FrozenWeight | null = null,
): void {
  if (frozen !== null && frozen.w !== w) {
    throw new Error('linearForward: the frozen weight given is not this weight');
  }
  if (inF >= LINEAR_KSPLIT && batch > 0 && outF > 0) {
    if (!linearForwardSparse(y, x, w, b, batch, inF, outF, frozen)) {
      linearForwardChunks(y, x, w, b, batch, inF, outF);
    }
    return;
  }
  if (b !== null) {
    for (let r = 0; r < batch; r++) y.set(b.subarray(0, outF), r * outF);
  }
  // prettier-ignore
  gemmColumns(y, 0, outF, x, 0, inF, 1, batch * inF, w, 0, 1, inF, outF * inF,
    batch, outF, inF, 1, b === null ? 0 : 1, batch * outF);
}

/**
 * linearForward's dense deep-reduction path (inF ≥ LINEAR_KSPLIT): y = b + Σ_j partial_j over
 * fixed k-chunks; exported so tests and benchmarks can set the sparse path beside it.
 */
export function linearForwardChunks(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  batch: number,
  inF: number,
  outF: number,
): void {
  const chunks = Math.ceil(inF / LINEAR_KCHUNK);
  const size = batch * outF;
  const part = sharedF64('linear.part', chunks * size);
  const args = [part, x, w, batch, inF, outF];
  if (threadsFor(chunks) <= 1) {
    const task = (j: number) => {
      const p0 = j * LINEAR_KCHUNK;
      const kc = Math.min(LINEAR_KCHUNK, inF - p0);
      gemmStrided(part, j * size, outF, x, p0, inF, 1, w, p0, 1, inF, batch, outF, kc, 1, 0);
    };
    for (let j = 0; j < chunks; j++) task(j);
  } else {
    args[1] = sharedInput('gemm.a', x, batch * inF);
    args[2] = sharedInput('gemm.b', w, outF * inF);
    parallelFor('linear.kchunk', args, chunks);
  }
  for (let r = 0; r < batch; r++) {
    for (let o = 0; o < outF; o++) {
      const q = r * outF + o;
      let s = b === null ? 0 : b[o]!;
      for (let j = 0; j < chunks; j++) s += part[j * size + q]!;
      y[q] = s;
    }
  }
}

// ---- Sparse input, weight gradient: gw[o, k] = Σ_r gy[r, o]·x[r, k] over the rows r with
// x[r, k] ≠ 0, r ascending: the dense GEMM's sum (one slice of depth batch ≤ KC, from +0) without
// its ±0 terms, so the same bits, as in the forward. An Inf or NaN in column o of gy facing a zero
// input would make the dense sum NaN: such outputs are summed densely.

// Columns k0 … k1 − 1 of gw: gather each column's non-zero rows (ascending) into
// rows[k·batch …], then every block of up to 8 outputs.
// prettier-ignore
function sparseGradWeightTask(a: TaskArgs, j: number): void {
  const [gw, gy, x, rows, bad, batch, inF, outF, per] = a as [
    FloatArray, FloatArray, FloatArray, Int32Array, Uint8Array, number, number, number, number,
  ];
  const k0 = j * per;
  const k1 = Math.min(inF, k0 + per);
  if (asmOn && gw instanceof Float32Array && x instanceof Float32Array) {
    sparseGradWeightAsm(gw, gy, x, bad, batch, inF, outF, k0, k1);
    return;
  }
  const cnt = gradCounts.length >= inF ? gradCounts : (gradCounts = new Int32Array(inF));
  cnt.fill(0, k0, k1);
  for (let r = 0; r < batch; r++) {
    const xr = r * inF;
    for (let k = k0; k < k1; k++) {
      // branch-free: the store always happens, the count moves only past a non-zero
      const c = cnt[k]!;
      rows[k * batch + c] = r;
      cnt[k] = c + (x[xr + k] !== 0 ? 1 : 0);
    }
  }
  for (let o0 = 0; o0 < outF; o0 += 8) {
    const ob = Math.min(8, outF - o0);
    const finite = allZero(bad, o0, o0 + ob);
    if (!finite) {
      gradWeightDense(gw, gy, x, batch, inF, outF, o0, ob, k0, k1);
      continue;
    }
    const g = (i: number): number => (i < ob ? o0 + i : o0);
    const g0 = g(0), g1 = g(1), g2 = g(2), g3 = g(3), g4 = g(4), g5 = g(5), g6 = g(6), g7 = g(7);
    for (let k = k0; k < k1; k++) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (let t = k * batch, e = t + cnt[k]!; t < e; t++) {
        const r = rows[t]!;
        const v = x[r * inF + k]!;
        const q = r * outF;
        a0 += gy[q + g0]! * v; a1 += gy[q + g1]! * v; a2 += gy[q + g2]! * v; a3 += gy[q + g3]! * v;
        a4 += gy[q + g4]! * v; a5 += gy[q + g5]! * v; a6 += gy[q + g6]! * v; a7 += gy[q + g7]! * v;
      }
      const d = o0 * inF + k;
      gw[d] = a0;
      if (ob > 1) gw[d + inF] = a1;
      if (ob > 2) gw[d + 2 * inF] = a2;
      if (ob > 3) gw[d + 3 * inF] = a3;
      if (ob > 4) gw[d + 4 * inF] = a4;
      if (ob > 5) gw[d + 5 * inF] = a5;
      if (ob > 6) gw[d + 6 * inF] = a6;
      if (ob > 7) gw[d + 7 * inF] = a7;
    }
  }
}
let gradCounts = new Int32Array(0);

// gw[o, k] for outputs o0 … o0 + ob − 1 and columns k0 … k1 − 1 summed densely over every row
// (the sparse tasks' path for an output whose gy column holds an Inf or NaN)
function gradWeightDense(
  gw: FloatArray,
  gy: FloatArray,
  x: FloatArray,
  batch: number,
  inF: number,
  outF: number,
  o0: number,
  ob: number,
  k0: number,
  k1: number,
): void {
  for (let o = o0; o < o0 + ob; o++) {
    for (let k = k0; k < k1; k++) {
      let acc = 0;
      for (let r = 0; r < batch; r++) acc += gy[r * outF + o]! * x[r * inF + k]!;
      gw[o * inF + k] = acc;
    }
  }
}

// sparseGradWeightTask in asm.js (float32 x and gw) for columns k0 … k1 − 1: those columns of x,
// gy as float64 (outputs padded with zeros to a multiple of 8) and the gathered rows in this
// thread's heap, gw's block written there as float32 and copied out row by row; a block with a
// non-finite gy column summed densely as in the JavaScript task. The same sums in the same order.
function sparseGradWeightAsm(
  gw: Float32Array,
  gy: FloatArray,
  x: Float32Array,
  bad: Uint8Array,
  batch: number,
  inF: number,
  outF: number,
  k0: number,
  k1: number,
): void {
  const nk = k1 - k0;
  if (nk <= 0) return;
  const outP = ceilTo(outF, 8);
  // 4-byte offsets: X | rows | counts | gw block, then 8-byte: gy
  const xOff = 0;
  const rowsOff = xOff + batch * nk;
  const cntOff = rowsOff + nk * batch;
  const gwOff = cntOff + nk;
  const gyOff = Math.ceil((gwOff + outP * nk) / 2);
  const hp = sparseHeap.get(gyOff + batch * outP);
  const { f32, f64 } = hp;
  for (let r = 0; r < batch; r++) {
    f32.set(x.subarray(r * inF + k0, r * inF + k1), xOff + r * nk);
    for (let o = 0; o < outP; o++) f64[gyOff + r * outP + o] = o < outF ? gy[r * outF + o]! : 0;
  }
  hp.k.gatherColumns(xOff, batch, nk, rowsOff, cntOff);
  for (let o0 = 0; o0 < outF; o0 += 8) {
    const ob = Math.min(8, outF - o0);
    const finite = allZero(bad, o0, o0 + ob);
    if (!finite) {
      gradWeightDense(gw, gy, x, batch, inF, outF, o0, ob, k0, k1);
      continue;
    }
    hp.k.gradColumns8(nk, batch, o0, xOff, gyOff, outP, rowsOff, cntOff, gwOff);
    for (let o = o0; o < o0 + ob; o++) {
      gw.set(f32.subarray(gwOff + o * nk, gwOff + (o + 1) * nk), o * inF + k0);
    }
  }
}
registerTask('linear.sparseGw', sparseGradWeightTask);

/**
 * The sparse-input path of linearBackward's weight gradient (inF ≥ LINEAR_KSPLIT, batch ≤ KC):
 * the same bits as the dense GEMM. Returns false, writing nothing, when x looks too dense.
 */
export function linearGradWeightSparse(
  gw: FloatArray,
  gy: FloatArray,
  x: FloatArray,
  batch: number,
  inF: number,
  outF: number,
): boolean {
  if (batch > KC || densityEstimate(x, batch * inF) > LINEAR_SPARSE_DENSITY) return false;
  const bad = new Uint8Array(new SharedArrayBuffer(outF));
  for (let r = 0; r < batch; r++) {
    for (let o = 0; o < outF; o++) if (!Number.isFinite(gy[r * outF + o])) bad[o] = 1;
  }
  const rows = sharedI32('linear.rows', inF * batch);
  const chunks = Math.ceil(inF / LINEAR_NCHUNK);
  const args: TaskArgs = [gw, gy, x, rows, bad, batch, inF, outF, LINEAR_NCHUNK];
  if (threadsFor(chunks) <= 1) {
    for (let j = 0; j < chunks; j++) sparseGradWeightTask(args, j);
    return true;
  }
  const gws = sharedOutput('gemm.c', gw, outF * inF);
  args[0] = gws;
  args[1] = sharedInput('linear.gy', gy, batch * outF);
  args[2] = sharedInput('gemm.b', x, batch * inF);
  parallelFor('linear.sparseGw', args, chunks);
  finishOutput(gw, gws);
  return true;
}

/**
 * Gradients of y = x·wᵀ + b given gy [batch,outF]; any output may be null (not computed).
 * gx[batch,inF] = gy·w; gw[outF,inF] = gyᵀ·x; gb[outF] = Σ_batch gy. Outputs are overwritten.
 */
export function linearBackward(
  gx: FloatArray | null,
  gw: FloatArray | null,
  gb: FloatArray | null,
  gy: FloatArray,
  x: FloatArray,
  w: FloatArray,
  batch: number,
  inF: number,
  outF: number,
): void {
  // prettier-ignore
  if (gx !== null) {
    gemmColumns(gx, 0, inF, gy, 0, outF, 1, batch * outF, w, 0, inF, 1, outF * inF,
      batch, inF, outF, 1, 0, batch * inF);
  }
  // prettier-ignore
  if (gw !== null && !(inF >= LINEAR_KSPLIT && linearGradWeightSparse(gw, gy, x, batch, inF, outF))) {
    gemmColumns(gw, 0, inF, gy, 0, 1, outF, batch * outF, x, 0, inF, 1, batch * inF,
      outF, inF, batch, 1, 0, outF * inF);
  }
  if (gb !== null) biasGrad(gb, gy, batch, outF);
}

function biasGrad(gb: FloatArray, gy: FloatArray, batch: number, outF: number): void {
  for (let o = 0; o < outF; o++) {
    let s = 0;
    for (let r = 0; r < batch; r++) s += gy[r * outF + o]!;
    gb[o] = s;
  }
}

/** Reference for `linearForward`. */
export function linearForwardNaive(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  batch: number,
  inF: number,
  outF: number,
): void {
  for (let r = 0; r < batch; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b === null ? 0 : b[o]!;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
      y[r * outF + o] = s;
    }
  }
}

/** Reference for `linearBackward`. */
export function linearBackwardNaive(
  gx: FloatArray | null,
  gw: FloatArray | null,
  gb: FloatArray | null,
  gy: FloatArray,
  x: FloatArray,
  w: FloatArray,
  batch: number,
  inF: number,
  outF: number,
): void {
  if (gx !== null) {
    for (let r = 0; r < batch; r++) {
      for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let o = 0; o < outF; o++) s += gy[r * outF + o]! * w[o * inF + i]!;
        gx[r * inF + i] = s;
      }
    }
  }
  if (gw !== null) {
    for (let o = 0; o < outF; o++) {
      for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let r = 0; r < batch; r++) s += gy[r * outF + o]! * x[r * inF + i]!;
        gw[o * inF + i] = s;
      }
    }
  }
  if (gb !== null) biasGrad(gb, gy, batch, outF);
}
