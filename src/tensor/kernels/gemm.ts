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
// MR×NR = 4×3: 12 accumulators + 7 operands fit V8's 16 x64 XMM registers without spilling
// (4×4, 4×8, 8×4 spill and run ~35% slower).

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
let packA = new Float64Array(MC * KC);
let packB = new Float64Array(NC * KC);
const tile = new Float64Array(MR * NR);

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
  if (packA.length < mcMax * kcMax) packA = new Float64Array(mcMax * kcMax);
  if (packB.length < ncMax * kcMax) packB = new Float64Array(ncMax * kcMax);
  const ap = packA;
  const bp = packB;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += kcMax) {
      const kc = Math.min(kcMax, k - p0);
      const bet = p0 === 0 ? beta : 1;
      packPanels(bp, b, bOff + p0 * bRs + j0 * bCs, bCs, bRs, nc, kc, NR);
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        packPanels(ap, a, aOff + i0 * aRs + p0 * aCs, aRs, aCs, mc, kc, MR);
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

/** y[batch,outF] = x[batch,inF]·wᵀ + b (b may be null). */
export function linearForward(
  y: FloatArray,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  batch: number,
  inF: number,
  outF: number,
): void {
  if (inF >= LINEAR_KSPLIT && batch > 0 && outF > 0) {
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
  if (gw !== null) {
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
