// The GEMM micro-kernel loops in asm.js (4×3 and 3×4 register tiles).
//
// asm.js is a subset of JavaScript (every value typed by a coercion: `x | 0` int, `+x` double;
// memory one ArrayBuffer read through typed views). V8 validates a function marked 'use asm' and
// compiles it ahead of time through its WebAssembly pipeline: heap reads without per-access
// bounds checks, loads folded into the multiplies. This is still JavaScript source, written by
// hand; an engine that does not validate asm.js runs the same code as ordinary JavaScript.
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
   * As `panels` with 3×4 tiles (winograd6.ts's layout): the tile C[c + 3i·ldc + 4j …] =
   * Σ_p A_i[3p + r]·B_j[4p + s] (r < 3, s < 4); stores only.
   */
  panels34(
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
}

// The module's source. It is a string, compiled with `new Function`, because a TypeScript
// transpiler would rewrite it out of asm.js (esbuild drops the 'use asm' directive and prints the
// double literal 0.0 as 0, which asm.js reads as an int).
const ASM_SOURCE = `'use asm';
var H = new stdlib.Float64Array(heap);
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

function panels34(kc, mp, np, a, aStep, b, bStep, c, ldc) {
  kc = kc | 0; mp = mp | 0; np = np | 0; a = a | 0; aStep = aStep | 0; b = b | 0;
  bStep = bStep | 0; c = c | 0; ldc = ldc | 0;
  var i = 0, j = 0, p = 0, ai = 0, bi = 0, ci = 0, row = 0;
  var c00 = 0.0, c01 = 0.0, c02 = 0.0, c03 = 0.0, c10 = 0.0, c11 = 0.0, c12 = 0.0, c13 = 0.0;
  var c20 = 0.0, c21 = 0.0, c22 = 0.0, c23 = 0.0;
  var a0 = 0.0, a1 = 0.0, a2 = 0.0, b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0;
  row = ldc << 3;
  for (j = 0; (j | 0) < (np | 0); j = (j + 1) | 0) {
    for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
      ai = (a + imul(i, aStep)) << 3;
      bi = (b + imul(j, bStep)) << 3;
      c00 = 0.0; c01 = 0.0; c02 = 0.0; c03 = 0.0; c10 = 0.0; c11 = 0.0; c12 = 0.0; c13 = 0.0;
      c20 = 0.0; c21 = 0.0; c22 = 0.0; c23 = 0.0;
      for (p = 0; (p | 0) < (kc | 0); p = (p + 1) | 0) {
        a0 = +H[ai >> 3]; a1 = +H[(ai + 8) >> 3]; a2 = +H[(ai + 16) >> 3];
        b0 = +H[bi >> 3]; b1 = +H[(bi + 8) >> 3]; b2 = +H[(bi + 16) >> 3]; b3 = +H[(bi + 24) >> 3];
        c00 = c00 + a0 * b0; c01 = c01 + a0 * b1; c02 = c02 + a0 * b2; c03 = c03 + a0 * b3;
        c10 = c10 + a1 * b0; c11 = c11 + a1 * b1; c12 = c12 + a1 * b2; c13 = c13 + a1 * b3;
        c20 = c20 + a2 * b0; c21 = c21 + a2 * b1; c22 = c22 + a2 * b2; c23 = c23 + a2 * b3;
        ai = (ai + 24) | 0;
        bi = (bi + 32) | 0;
      }
      ci = (c + imul(imul(i, 3), ldc) + (j << 2)) << 3;
      H[ci >> 3] = c00; H[(ci + 8) >> 3] = c01; H[(ci + 16) >> 3] = c02; H[(ci + 24) >> 3] = c03;
      ci = (ci + row) | 0;
      H[ci >> 3] = c10; H[(ci + 8) >> 3] = c11; H[(ci + 16) >> 3] = c12; H[(ci + 24) >> 3] = c13;
      ci = (ci + row) | 0;
      H[ci >> 3] = c20; H[(ci + 8) >> 3] = c21; H[(ci + 16) >> 3] = c22; H[(ci + 24) >> 3] = c23;
    }
  }
}

return { panels: panels, panels34: panels34 };`;

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
  k: AsmKernels;
}

export function asmHeap(doubles: number): AsmHeap {
  const buffer = new ArrayBuffer(asmHeapBytes(doubles * 8));
  return { f64: new Float64Array(buffer), k: asmModule(globalThis, null, buffer) };
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
  ): { hp: AsmHeap | null; V: Float64Array; M: Float64Array; vOff: number; mOff: number } {
    if (!asmOn) {
      if (this.v.length < vSize) this.v = new Float64Array(vSize);
      if (this.m.length < mSize) this.m = new Float64Array(mSize);
      return { hp: null, V: this.v, M: this.m, vOff: 0, mOff: 0 };
    }
    const hp = this.scratch.get(uSize + vSize + mSize);
    this.scratch.load(hp, u, uSize);
    const vOff = uSize;
    const mOff = uSize + vSize;
    const V = hp.f64.subarray(vOff, mOff);
    return { hp, V, M: hp.f64.subarray(mOff, mOff + mSize), vOff, mOff };
  }
}

let stamps = 0;

/**
 * Marks buf[0, n) as new contents: buf[n] (when the buffer has that slot) gets a number no other
 * call in this process gets, so AsmScratch.load copies it again.
 */
export function stamp(buf: Float64Array, n: number): void {
  if (buf.length > n) buf[n] = ++stamps * 1024 + (threadId % 1024);
}

/** The module function itself (tests ask V8 whether it compiled it as asm.js). */
export const asmModuleForTests = asmModule;
