// The GEMM micro-kernel loops in asm.js (4×3 and 2×4 register tiles), and the sparse-input
// product of a deep linear layer (gemm.ts's linearForwardSparse).
//
// asm.js is a subset of JavaScript (every value typed by a coercion: `x | 0` int, `+x` double;
// memory one ArrayBuffer read through typed views). V8 validates a function marked 'use asm' and
// compiles it ahead of time through its WebAssembly pipeline: raw doubles and int32s in
// registers, no type guards and no deoptimisation. Every heap access still carries a bounds check
// (an asm.js read out of range gives NaN or 0, so V8 cannot fold it into a multiply or leave the
// check to a guard page; `node --print-wasm-code` shows it), and the 12-accumulator tiles spill a
// few values to the stack. In a bare loop over one tile in L1 every shape runs at the same speed
// (bench/trials/asmshapes.ts), but inside the panel loops, on F(6×6)'s real operands, the
// 8-accumulator 2×4 and 4×2 tiles take 0.81–0.88× and 0.66–0.86× the time of 3×4 (4×3: 0.89–1.02×;
// bench/trials/f6rows.ts, session 16); winograd6.ts uses 2×4 since. This is still JavaScript
// source, written by hand; an engine that does not validate asm.js runs the same code as ordinary
// JavaScript.
//
// Same bits as the plain-JavaScript micro-kernels: every product and sum is a float64 operation
// in the same order (WebAssembly, like JavaScript, never fuses a multiply-add).
//
// The heap has to be a plain ArrayBuffer whose size asm.js accepts (a power of two from 4 KiB to
// 16 MiB, or a multiple of 16 MiB). A SharedArrayBuffer does not link: V8 then prints a warning
// and runs the module as ordinary JavaScript. So each thread keeps its own heaps, and the kernels
// pack their operands into them (they pack into float64 panels anyway).

import { threadId } from 'node:worker_threads';

/** The kernels of one asm.js module instance; offsets and strides count float64 elements. */
export interface AsmKernels {
  /**
   * For panel pairs (i < mp, j < np): the 4×3 tile C[c + 4i·ldc + 3j …] (+)= Σ_p A_i[4p + r]·B_j[3p + s]
   * (r < 4, s < 3), where A_i starts at a + i·aStep and B_j at b + j·bStep (packed panels as in
   * gemm.ts). acc = 0 stores the sums, acc = 1 adds them to C.
   */
  panels(
    kc: number,
    mp: number,
    np: number,
    a: number,
    aStep: number,
    b: number,
    bStep: number,
    c: number,
    ldc: number,
    acc: number,
  ): void;
  /**
   * As `panels` (4×3 tiles, acc as there) with the depth indices listed instead of 0 … kc − 1:
   * tile (i, j) sums over k = I32[lst + q·lStep + r] for r < I32[cnt + q], in list order, where q
   * = i (perA = 1: one list per A panel) or q = j (perA = 0: per B panel). A term left out of the
   * list must be exactly zero, and the other factor finite: then every sum keeps its bits (each
   * starts at +0, never becomes −0, and adding ±0 to it changes nothing). Offsets of I32 count
   * 4-byte elements.
   */
  panelsIdx(
    mp: number,
    np: number,
    a: number,
    aStep: number,
    b: number,
    bStep: number,
    c: number,
    ldc: number,
    acc: number,
    lst: number,
    lStep: number,
    cnt: number,
    perA: number,
  ): void;
  /**
   * winograd6.ts's input transform (inputTile8: Bᵀ d B, the same sums in the same order) of the
   * tiles t < tb (tile I32[map + t] of a grid tw wide, top-left (6ty − padH, 6tx − padW)) that lie
   * inside the ki planes F32[x + c·h·w …] (h × w), to H[v + ξ·vStep + ((t >> 2)·ki + c)·4 +
   * (t & 3)]; tiles reaching outside are left to the caller. H[s …] (64 doubles) is scratch.
   * Offsets of F32 count 4-byte elements, of H 8-byte.
   */
  input8(
    x: number,
    ki: number,
    h: number,
    w: number,
    tb: number,
    map: number,
    tw: number,
    padH: number,
    padW: number,
    v: number,
    vStep: number,
    s: number,
  ): void;
  /**
   * winograd6.ts's pooled output transform for `nO` output channels × `tb` tiles of a block: for
   * each, Y = Aᵀ M A + H[bias + o] (6×6, M = H[m + o·TB + t + ξ·mStep], ξ = 8 row + column, the
   * sums in pooledTransform's order), stored as float32, then the 2×2 windows of max(ReLU(·))
   * as reluMaxBits gives them: tile t is tile I32[map + t] of a grid tw wide, its windows those inside
   * the pH × pW pooled plane, their bits written to I32[out + o·pH·pW + row·pW + column]. A
   * window holding a NaN is not computed; the return value is 1 if there was one (the caller
   * then takes the JavaScript path), else 0. H[s …] (48 doubles) and F32[ot …] (36) are scratch.
   * Offsets of F32 / I32 count 4-byte elements, of H 8-byte.
   */
  pooled6(
    nO: number,
    tb: number,
    m: number,
    mStep: number,
    TB: number,
    bias: number,
    out: number,
    s: number,
    ot: number,
    map: number,
    tw: number,
    pH: number,
    pW: number,
  ): number;
  /**
   * `panels24`'s first two columns of one tile panel (B at b, 4 wide): C[c + 2i·ldc + s] =
   * Σ_p A_i[2p + r]·B[4p + s] (r < 2, s < 2), the same sums; for a block whose last panel holds
   * one or two tiles (a skipped column costs as much as a computed one).
   */
  panel22(
    kc: number,
    mp: number,
    a: number,
    aStep: number,
    b: number,
    c: number,
    ldc: number,
  ): void;
  /** As `panel22` with the first three columns (a last panel of three tiles). */
  panel23: AsmKernels['panel22'];
  /**
   * As `panels` with 2×4 tiles (winograd6.ts's layout): the tile C[c + 2i·ldc + 4j …] =
   * Σ_p A_i[2p + r]·B_j[4p + s] (r < 2, s < 4); stores only.
   */
  panels24(
    kc: number,
    mp: number,
    np: number,
    a: number,
    aStep: number,
    b: number,
    bStep: number,
    c: number,
    ldc: number,
  ): void;
  /**
   * The non-zero columns of the `rows` rows of X = F32[x …] (rows × inF): row r's columns k
   * (ascending) whose value is not ±0 are written to I32[idx + r·inF …], and the end of the row's
   * list after slice s (slice ends I32[sl + s], exclusive k) to I32[ends + r·nS + s].
   * Offsets count 4-byte elements.
   */
  gatherNonZeros(
    x: number,
    rows: number,
    inF: number,
    nS: number,
    sl: number,
    idx: number,
    ends: number,
  ): void;
  /**
   * Outputs o0 … o0 + 7 of the `rows` rows of y = x·Wᵀ + b from gatherNonZeros' lists, summed as
   * gemm.ts's sparse product sums them: per slice from 0 over the row's non-zero k, slices of one
   * k-chunk combined (I32[first + s] = 1 starts a chunk: p = a, else p = a + p), each chunk's p
   * added to the bias in chunk order. W = F32[w …] (rows of inF), X as in gatherNonZeros, bias
   * H[b + o], results to H[y + r·ldy + o]. Offsets of F32 / I32 count 4-byte elements, of H 8-byte.
   */
  sparseRows8(
    rows: number,
    nS: number,
    inF: number,
    o0: number,
    x: number,
    w: number,
    idx: number,
    ends: number,
    first: number,
    b: number,
    y: number,
    ldy: number,
  ): void;
  /**
   * For each of the nk columns k of X = F32[x …] (batch × nk): its rows r (ascending) where the
   * value is not ±0, written to I32[rows + k·batch …], and their count to I32[cnt + k]
   * (the sparse weight gradient's gather). Offsets count 4-byte elements.
   */
  gatherColumns(x: number, batch: number, nk: number, rows: number, cnt: number): void;
  /**
   * Outputs o0 … o0 + 7 of gw[o, k] = Σ_r gy[r, o]·x[r, k] over the gathered rows of each column
   * (r ascending, from +0): GY = H[gy + r·ldg + o], X as in gatherColumns, results stored as
   * float32 to F32[gw + o·nk + k]. Offsets of F32 / I32 count 4-byte elements, of H 8-byte.
   */
  gradColumns8(
    nk: number,
    batch: number,
    o0: number,
    x: number,
    gy: number,
    ldg: number,
    rows: number,
    cnt: number,
    gw: number,
  ): void;
  /**
   * The 3×3 / stride-1 / unpadded convolution of one single-channel image F32[x …] (h × w) with
   * cOut kernels H[k + 9o …] (+ bias H[b + o]) into F32[y …] ([cOut, h − 2, w − 2]), each output
   * the float64 sum 0 + Σ tap·value in row-major tap order, then + bias, stored as float32;
   * `relu` = 1 stores max(·, 0) instead (NaN kept, −0 → +0), as reluForward does after it.
   * Output row r computes columns [I32[spans + 2r], I32[spans + 2r + 1]) and stores, left and
   * right of them, the same expression over a window of v's: the caller vouches that those
   * windows hold v (the value of a float32, so that F32 loads give it) and nothing else.
   * Offsets of F32 / I32 count 4-byte elements, of H 8-byte.
   */
  direct3x3(
    x: number,
    h: number,
    w: number,
    k: number,
    b: number,
    cOut: number,
    y: number,
    relu: number,
    spans: number,
    v: number,
  ): void;
}

// The module's source. It is a string, compiled with `new Function`, because a TypeScript
// transpiler would rewrite it out of asm.js (esbuild drops the 'use asm' directive and prints the
// double literal 0.0 as 0, which asm.js reads as an int).
const ASM_SOURCE = `'use asm';
var H = new stdlib.Float64Array(heap);
var F32 = new stdlib.Float32Array(heap);
var I32 = new stdlib.Int32Array(heap);
var imul = stdlib.Math.imul;

function panels(kc, mp, np, a, aStep, b, bStep, c, ldc, acc) {
  kc = kc | 0; mp = mp | 0; np = np | 0; a = a | 0; aStep = aStep | 0; b = b | 0;
  bStep = bStep | 0; c = c | 0; ldc = ldc | 0; acc = acc | 0;
  var i = 0, j = 0, p = 0, ai = 0, bi = 0, ci = 0, row = 0;
  var c00 = 0.0, c01 = 0.0, c02 = 0.0, c10 = 0.0, c11 = 0.0, c12 = 0.0;
  var c20 = 0.0, c21 = 0.0, c22 = 0.0, c30 = 0.0, c31 = 0.0, c32 = 0.0;
  var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0;
  row = ldc << 3;
  for (j = 0; (j | 0) < (np | 0); j = (j + 1) | 0) {
    for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
      ai = (a + imul(i, aStep)) << 3;
      bi = (b + imul(j, bStep)) << 3;
      c00 = 0.0; c01 = 0.0; c02 = 0.0; c10 = 0.0; c11 = 0.0; c12 = 0.0;
      c20 = 0.0; c21 = 0.0; c22 = 0.0; c30 = 0.0; c31 = 0.0; c32 = 0.0;
      for (p = 0; (p | 0) < (kc | 0); p = (p + 1) | 0) {
        a0 = +H[ai >> 3]; a1 = +H[(ai + 8) >> 3]; a2 = +H[(ai + 16) >> 3]; a3 = +H[(ai + 24) >> 3];
        b0 = +H[bi >> 3]; b1 = +H[(bi + 8) >> 3]; b2 = +H[(bi + 16) >> 3];
        c00 = c00 + a0 * b0; c01 = c01 + a0 * b1; c02 = c02 + a0 * b2;
        c10 = c10 + a1 * b0; c11 = c11 + a1 * b1; c12 = c12 + a1 * b2;
        c20 = c20 + a2 * b0; c21 = c21 + a2 * b1; c22 = c22 + a2 * b2;
        c30 = c30 + a3 * b0; c31 = c31 + a3 * b1; c32 = c32 + a3 * b2;
        ai = (ai + 32) | 0;
        bi = (bi + 24) | 0;
      }
      ci = (c + imul(i << 2, ldc) + imul(j, 3)) << 3;
      if (acc) {
        c00 = c00 + +H[ci >> 3]; c01 = c01 + +H[(ci + 8) >> 3]; c02 = c02 + +H[(ci + 16) >> 3];
        ci = (ci + row) | 0;
        c10 = c10 + +H[ci >> 3]; c11 = c11 + +H[(ci + 8) >> 3]; c12 = c12 + +H[(ci + 16) >> 3];
        ci = (ci + row) | 0;
        c20 = c20 + +H[ci >> 3]; c21 = c21 + +H[(ci + 8) >> 3]; c22 = c22 + +H[(ci + 16) >> 3];
        ci = (ci + row) | 0;
        c30 = c30 + +H[ci >> 3]; c31 = c31 + +H[(ci + 8) >> 3]; c32 = c32 + +H[(ci + 16) >> 3];
        ci = (ci - imul(row, 3)) | 0;
      }
      H[ci >> 3] = c00; H[(ci + 8) >> 3] = c01; H[(ci + 16) >> 3] = c02;
      ci = (ci + row) | 0;
      H[ci >> 3] = c10; H[(ci + 8) >> 3] = c11; H[(ci + 16) >> 3] = c12;
      ci = (ci + row) | 0;
      H[ci >> 3] = c20; H[(ci + 8) >> 3] = c21; H[(ci + 16) >> 3] = c22;
      ci = (ci + row) | 0;
      H[ci >> 3] = c30; H[(ci + 8) >> 3] = c31; H[(ci + 16) >> 3] = c32;
    }
  }
}

function panelsIdx(mp, np, a, aStep, b, bStep, c, ldc, acc, lst, lStep, cnt, perA) {
  mp = mp | 0; np = np | 0; a = a | 0; aStep = aStep | 0; b = b | 0; bStep = bStep | 0;
  c = c | 0; ldc = ldc | 0; acc = acc | 0; lst = lst | 0; lStep = lStep | 0; cnt = cnt | 0;
  perA = perA | 0;
  var i = 0, j = 0, q = 0, n = 0, l = 0, lEnd = 0, k = 0, a0i = 0, b0i = 0, ai = 0, bi = 0;
  var ci = 0, row = 0;
  var c00 = 0.0, c01 = 0.0, c02 = 0.0, c10 = 0.0, c11 = 0.0, c12 = 0.0;
  var c20 = 0.0, c21 = 0.0, c22 = 0.0, c30 = 0.0, c31 = 0.0, c32 = 0.0;
  var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0;
  row = ldc << 3;
  for (j = 0; (j | 0) < (np | 0); j = (j + 1) | 0) {
    for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
      q = perA ? i : j;
      n = I32[(cnt + q) << 2 >> 2] | 0;
      l = (lst + imul(q, lStep)) << 2;
      lEnd = (l + (n << 2)) | 0;
      a0i = (a + imul(i, aStep)) << 3;
      b0i = (b + imul(j, bStep)) << 3;
      c00 = 0.0; c01 = 0.0; c02 = 0.0; c10 = 0.0; c11 = 0.0; c12 = 0.0;
      c20 = 0.0; c21 = 0.0; c22 = 0.0; c30 = 0.0; c31 = 0.0; c32 = 0.0;
      for (; (l | 0) < (lEnd | 0); l = (l + 4) | 0) {
        k = I32[l >> 2] | 0;
        ai = (a0i + (k << 5)) | 0;
        bi = (b0i + imul(k, 24)) | 0;
        a0 = +H[ai >> 3]; a1 = +H[(ai + 8) >> 3]; a2 = +H[(ai + 16) >> 3]; a3 = +H[(ai + 24) >> 3];
        b0 = +H[bi >> 3]; b1 = +H[(bi + 8) >> 3]; b2 = +H[(bi + 16) >> 3];
        c00 = c00 + a0 * b0; c01 = c01 + a0 * b1; c02 = c02 + a0 * b2;
        c10 = c10 + a1 * b0; c11 = c11 + a1 * b1; c12 = c12 + a1 * b2;
        c20 = c20 + a2 * b0; c21 = c21 + a2 * b1; c22 = c22 + a2 * b2;
        c30 = c30 + a3 * b0; c31 = c31 + a3 * b1; c32 = c32 + a3 * b2;
      }
      ci = (c + imul(i << 2, ldc) + imul(j, 3)) << 3;
      if (acc) {
        c00 = c00 + +H[ci >> 3]; c01 = c01 + +H[(ci + 8) >> 3]; c02 = c02 + +H[(ci + 16) >> 3];
        ci = (ci + row) | 0;
        c10 = c10 + +H[ci >> 3]; c11 = c11 + +H[(ci + 8) >> 3]; c12 = c12 + +H[(ci + 16) >> 3];
        ci = (ci + row) | 0;
        c20 = c20 + +H[ci >> 3]; c21 = c21 + +H[(ci + 8) >> 3]; c22 = c22 + +H[(ci + 16) >> 3];
        ci = (ci + row) | 0;
        c30 = c30 + +H[ci >> 3]; c31 = c31 + +H[(ci + 8) >> 3]; c32 = c32 + +H[(ci + 16) >> 3];
        ci = (ci - imul(row, 3)) | 0;
      }
      H[ci >> 3] = c00; H[(ci + 8) >> 3] = c01; H[(ci + 16) >> 3] = c02;
      ci = (ci + row) | 0;
      H[ci >> 3] = c10; H[(ci + 8) >> 3] = c11; H[(ci + 16) >> 3] = c12;
      ci = (ci + row) | 0;
      H[ci >> 3] = c20; H[(ci + 8) >> 3] = c21; H[(ci + 16) >> 3] = c22;
      ci = (ci + row) | 0;
      H[ci >> 3] = c30; H[(ci + 8) >> 3] = c31; H[(ci + 16) >> 3] = c32;
    }
  }
}

function input8(x, ki, h, w, tb, map, tw, padH, padW, v, vStep, s) {
  x = x | 0; ki = ki | 0; h = h | 0; w = w | 0; tb = tb | 0; map = map | 0; tw = tw | 0;
  padH = padH | 0; padW = padW | 0; v = v | 0; vStep = vStep | 0; s = s | 0;
  var c = 0, t = 0, tt = 0, ty = 0, tx = 0, r0 = 0, c0 = 0, src = 0, j = 0, i = 0, q = 0;
  var dst = 0, st = 0, row = 0;
  var d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0, d4 = 0.0, d5 = 0.0, d6 = 0.0, d7 = 0.0;
  var e = 0.0, f = 0.0;
  st = vStep << 3;
  row = w << 2;
  for (t = 0; (t | 0) < (tb | 0); t = (t + 1) | 0) {
    tt = I32[(map + t) << 2 >> 2] | 0;
    ty = ((tt >>> 0) / (tw >>> 0)) | 0;
    tx = (tt - imul(ty, tw)) | 0;
    r0 = (imul(ty, 6) - padH) | 0;
    c0 = (imul(tx, 6) - padW) | 0;
    if ((r0 | 0) < 0) continue;
    if ((c0 | 0) < 0) continue;
    if (((r0 + 8) | 0) > (h | 0)) continue;
    if (((c0 + 8) | 0) > (w | 0)) continue;
    for (c = 0; (c | 0) < (ki | 0); c = (c + 1) | 0) {
      src = (x + imul(c, imul(h, w)) + imul(r0, w) + c0) << 2;
      // columns: Bᵀ over the 8 rows of column j, to scratch row-major (8k + j)
      for (j = 0; (j | 0) < 8; j = (j + 1) | 0) {
        q = (src + (j << 2)) | 0;
        d0 = +F32[q >> 2]; q = (q + row) | 0; d1 = +F32[q >> 2]; q = (q + row) | 0;
        d2 = +F32[q >> 2]; q = (q + row) | 0; d3 = +F32[q >> 2]; q = (q + row) | 0;
        d4 = +F32[q >> 2]; q = (q + row) | 0; d5 = +F32[q >> 2]; q = (q + row) | 0;
        d6 = +F32[q >> 2]; q = (q + row) | 0; d7 = +F32[q >> 2];
        q = (s + j) << 3;
        H[q >> 3] = d0 - d6 + 5.25 * (d4 - d2);
        H[(q + 448) >> 3] = d7 - d1 + 5.25 * (d3 - d5);
        e = d2 + d6 - 4.25 * d4; f = d1 + d5 - 4.25 * d3;
        H[(q + 64) >> 3] = e + f; H[(q + 128) >> 3] = e - f;
        e = d6 + 0.25 * d2 - 1.25 * d4; f = 0.5 * d1 - 2.5 * d3 + 2.0 * d5;
        H[(q + 192) >> 3] = e + f; H[(q + 256) >> 3] = e - f;
        e = d6 + 4.0 * d2 - 5.0 * d4; f = 2.0 * d1 - 2.5 * d3 + 0.5 * d5;
        H[(q + 320) >> 3] = e + f; H[(q + 384) >> 3] = e - f;
      }
      // rows: Bᵀ over row i of the scratch, to ξ = 8i + k
      dst = (v + ((imul(t >> 2, ki) + c) << 2) + (t & 3)) | 0;
      for (i = 0; (i | 0) < 8; i = (i + 1) | 0) {
        q = (s + (i << 3)) << 3;
        d0 = +H[q >> 3]; d1 = +H[(q + 8) >> 3]; d2 = +H[(q + 16) >> 3]; d3 = +H[(q + 24) >> 3];
        d4 = +H[(q + 32) >> 3]; d5 = +H[(q + 40) >> 3]; d6 = +H[(q + 48) >> 3]; d7 = +H[(q + 56) >> 3];
        q = (dst + imul(i << 3, vStep)) << 3;
        H[q >> 3] = d0 - d6 + 5.25 * (d4 - d2);
        H[(q + imul(st, 7)) >> 3] = d7 - d1 + 5.25 * (d3 - d5);
        e = d2 + d6 - 4.25 * d4; f = d1 + d5 - 4.25 * d3;
        H[(q + st) >> 3] = e + f; H[(q + (st << 1)) >> 3] = e - f;
        e = d6 + 0.25 * d2 - 1.25 * d4; f = 0.5 * d1 - 2.5 * d3 + 2.0 * d5;
        H[(q + imul(st, 3)) >> 3] = e + f; H[(q + (st << 2)) >> 3] = e - f;
        e = d6 + 4.0 * d2 - 5.0 * d4; f = 2.0 * d1 - 2.5 * d3 + 0.5 * d5;
        H[(q + imul(st, 5)) >> 3] = e + f; H[(q + imul(st, 6)) >> 3] = e - f;
      }
    }
  }
}

function pooled6(nO, tb, m, mStep, TB, bias, out, s, ot, map, tw, pH, pW) {
  nO = nO | 0; tb = tb | 0; m = m | 0; mStep = mStep | 0; TB = TB | 0; bias = bias | 0;
  out = out | 0; s = s | 0; ot = ot | 0; map = map | 0; tw = tw | 0; pH = pH | 0; pW = pW | 0;
  var o = 0, t = 0, j = 0, i = 0, q = 0, r = 0, st = 0, k = 0, w = 0, pr = 0, pc = 0, base = 0;
  var tt = 0, ty = 0, tx = 0, prs = 0, pcs = 0;
  var ba = 0, bb = 0, bc = 0, bd = 0, nan = 0, ra = 0, rb = 0, rc = 0, rd = 0, d8 = 0, mx = 0;
  var m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0, m4 = 0.0, m5 = 0.0, m6 = 0.0, m7 = 0.0;
  var a = 0.0, d = 0.0, c = 0.0, e = 0.0, f = 0.0, g = 0.0, bv = 0.0;
  st = mStep << 3;
  for (o = 0; (o | 0) < (nO | 0); o = (o + 1) | 0) {
    bv = +H[(bias + o) << 3 >> 3];
    for (t = 0; (t | 0) < (tb | 0); t = (t + 1) | 0) {
      // S = Aᵀ M (6×8), column j from M's ξ = 8k + j, k = 0 … 7
      for (j = 0; (j | 0) < 8; j = (j + 1) | 0) {
        q = (m + imul(o, TB) + t + imul(j, mStep)) << 3;
        d8 = st << 3;
        m0 = +H[q >> 3]; m1 = +H[(q + d8) >> 3]; m2 = +H[(q + (d8 << 1)) >> 3];
        m3 = +H[(q + imul(d8, 3)) >> 3]; m4 = +H[(q + (d8 << 2)) >> 3];
        m5 = +H[(q + imul(d8, 5)) >> 3]; m6 = +H[(q + imul(d8, 6)) >> 3];
        m7 = +H[(q + imul(d8, 7)) >> 3];
        a = m1 + m2; d = m1 - m2; c = m3 + m4; e = m3 - m4; f = m5 + m6; g = m5 - m6;
        r = (s + j) << 3;
        H[r >> 3] = m0 + a + c + f;
        H[(r + 64) >> 3] = d + 2.0 * e + 0.5 * g;
        H[(r + 128) >> 3] = a + 4.0 * c + 0.25 * f;
        H[(r + 192) >> 3] = d + 8.0 * e + 0.125 * g;
        H[(r + 256) >> 3] = a + 16.0 * c + 0.0625 * f;
        H[(r + 320) >> 3] = d + 32.0 * e + 0.03125 * g + m7;
      }
      // Y = S A (+ bias), row by row, stored as float32
      for (i = 0; (i | 0) < 6; i = (i + 1) | 0) {
        r = (s + (i << 3)) << 3;
        m1 = +H[(r + 8) >> 3]; m2 = +H[(r + 16) >> 3]; m3 = +H[(r + 24) >> 3];
        m4 = +H[(r + 32) >> 3]; m5 = +H[(r + 40) >> 3]; m6 = +H[(r + 48) >> 3];
        a = m1 + m2; d = m1 - m2; c = m3 + m4; e = m3 - m4; f = m5 + m6; g = m5 - m6;
        q = (ot + imul(i, 6)) << 2;
        F32[q >> 2] = +H[r >> 3] + a + c + f + bv;
        F32[(q + 4) >> 2] = d + 2.0 * e + 0.5 * g + bv;
        F32[(q + 8) >> 2] = a + 4.0 * c + 0.25 * f + bv;
        F32[(q + 12) >> 2] = d + 8.0 * e + 0.125 * g + bv;
        F32[(q + 16) >> 2] = a + 16.0 * c + 0.0625 * f + bv;
        F32[(q + 20) >> 2] = d + 32.0 * e + 0.03125 * g + +H[(r + 56) >> 3] + bv;
      }
      // the windows inside the pooled plane: max of ReLU on the bits (pool.ts reluMaxBits)
      tt = I32[(map + t) << 2 >> 2] | 0;
      ty = ((tt >>> 0) / (tw >>> 0)) | 0;
      tx = (tt - imul(ty, tw)) | 0;
      prs = (pH - imul(ty, 3)) | 0;
      if ((prs | 0) > 3) prs = 3;
      pcs = (pW - imul(tx, 3)) | 0;
      if ((pcs | 0) > 3) pcs = 3;
      for (pr = 0; (pr | 0) < (prs | 0); pr = (pr + 1) | 0) {
        base = (out + imul(o, imul(pH, pW)) + imul(imul(ty, 3) + pr | 0, pW) + imul(tx, 3)) << 2;
        for (pc = 0; (pc | 0) < (pcs | 0); pc = (pc + 1) | 0) {
          k = (ot + imul(pr, 12) + (pc << 1)) << 2;
          ba = I32[k >> 2] | 0; bb = I32[(k + 4) >> 2] | 0;
          bc = I32[(k + 24) >> 2] | 0; bd = I32[(k + 28) >> 2] | 0;
          nan = (0x7f800000 - (ba & 0x7fffffff)) | (0x7f800000 - (bb & 0x7fffffff)) |
            (0x7f800000 - (bc & 0x7fffffff)) | (0x7f800000 - (bd & 0x7fffffff));
          if ((nan | 0) < 0) return 1;
          ra = ba & ~(ba >> 31); rb = bb & ~(bb >> 31); rc = bc & ~(bc >> 31); rd = bd & ~(bd >> 31);
          w = (ra - rb) | 0; mx = (ra - (w & (w >> 31))) | 0;
          w = (mx - rc) | 0; mx = (mx - (w & (w >> 31))) | 0;
          w = (mx - rd) | 0; mx = (mx - (w & (w >> 31))) | 0;
          I32[(base + (pc << 2)) >> 2] = mx;
        }
      }
    }
  }
  return 0;
}

function panels24(kc, mp, np, a, aStep, b, bStep, c, ldc) {
  kc = kc | 0; mp = mp | 0; np = np | 0; a = a | 0; aStep = aStep | 0; b = b | 0;
  bStep = bStep | 0; c = c | 0; ldc = ldc | 0;
  var i = 0, j = 0, p = 0, ai = 0, bi = 0, ci = 0, row = 0;
  var c00 = 0.0, c01 = 0.0, c02 = 0.0, c03 = 0.0, c10 = 0.0, c11 = 0.0, c12 = 0.0, c13 = 0.0;
  var a0 = 0.0, a1 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0;
  row = ldc << 3;
  for (j = 0; (j | 0) < (np | 0); j = (j + 1) | 0) {
    for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
      ai = (a + imul(i, aStep)) << 3;
      bi = (b + imul(j, bStep)) << 3;
      c00 = 0.0; c01 = 0.0; c02 = 0.0; c03 = 0.0; c10 = 0.0; c11 = 0.0; c12 = 0.0; c13 = 0.0;
      for (p = 0; (p | 0) < (kc | 0); p = (p + 1) | 0) {
        a0 = +H[ai >> 3]; a1 = +H[(ai + 8) >> 3];
        b0 = +H[bi >> 3]; b1 = +H[(bi + 8) >> 3]; b2 = +H[(bi + 16) >> 3]; b3 = +H[(bi + 24) >> 3];
        c00 = c00 + a0 * b0; c01 = c01 + a0 * b1; c02 = c02 + a0 * b2; c03 = c03 + a0 * b3;
        c10 = c10 + a1 * b0; c11 = c11 + a1 * b1; c12 = c12 + a1 * b2; c13 = c13 + a1 * b3;
        ai = (ai + 16) | 0;
        bi = (bi + 32) | 0;
      }
      ci = (c + imul(i << 1, ldc) + (j << 2)) << 3;
      H[ci >> 3] = c00; H[(ci + 8) >> 3] = c01; H[(ci + 16) >> 3] = c02; H[(ci + 24) >> 3] = c03;
      ci = (ci + row) | 0;
      H[ci >> 3] = c10; H[(ci + 8) >> 3] = c11; H[(ci + 16) >> 3] = c12; H[(ci + 24) >> 3] = c13;
    }
  }
}

function panel23(kc, mp, a, aStep, b, c, ldc) {
  kc = kc | 0; mp = mp | 0; a = a | 0; aStep = aStep | 0; b = b | 0; c = c | 0; ldc = ldc | 0;
  var i = 0, p = 0, ai = 0, bi = 0, ci = 0, row = 0;
  var c00 = 0.0, c01 = 0.0, c02 = 0.0, c10 = 0.0, c11 = 0.0, c12 = 0.0;
  var a0 = 0.0, a1 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0;
  row = ldc << 3;
  for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
    ai = (a + imul(i, aStep)) << 3;
    bi = b << 3;
    c00 = 0.0; c01 = 0.0; c02 = 0.0; c10 = 0.0; c11 = 0.0; c12 = 0.0;
    for (p = 0; (p | 0) < (kc | 0); p = (p + 1) | 0) {
      a0 = +H[ai >> 3]; a1 = +H[(ai + 8) >> 3];
      b0 = +H[bi >> 3]; b1 = +H[(bi + 8) >> 3]; b2 = +H[(bi + 16) >> 3];
      c00 = c00 + a0 * b0; c01 = c01 + a0 * b1; c02 = c02 + a0 * b2;
      c10 = c10 + a1 * b0; c11 = c11 + a1 * b1; c12 = c12 + a1 * b2;
      ai = (ai + 16) | 0;
      bi = (bi + 32) | 0;
    }
    ci = (c + imul(i << 1, ldc)) << 3;
    H[ci >> 3] = c00; H[(ci + 8) >> 3] = c01; H[(ci + 16) >> 3] = c02;
    ci = (ci + row) | 0;
    H[ci >> 3] = c10; H[(ci + 8) >> 3] = c11; H[(ci + 16) >> 3] = c12;
  }
}

function panel22(kc, mp, a, aStep, b, c, ldc) {
  kc = kc | 0; mp = mp | 0; a = a | 0; aStep = aStep | 0; b = b | 0; c = c | 0; ldc = ldc | 0;
  var i = 0, p = 0, ai = 0, bi = 0, ci = 0, row = 0;
  var c00 = 0.0, c01 = 0.0, c10 = 0.0, c11 = 0.0;
  var a0 = 0.0, a1 = 0.0, b0 = 0.0, b1 = 0.0;
  row = ldc << 3;
  for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
    ai = (a + imul(i, aStep)) << 3;
    bi = b << 3;
    c00 = 0.0; c01 = 0.0; c10 = 0.0; c11 = 0.0;
    for (p = 0; (p | 0) < (kc | 0); p = (p + 1) | 0) {
      a0 = +H[ai >> 3]; a1 = +H[(ai + 8) >> 3];
      b0 = +H[bi >> 3]; b1 = +H[(bi + 8) >> 3];
      c00 = c00 + a0 * b0; c01 = c01 + a0 * b1;
      c10 = c10 + a1 * b0; c11 = c11 + a1 * b1;
      ai = (ai + 16) | 0;
      bi = (bi + 32) | 0;
    }
    ci = (c + imul(i << 1, ldc)) << 3;
    H[ci >> 3] = c00; H[(ci + 8) >> 3] = c01;
    ci = (ci + row) | 0;
    H[ci >> 3] = c10; H[(ci + 8) >> 3] = c11;
  }
}

function gatherNonZeros(x, rows, inF, nS, sl, idx, ends) {
  x = x | 0; rows = rows | 0; inF = inF | 0; nS = nS | 0; sl = sl | 0; idx = idx | 0; ends = ends | 0;
  var r = 0, s = 0, k = 0, e = 0, t = 0, xr = 0;
  for (r = 0; (r | 0) < (rows | 0); r = (r + 1) | 0) {
    xr = (x + imul(r, inF)) | 0;
    t = (idx + imul(r, inF)) | 0;
    k = 0;
    for (s = 0; (s | 0) < (nS | 0); s = (s + 1) | 0) {
      e = I32[(sl + s) << 2 >> 2] | 0;
      // branch-free: the store always happens, the cursor moves only past a non-zero
      for (; (k | 0) < (e | 0); k = (k + 1) | 0) {
        I32[t << 2 >> 2] = k;
        t = (t + (+F32[(xr + k) << 2 >> 2] != 0.0)) | 0;
      }
      I32[(ends + imul(r, nS) + s) << 2 >> 2] = (t - idx) | 0;
    }
  }
}

function sparseRows8(rows, nS, inF, o0, x, w, idx, ends, first, b, y, ldy) {
  rows = rows | 0; nS = nS | 0; inF = inF | 0; o0 = o0 | 0; x = x | 0; w = w | 0; idx = idx | 0;
  ends = ends | 0; first = first | 0; b = b | 0; y = y | 0; ldy = ldy | 0;
  var r = 0, s = 0, t = 0, e = 0, k = 0, wr = 0, wp = 0, xr = 0, q = 0, rs = 0, last = 0;
  var v = 0.0, a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
  var p0 = 0.0, p1 = 0.0, p2 = 0.0, p3 = 0.0, p4 = 0.0, p5 = 0.0, p6 = 0.0, p7 = 0.0;
  var y0 = 0.0, y1 = 0.0, y2 = 0.0, y3 = 0.0, y4 = 0.0, y5 = 0.0, y6 = 0.0, y7 = 0.0;
  rs = inF << 2;
  wr = (w + imul(o0, inF)) | 0;
  for (r = 0; (r | 0) < (rows | 0); r = (r + 1) | 0) {
    q = (b + o0) << 3;
    y0 = +H[q >> 3]; y1 = +H[(q + 8) >> 3]; y2 = +H[(q + 16) >> 3]; y3 = +H[(q + 24) >> 3];
    y4 = +H[(q + 32) >> 3]; y5 = +H[(q + 40) >> 3]; y6 = +H[(q + 48) >> 3]; y7 = +H[(q + 56) >> 3];
    xr = (x + imul(r, inF)) | 0;
    t = (idx + imul(r, inF)) | 0;
    for (s = 0; (s | 0) < (nS | 0); s = (s + 1) | 0) {
      e = (idx + (I32[(ends + imul(r, nS) + s) << 2 >> 2] | 0)) | 0;
      a0 = 0.0; a1 = 0.0; a2 = 0.0; a3 = 0.0; a4 = 0.0; a5 = 0.0; a6 = 0.0; a7 = 0.0;
      for (; (t | 0) < (e | 0); t = (t + 1) | 0) {
        k = I32[t << 2 >> 2] | 0;
        v = +F32[(xr + k) << 2 >> 2];
        wp = (wr + k) << 2;
        a0 = a0 + v * +F32[wp >> 2]; wp = (wp + rs) | 0;
        a1 = a1 + v * +F32[wp >> 2]; wp = (wp + rs) | 0;
        a2 = a2 + v * +F32[wp >> 2]; wp = (wp + rs) | 0;
        a3 = a3 + v * +F32[wp >> 2]; wp = (wp + rs) | 0;
        a4 = a4 + v * +F32[wp >> 2]; wp = (wp + rs) | 0;
        a5 = a5 + v * +F32[wp >> 2]; wp = (wp + rs) | 0;
        a6 = a6 + v * +F32[wp >> 2]; wp = (wp + rs) | 0;
        a7 = a7 + v * +F32[wp >> 2];
      }
      if (I32[(first + s) << 2 >> 2] | 0) {
        p0 = a0; p1 = a1; p2 = a2; p3 = a3; p4 = a4; p5 = a5; p6 = a6; p7 = a7;
      } else {
        p0 = a0 + p0; p1 = a1 + p1; p2 = a2 + p2; p3 = a3 + p3;
        p4 = a4 + p4; p5 = a5 + p5; p6 = a6 + p6; p7 = a7 + p7;
      }
      last = 1;
      if (((s + 1) | 0) < (nS | 0)) last = I32[(first + s + 1) << 2 >> 2] | 0;
      if (last) {
        y0 = y0 + p0; y1 = y1 + p1; y2 = y2 + p2; y3 = y3 + p3;
        y4 = y4 + p4; y5 = y5 + p5; y6 = y6 + p6; y7 = y7 + p7;
      }
    }
    q = (y + imul(r, ldy) + o0) << 3;
    H[q >> 3] = y0; H[(q + 8) >> 3] = y1; H[(q + 16) >> 3] = y2; H[(q + 24) >> 3] = y3;
    H[(q + 32) >> 3] = y4; H[(q + 40) >> 3] = y5; H[(q + 48) >> 3] = y6; H[(q + 56) >> 3] = y7;
  }
}

function direct3x3(x, h, w, k, b, cOut, y, relu, spans, v) {
  x = x | 0; h = h | 0; w = w | 0; k = k | 0; b = b | 0; cOut = cOut | 0; y = y | 0; relu = relu | 0;
  spans = spans | 0; v = +v;
  var o = 0, r = 0, c = 0, i0 = 0, outH = 0, outW = 0, q = 0, yo = 0, row = 0, b0i = 0;
  var lo = 0, hi = 0;
  var w0 = 0.0, w1 = 0.0, w2 = 0.0, w3 = 0.0, w4 = 0.0, w5 = 0.0, w6 = 0.0, w7 = 0.0, w8 = 0.0;
  var bias = 0.0, a0 = 0.0, a1 = 0.0, a2 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0;
  var c0 = 0.0, c1 = 0.0, c2 = 0.0, s = 0.0, cst = 0.0;
  outH = (h - 2) | 0; outW = (w - 2) | 0; row = w << 2;
  yo = y << 2;
  for (o = 0; (o | 0) < (cOut | 0); o = (o + 1) | 0) {
    q = (k + imul(o, 9)) << 3;
    w0 = +H[q >> 3]; w1 = +H[(q + 8) >> 3]; w2 = +H[(q + 16) >> 3];
    w3 = +H[(q + 24) >> 3]; w4 = +H[(q + 32) >> 3]; w5 = +H[(q + 40) >> 3];
    w6 = +H[(q + 48) >> 3]; w7 = +H[(q + 56) >> 3]; w8 = +H[(q + 64) >> 3];
    bias = +H[(b + o) << 3 >> 3];
    // the output of a window holding v everywhere, by the loop's expression
    cst = 0.0 + w0 * v + w1 * v + w2 * v + w3 * v + w4 * v + w5 * v + w6 * v + w7 * v + w8 * v;
    cst = cst + bias;
    for (r = 0; (r | 0) < (outH | 0); r = (r + 1) | 0) {
      lo = I32[(spans + (r << 1)) << 2 >> 2] | 0;
      hi = I32[(spans + (r << 1) + 1) << 2 >> 2] | 0;
      for (c = 0; (c | 0) < (lo | 0); c = (c + 1) | 0) {
        F32[yo >> 2] = cst;
        yo = (yo + 4) | 0;
      }
      i0 = (x + imul(r, w) + lo) << 2;
      a0 = +F32[i0 >> 2]; a1 = +F32[(i0 + 4) >> 2];
      b0 = +F32[(i0 + row) >> 2]; b1 = +F32[(i0 + row + 4) >> 2];
      c0 = +F32[(i0 + (row << 1)) >> 2]; c1 = +F32[(i0 + (row << 1) + 4) >> 2];
      i0 = (i0 + 8) | 0;
      for (c = lo; (c | 0) < (hi | 0); c = (c + 1) | 0) {
        a2 = +F32[i0 >> 2]; b2 = +F32[(i0 + row) >> 2]; c2 = +F32[(i0 + (row << 1)) >> 2];
        s = 0.0 + w0 * a0 + w1 * a1 + w2 * a2 + w3 * b0 + w4 * b1 + w5 * b2 + w6 * c0 + w7 * c1 + w8 * c2;
        F32[yo >> 2] = s + bias;
        yo = (yo + 4) | 0;
        i0 = (i0 + 4) | 0;
        a0 = a1; a1 = a2; b0 = b1; b1 = b2; c0 = c1; c1 = c2;
      }
      for (c = hi; (c | 0) < (outW | 0); c = (c + 1) | 0) {
        F32[yo >> 2] = cst;
        yo = (yo + 4) | 0;
      }
    }
  }
  if (relu) {
    // ReLU on the stored float32 bits, branch-free as reluForward's (the signs of real
    // activations are coin flips: a branch on them ran the loop 2.5× slower); a NaN keeps its
    // bits (that branch is never taken on real data)
    for (q = y << 2; (q | 0) < (yo | 0); q = (q + 4) | 0) {
      b0i = I32[q >> 2] | 0;
      I32[q >> 2] = b0i & ~(b0i >> 31);
      if ((b0i & 0x7fffffff) > 0x7f800000) I32[q >> 2] = b0i;
    }
  }
}

function gatherColumns(x, batch, nk, rows, cnt) {
  x = x | 0; batch = batch | 0; nk = nk | 0; rows = rows | 0; cnt = cnt | 0;
  var r = 0, k = 0, c = 0, xr = 0;
  for (k = 0; (k | 0) < (nk | 0); k = (k + 1) | 0) I32[(cnt + k) << 2 >> 2] = 0;
  for (r = 0; (r | 0) < (batch | 0); r = (r + 1) | 0) {
    xr = (x + imul(r, nk)) | 0;
    for (k = 0; (k | 0) < (nk | 0); k = (k + 1) | 0) {
      // branch-free: the store always happens, the count moves only past a non-zero
      c = I32[(cnt + k) << 2 >> 2] | 0;
      I32[(rows + imul(k, batch) + c) << 2 >> 2] = r;
      I32[(cnt + k) << 2 >> 2] = (c + (+F32[(xr + k) << 2 >> 2] != 0.0)) | 0;
    }
  }
}

function gradColumns8(nk, batch, o0, x, gy, ldg, rows, cnt, gw) {
  nk = nk | 0; batch = batch | 0; o0 = o0 | 0; x = x | 0; gy = gy | 0; ldg = ldg | 0;
  rows = rows | 0; cnt = cnt | 0; gw = gw | 0;
  var k = 0, t = 0, e = 0, r = 0, q = 0, d = 0, row = 0;
  var v = 0.0, a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
  row = nk << 2;
  for (k = 0; (k | 0) < (nk | 0); k = (k + 1) | 0) {
    a0 = 0.0; a1 = 0.0; a2 = 0.0; a3 = 0.0; a4 = 0.0; a5 = 0.0; a6 = 0.0; a7 = 0.0;
    t = (rows + imul(k, batch)) | 0;
    e = (t + (I32[(cnt + k) << 2 >> 2] | 0)) | 0;
    for (; (t | 0) < (e | 0); t = (t + 1) | 0) {
      r = I32[t << 2 >> 2] | 0;
      v = +F32[(x + imul(r, nk) + k) << 2 >> 2];
      q = (gy + imul(r, ldg) + o0) << 3;
      a0 = a0 + +H[q >> 3] * v; a1 = a1 + +H[(q + 8) >> 3] * v;
      a2 = a2 + +H[(q + 16) >> 3] * v; a3 = a3 + +H[(q + 24) >> 3] * v;
      a4 = a4 + +H[(q + 32) >> 3] * v; a5 = a5 + +H[(q + 40) >> 3] * v;
      a6 = a6 + +H[(q + 48) >> 3] * v; a7 = a7 + +H[(q + 56) >> 3] * v;
    }
    d = (gw + imul(o0, nk) + k) << 2;
    F32[d >> 2] = a0; d = (d + row) | 0; F32[d >> 2] = a1; d = (d + row) | 0;
    F32[d >> 2] = a2; d = (d + row) | 0; F32[d >> 2] = a3; d = (d + row) | 0;
    F32[d >> 2] = a4; d = (d + row) | 0; F32[d >> 2] = a5; d = (d + row) | 0;
    F32[d >> 2] = a6; d = (d + row) | 0; F32[d >> 2] = a7;
  }
}

return {
  gatherColumns: gatherColumns,
  gradColumns8: gradColumns8,
  panels: panels,
  panelsIdx: panelsIdx,
  pooled6: pooled6,
  panel22: panel22,
  panel23: panel23,
  input8: input8,
  panels24: panels24,
  gatherNonZeros: gatherNonZeros,
  sparseRows8: sparseRows8,
  direct3x3: direct3x3
};`;

type AsmModule = (stdlib: typeof globalThis, foreign: null, heap: ArrayBuffer) => AsmKernels;

// compiled from source on purpose: see ASM_SOURCE
const asmModule = new Function('stdlib', 'foreign', 'heap', ASM_SOURCE) as AsmModule;

/** Whether kernels use the asm.js micro-kernels (default on; `SHIFTGRAD_ASM=0` turns them off). */
export let asmOn = process.env.SHIFTGRAD_ASM !== '0';

/** Turn the asm.js micro-kernels on or off in this thread (benchmarks compare the two). */
export function setAsm(on: boolean): void {
  asmOn = on;
}

/** The smallest heap size asm.js accepts that holds `bytes`. */
export function asmHeapBytes(bytes: number): number {
  const MIB16 = 1 << 24;
  if (bytes > MIB16) return Math.ceil(bytes / MIB16) * MIB16;
  let size = 1 << 12;
  while (size < bytes) size *= 2;
  return size;
}

/** A heap of at least `doubles` float64 elements, its view, and a module instance linked to it. */
export interface AsmHeap {
  f64: Float64Array;
  /** The same heap as float32 and int32 elements. */
  f32: Float32Array;
  i32: Int32Array;
  k: AsmKernels;
}

export function asmHeap(doubles: number): AsmHeap {
  const buffer = new ArrayBuffer(asmHeapBytes(doubles * 8));
  return {
    f64: new Float64Array(buffer),
    f32: new Float32Array(buffer),
    i32: new Int32Array(buffer),
    k: asmModule(globalThis, null, buffer),
  };
}

/**
 * A per-thread asm.js heap that grows on demand (a new heap and module instance; the contents are
 * not kept). `load` copies a stamped operand (see `stamp`) to the start of the heap unless the heap
 * already holds that stamp, so weights transformed once per call are copied once per thread.
 */
export class AsmScratch {
  private heap: AsmHeap | null = null;
  private loaded = NaN;

  get(doubles: number): AsmHeap {
    if (this.heap === null || this.heap.f64.length < doubles) {
      this.heap = asmHeap(doubles);
      this.loaded = NaN;
    }
    return this.heap;
  }

  /** Runs `fill` (which writes an operand into the heap) unless the heap holds `stamp` already. */
  once(h: AsmHeap, stamp: number, fill: () => void): void {
    if (stamp === this.loaded && this.heap === h) return; // NaN never equals
    fill();
    this.loaded = stamp;
  }

  /** src[0, n) to heap[0, n); src[n], if present, is its stamp. */
  load(h: AsmHeap, src: Float64Array, n: number): void {
    const s = src.length > n ? src[n]! : NaN;
    if (s === this.loaded) return; // NaN (no stamp) never equals
    h.f64.set(src.subarray(0, n), 0);
    this.loaded = s;
  }
}

/**
 * Scratch of a kernel that multiplies a stamped operand U by per-call panels V into M (Winograd's
 * forward): with asm.js all three share one heap, [U | V | M], U copied once per stamp; without,
 * V and M are plain growable arrays (vOff = mOff = 0) and U is read where it lies.
 */
export class StampedScratch {
  private readonly scratch = new AsmScratch();
  private v = new Float64Array(0);
  private m = new Float64Array(0);

  take(
    u: Float64Array,
    uSize: number,
    vSize: number,
    mSize: number,
    lSize = 0,
  ): {
    hp: AsmHeap | null;
    V: Float64Array;
    M: Float64Array;
    vOff: number;
    mOff: number;
    /** with asm.js: lSize float64 slots after M for int32 lists (`panelsIdx`), at lOff */
    lOff: number;
  } {
    if (!asmOn) {
      if (this.v.length < vSize) this.v = new Float64Array(vSize);
      if (this.m.length < mSize) this.m = new Float64Array(mSize);
      return { hp: null, V: this.v, M: this.m, vOff: 0, mOff: 0, lOff: 0 };
    }
    const hp = this.scratch.get(uSize + vSize + mSize + lSize);
    this.scratch.load(hp, u, uSize);
    const vOff = uSize;
    const mOff = uSize + vSize;
    const V = hp.f64.subarray(vOff, mOff);
    return { hp, V, M: hp.f64.subarray(mOff, mOff + mSize), vOff, mOff, lOff: mOff + mSize };
  }
}

let stamps = 0;

/** A number no other call in this process gets (see `stamp`). */
export function newStamp(): number {
  return ++stamps * 1024 + (threadId % 1024);
}

/**
 * Marks buf[0, n) as new contents: buf[n] (when the buffer has that slot) gets a number no other
 * call in this process gets, so AsmScratch.load copies it again.
 */
export function stamp(buf: Float64Array, n: number): void {
  if (buf.length > n) buf[n] = newStamp();
}

/** The module function itself (tests ask V8 whether it compiled it as asm.js). */
export const asmModuleForTests = asmModule;
