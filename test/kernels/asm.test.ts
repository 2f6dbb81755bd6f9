import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  AsmScratch,
  asmHeap,
  asmHeapBytes,
  asmOn,
  setAsm,
  stamp,
} from '../../src/tensor/kernels/asm.ts';
import {
  gemm,
  linearBackward,
  linearForward,
  linearForwardSparse,
  linearGradWeightSparse,
} from '../../src/tensor/kernels/gemm.ts';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dForwardAlgorithm,
  conv2dParams,
  conv2dReluPoolForward,
  uniformSpans,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import { maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import { getNumThreads, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';
import { convInputs, convLabel, dtypes, type ConvShape } from '../helpers/kernels.ts';
import { randomArray, rng } from '../helpers/random.ts';

// The asm.js micro-kernels must give the plain-JavaScript kernels' results bit for bit (training
// runs are pinned to the last bit), and V8 must really compile them as asm.js (else they would
// silently run as slow JavaScript).

/** Index of the first element whose bits differ (−1: none; NaNs compare by bits too). */
function firstDiff(a: FloatArray, b: FloatArray): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return Math.floor(i / a.BYTES_PER_ELEMENT);
  return -1;
}

/** Runs `run` with the asm.js kernels on, then off (one thread: workers keep their own switch). */
function onOff<T extends FloatArray>(run: () => T): [T, T] {
  const before = asmOn;
  try {
    setAsm(true);
    const a = run();
    setAsm(false);
    return [a, run()];
  } finally {
    setAsm(before);
  }
}

describe('asm.js module', () => {
  it('is compiled as asm.js by V8 when loaded through tsx', () => {
    const script = `
      import { asmHeap, asmModuleForTests } from './src/tensor/kernels/asm.ts';
      const h = asmHeap(64);
      h.k.panels(1, 1, 1, 0, 4, 4, 3, 8, 3, 0);
      console.log(new Function('f', 'return %IsAsmWasmCode(f)')(asmModuleForTests));`;
    const out = execFileSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(out.trim()).toBe('true');
  });

  it('panels, panels24, panel23 and panel22 compute the packed tile products (store and accumulate)', () => {
    const h = asmHeap(4096);
    const r = rng(3);
    for (let i = 0; i < 2000; i++) h.f64[i] = r() - 0.5;
    const H = Float64Array.from(h.f64);
    const kc = 7;
    // 2 A panels (4 rows) at 0, step 40; 3 B panels (3 columns) at 100, step 30; C at 1000, ldc 11
    h.k.panels(kc, 2, 3, 0, 40, 100, 30, 1000, 11, 1);
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 9; j++) {
        let s = 0;
        for (let p = 0; p < kc; p++) {
          s +=
            H[(i >> 2) * 40 + 4 * p + (i & 3)]! *
            H[100 + Math.floor(j / 3) * 30 + 3 * p + (j % 3)]!;
        }
        expect(h.f64[1000 + i * 11 + j]).toBe(H[1000 + i * 11 + j]! + s);
      }
    }
    // 2×4 tiles: 2 A panels (2 rows) at 0, step 40; 2 B panels (4 columns) at 100, step 30
    h.k.panels24(kc, 2, 2, 0, 40, 100, 30, 1500, 9);
    // a last panel of three / two columns (B at 100, 4 wide), C at 1600 / 1700
    h.k.panel23(kc, 2, 0, 40, 100, 1600, 9);
    h.k.panel22(kc, 2, 0, 40, 100, 1700, 9);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 8; j++) {
        let s = 0;
        for (let p = 0; p < kc; p++) {
          s += H[(i >> 1) * 40 + 2 * p + (i & 1)]! * H[100 + (j >> 2) * 30 + 4 * p + (j & 3)]!;
        }
        expect(h.f64[1500 + i * 9 + j]).toBe(s);
        if (j < 3) expect(h.f64[1600 + i * 9 + j]).toBe(s);
        if (j < 2) expect(h.f64[1700 + i * 9 + j]).toBe(s);
      }
      // nothing written past the narrow panels' columns
      expect(h.f64[1600 + i * 9 + 3]).toBe(H[1600 + i * 9 + 3]);
      expect(h.f64[1700 + i * 9 + 2]).toBe(H[1700 + i * 9 + 2]);
    }
  });

  it('heap sizes are ones asm.js links', () => {
    expect(asmHeapBytes(1)).toBe(4096);
    expect(asmHeapBytes(4097)).toBe(8192);
    expect(asmHeapBytes(1 << 24)).toBe(1 << 24);
    expect(asmHeapBytes((1 << 24) + 1)).toBe(2 << 24);
  });

  it('AsmScratch copies a stamped operand once per stamp', () => {
    const s = new AsmScratch();
    const src = new Float64Array(5);
    src.set([1, 2, 3, 4]);
    stamp(src, 4);
    const h = s.get(4);
    s.load(h, src, 4);
    src[0] = 9; // changed without a new stamp: the heap keeps what it loaded
    s.load(h, src, 4);
    expect(h.f64[0]).toBe(1);
    stamp(src, 4);
    s.load(h, src, 4);
    expect(h.f64[0]).toBe(9);
    const unstamped = new Float64Array([5, 6, 7, 8]); // no stamp slot: copied every time
    s.load(h, unstamped, 4);
    unstamped[0] = 0;
    s.load(h, unstamped, 4);
    expect(h.f64[0]).toBe(0);
  });
});

describe('asm.js kernels give the JavaScript kernels’ bits', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  it('gemm: shapes with edge tiles, transposes, alpha and beta, float32 and float64', () => {
    setNumThreads(1);
    const r = rng(11);
    const shapes = [
      [1, 1, 1],
      [5, 7, 3],
      [64, 128, 500],
      [130, 770, 400], // more than one MC, NC and KC block
      [9, 2, 1000],
    ];
    for (const [, C] of dtypes) {
      for (const [m, n, k] of shapes) {
        for (const [transA, transB, alpha, beta] of [
          [false, false, 1, 0],
          [true, true, 0.5, 1],
          [false, true, -2, 0.25],
        ] as const) {
          const a = randomArray(C, m! * k!, r);
          const b = randomArray(C, k! * n!, r);
          const c0 = randomArray(C, m! * n!, r);
          const [on, off] = onOff(() => {
            const c = C.from(c0) as FloatArray;
            gemm(c, a, b, m!, n!, k!, { transA, transB, alpha, beta });
            return c;
          });
          expect(firstDiff(on, off), `${C.name} ${m}×${n}×${k}`).toBe(-1);
        }
      }
    }
  });

  it('linear forward and backward at fc1 shape (dense input)', () => {
    setNumThreads(1);
    const r = rng(12);
    const [B, I, O] = [16, 9216, 128];
    const x = randomArray(Float32Array, B * I, r);
    const w = randomArray(Float32Array, O * I, r);
    const b = randomArray(Float32Array, O, r);
    const gy = randomArray(Float32Array, B * O, r);
    const [y1, y2] = onOff(() => {
      const y = new Float32Array(B * O);
      linearForward(y, x, w, b, B, I, O);
      return y;
    });
    expect(firstDiff(y1, y2)).toBe(-1);
    const [g1, g2] = onOff(() => {
      const g = new Float32Array(B * I + O * I + O);
      linearBackward(
        g.subarray(0, B * I),
        g.subarray(B * I, B * I + O * I),
        g.subarray(B * I + O * I),
        gy,
        x,
        w,
        B,
        I,
        O,
      );
      return g;
    });
    expect(firstDiff(g1, g2)).toBe(-1);
  });

  it('linear forward and weight gradient on sparse input: ±0, NaN, non-finite weights and gradients, a partial output block', () => {
    setNumThreads(1);
    const r = rng(13);
    for (const [B, I, O] of [
      [64, 9216, 128],
      [5, 5000, 13],
      [3, 4096, 7],
    ] as const) {
      // 15 % non-zeros, as fc1's input after ReLU and max-pool
      const x = randomArray(Float32Array, B * I, r).map((v, i) => (i % 7 === 0 ? v : 0));
      x[1] = -0;
      x[7 * 11] = NaN;
      const w = randomArray(Float32Array, O * I, r);
      w[2 * I + 5] = Infinity; // output 2's row: summed densely
      const b = randomArray(Float32Array, O, r);
      expect(linearForwardSparse(new Float32Array(B * O), x, w, b, B, I, O)).toBe(true);
      for (const bias of [b, null]) {
        const [on, off] = onOff(() => {
          const y = new Float32Array(B * O);
          linearForwardSparse(y, x, w, bias, B, I, O);
          return y;
        });
        expect(firstDiff(on, off), `${B}×${I}→${O}`).toBe(-1);
        // row 1 meets the Inf weight: NaN (0·Inf in the dense sum) or ±Inf
        expect(Number.isFinite(on[O + 2]!)).toBe(false);
        expect(Number.isFinite(on[O + 3]!)).toBe(true);
      }
      // the weight gradient from the same sparse input (gy with an Inf in column 3: summed densely)
      const gy = randomArray(Float32Array, B * O, r);
      gy[O + 3] = Infinity;
      expect(linearGradWeightSparse(new Float32Array(O * I), gy, x, B, I, O)).toBe(true);
      const [g1, g2] = onOff(() => {
        const g = new Float32Array(B * I + O * I + O);
        // prettier-ignore
        linearBackward(g.subarray(0, B * I), g.subarray(B * I, B * I + O * I), g.subarray(B * I + O * I),
          gy, x, w, B, I, O);
        return g;
      });
      expect(firstDiff(g1, g2), `backward ${B}×${I}→${O}`).toBe(-1);
    }
  });

  it('conv1: the direct 1-channel 3×3 forward, plain and with ReLU (and max-pool) fused; NaN, ±Inf, zeros', () => {
    setNumThreads(1);
    const r = rng(14);
    const p = conv2dParams([3, 1, 28, 28], [32, 1, 3, 3]);
    expect(conv2dForwardAlgorithm(p)).toBe('direct');
    const x = randomArray(Float32Array, 3 * 28 * 28, r);
    x.fill(0, 100, 200); // zero sums: +0 (and +0 after ReLU)
    x[300] = NaN;
    x[500] = Infinity;
    x[900] = -Infinity;
    const w = randomArray(Float32Array, 32 * 9, r);
    const pool = maxPool2dParams([3, 32, 26, 26], 2, 2, 0, 1, false);
    for (const b of [randomArray(Float32Array, 32, r), null]) {
      const [y1, y2] = onOff(() => {
        const y = new Float32Array(3 * 32 * 26 * 26);
        conv2dForward(y, x, w, b, p);
        return y;
      });
      expect(firstDiff(y1, y2)).toBe(-1);
      for (const pl of [null, pool]) {
        const [f1, f2] = onOff(() => {
          const y = new Float32Array(pl === null ? y1.length : y1.length / 4);
          conv2dReluPoolForward(y, x, w, b, p, pl);
          return y;
        });
        expect(firstDiff(f1, f2)).toBe(-1);
        if (pl === null) {
          // the fused ReLU is relu(conv): NaN kept, negatives and −0 to +0
          const want = Float32Array.from(y1, (v) => (v > 0 || Number.isNaN(v) ? v : 0));
          expect(firstDiff(f1, want)).toBe(-1);
          expect(f1.some((v) => Number.isNaN(v))).toBe(true);
        }
      }
    }
  });

  it('conv1: windows holding only the image’s top-left value store one output (row spans), same bits', () => {
    setNumThreads(1);
    const r = rng(15);
    const n = 6;
    const p = conv2dParams([n, 1, 28, 28], [32, 1, 3, 3]);
    const bg = Math.fround(-0.1307 / 0.3081); // MNIST's background after Normalize
    const x = new Float32Array(n * 784).fill(bg);
    const at = (i: number, row: number, col: number) => i * 784 + row * 28 + col;
    // 0: a "digit" in rows 8–19, columns 6–21; 1: all background; 2: single pixels at the left
    // and right edges; 3: −0 at the top-left, +0 elsewhere (no window holds only −0); 4: all −0;
    // 5: a NaN top-left (every window computed)
    for (let row = 8; row < 20; row++) for (let col = 6; col < 22; col++) x[at(0, row, col)] = r();
    x[at(2, 10, 27)] = 1;
    x[at(2, 20, 0)] = 1;
    x.fill(0, 3 * 784, 4 * 784);
    x[at(3, 0, 0)] = -0;
    x.fill(-0, 4 * 784, 5 * 784);
    x[at(5, 0, 0)] = NaN;
    // the spans are the tightest: windows outside hold only v, the first and last inside do not
    const bits = new Int32Array(x.buffer);
    const spans = new Int32Array(2 * 26);
    for (let i = 0; i < n; i++) {
      const v = uniformSpans(bits, i * 784, 28, 28, spans, 0);
      expect(Object.is(v, x[at(i, 0, 0)])).toBe(true);
      for (let row = 0; row < 26; row++) {
        const uniform = (c: number) => {
          for (let a = 0; a < 3; a++)
            for (let b = 0; b < 3; b++)
              if (bits[at(i, row + a, c + b)] !== bits[at(i, 0, 0)]) return false;
          return i !== 5;
        };
        const inside = [...Array(26).keys()].filter((c) => !uniform(c));
        const want = inside.length === 0 ? [26, 26] : [inside[0]!, inside[inside.length - 1]! + 1];
        expect([spans[2 * row], spans[2 * row + 1]], `image ${i} row ${row}`).toEqual(want);
      }
    }
    const w = randomArray(Float32Array, 32 * 9, r);
    for (const b of [randomArray(Float32Array, 32, r), null]) {
      const [y1, y2] = onOff(() => {
        const y = new Float32Array(n * 32 * 26 * 26);
        conv2dForward(y, x, w, b, p);
        return y;
      });
      expect(firstDiff(y1, y2)).toBe(-1);
      const [f1, f2] = onOff(() => {
        const y = new Float32Array(n * 32 * 26 * 26);
        conv2dReluPoolForward(y, x, w, b, p, null);
        return y;
      });
      expect(firstDiff(f1, f2)).toBe(-1);
    }
  });

  it('F(6×6) with ReLU and max-pool in its output transform (pooled6): whole and partial tiles, two blocks, a NaN', () => {
    setNumThreads(1);
    for (const [xs, ws, o] of [
      [[3, 32, 26, 26], [64, 32, 3, 3], {}], // the MNIST net's conv2: 24×24 → 12×12, one copy
      [[2, 16, 23, 23], [17, 16, 3, 3], { padding: 1 }], // partial last tiles, 11×11 pooled
      [[1, 8, 54, 54], [10, 8, 3, 3], { padding: 1 }], // 81 tiles: two blocks
    ] as [number[], number[], Conv2dOptions][]) {
      const r = rng(xs[2]!);
      const p = conv2dParams(xs, ws, o);
      expect(conv2dForwardAlgorithm(p, true)).toBe('winograd6');
      const x = randomArray(Float32Array, xs, r);
      const w = randomArray(Float32Array, ws, r);
      const pool = maxPool2dParams([p.n, p.cOut, p.outH, p.outW], 2, 2, 0, 1, false);
      for (const nan of [false, true]) {
        if (nan) x[7] = NaN; // image 0 only: its blocks take the JavaScript path
        for (const b of [randomArray(Float32Array, ws[0]!, r), null]) {
          const [f1, f2] = onOff(() => {
            const y = new Float32Array(p.n * p.cOut * pool.outH * pool.outW).fill(12345);
            conv2dReluPoolForward(y, x, w, b, p, pool);
            return y;
          });
          expect(firstDiff(f1, f2)).toBe(-1);
          expect(f1.some((v) => v === 12345)).toBe(false);
          expect(f1.some((v) => Number.isNaN(v))).toBe(nan);
        }
      }
    }
  });

  // Winograd F(4×4) forward / backward-input / backward-weight and the F(6×6) inference forward
  const shapes: ConvShape[] = [
    { x: [3, 32, 26, 26], w: [64, 32, 3, 3], o: {} }, // the MNIST net's conv2
    { x: [2, 9, 11, 7], w: [10, 9, 3, 3], o: { padding: 1 } }, // odd sizes, edge panels
    { x: [20, 8, 6, 6], w: [8, 8, 3, 3], o: {} }, // several weight chunks
  ];
  for (const [dt, C] of dtypes) {
    shapes.forEach((s, si) => {
      it(`conv2d ${dt} ${convLabel(s)}`, () => {
        setNumThreads(1);
        const { p, x, w, b, gy, ySize } = convInputs(C, s, 700 + si);
        expect(conv2dForwardAlgorithm(p)).toBe('winograd');
        for (const inference of [false, true]) {
          const [y1, y2] = onOff(() => {
            const y = new C(ySize);
            conv2dForward(y, x, w, b, p, inference);
            return y;
          });
          expect(firstDiff(y1, y2)).toBe(-1);
        }
        const [gx1, gx2] = onOff(() => {
          const g = new C(x.length);
          conv2dBackwardInput(g, gy, w, p);
          return g;
        });
        expect(firstDiff(gx1, gx2)).toBe(-1);
        const [gw1, gw2] = onOff(() => {
          const g = new C(w.length);
          conv2dBackwardWeight(g, gy, x, p);
          return g;
        });
        expect(firstDiff(gw1, gw2)).toBe(-1);
      });
    });
  }
});
