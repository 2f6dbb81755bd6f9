import { afterAll, describe, expect, it } from 'vitest';
import {
  conv2dAlgorithm,
  conv2dBackwardInput,
  conv2dBackwardInputNaive,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dForward,
  conv2dForwardNaive,
  conv2dParams,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import {
  linearBackward,
  linearBackwardNaive,
  linearForward,
  linearForwardNaive,
} from '../../src/tensor/kernels/gemm.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const dtypes: [string, Ctor, number][] = [
  ['float64', Float64Array, 1e-12],
  ['float32', Float32Array, 2e-5],
];

function randArr(C: Ctor, n: number, r: () => number): FloatArray {
  const a = new C(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

function expectClose(actual: FloatArray, expected: FloatArray, rtol: number, atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`index ${i}: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

interface Shape {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
}

// 3×3 / stride 1 / ≥ 8 channels: the Winograd path; odd and even outputs, padding 0–3, batch 1
const winoShapes: Shape[] = [
  { x: [2, 8, 7, 7], w: [8, 8, 3, 3], o: {} }, // 5×5 output: odd tiles
  { x: [1, 9, 6, 9], w: [10, 9, 3, 3], o: { padding: 1 } }, // batch 1, odd channel counts
  { x: [3, 8, 5, 8], w: [13, 8, 3, 3], o: { padding: [2, 1] } },
  { x: [1, 12, 4, 3], w: [8, 12, 3, 3], o: { padding: 2 } },
  { x: [2, 8, 6, 6], w: [8, 8, 3, 3], o: { padding: 3 } }, // bwd-input falls back to im2col
  { x: [1, 11, 3, 3], w: [9, 11, 3, 3], o: {} }, // 1×1 output
  { x: [5, 16, 13, 11], w: [12, 16, 3, 3], o: { padding: [0, 1] } },
];

const label = (s: Shape): string =>
  `x${JSON.stringify(s.x)} w${JSON.stringify(s.w)} ${JSON.stringify(s.o)}`;

describe('Winograd F(2×2,3×3) conv2d vs naive', () => {
  for (const [dt, C, rt] of dtypes) {
    winoShapes.forEach((s, si) => {
      it(`${dt} ${label(s)}`, () => {
        const p = conv2dParams(s.x, s.w, s.o);
        expect(conv2dAlgorithm(p, 'forward')).toBe('winograd');
        expect(conv2dAlgorithm(p, 'weight')).toBe('winograd');
        expect(conv2dAlgorithm(p, 'input')).toBe(p.padH > 2 || p.padW > 2 ? 'im2col' : 'winograd');
        const r = rng(500 + si);
        const x = randArr(
          C,
          s.x.reduce((a, b) => a * b),
          r,
        );
        const w = randArr(
          C,
          s.w.reduce((a, b) => a * b),
          r,
        );
        const b = randArr(C, p.cOut, r);
        const ySize = p.n * p.cOut * p.outH * p.outW;
        const gy = randArr(C, ySize, r);
        const K = p.cIn * 9;
        for (const bias of [b, null]) {
          const y1 = new C(ySize).fill(NaN);
          const y2 = new C(ySize);
          conv2dForward(y1, x, w, bias, p);
          conv2dForwardNaive(y2, x, w, bias, p);
          expectClose(y1, y2, rt, rt * Math.sqrt(K));
        }
        const gx1 = new C(x.length).fill(NaN);
        const gx2 = new C(x.length);
        conv2dBackwardInput(gx1, gy, w, p);
        conv2dBackwardInputNaive(gx2, gy, w, p);
        expectClose(gx1, gx2, rt, rt * Math.sqrt(p.cOut * 9));
        const gw1 = new C(w.length).fill(NaN);
        const gw2 = new C(w.length);
        conv2dBackwardWeight(gw1, gy, x, p);
        conv2dBackwardWeightNaive(gw2, gy, x, p);
        expectClose(gw1, gw2, rt, rt * Math.sqrt(p.n * p.outH * p.outW));
      });
    });
  }
});

describe('thread pool: results are bit-identical for 1 and 2 threads', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  function both<T extends FloatArray>(run: () => T): [T, T] {
    setNumThreads(1);
    const a = run();
    setNumThreads(2);
    const b = run();
    return [a, b];
  }

  const convShapes: Shape[] = [
    { x: [9, 16, 12, 12], w: [16, 16, 3, 3], o: { padding: 1 } }, // Winograd
    { x: [7, 4, 10, 9], w: [6, 2, 3, 3], o: { groups: 2, stride: 2, padding: 1 } }, // im2col
    { x: [5, 3, 6, 6], w: [8, 3, 1, 1], o: {} }, // pointwise
    { x: [70, 8, 6, 6], w: [8, 8, 3, 3], o: {} }, // more than 16 weight chunks
  ];
  for (const [dt, C] of dtypes) {
    convShapes.forEach((s, si) => {
      it(`conv2d ${dt} ${label(s)}`, () => {
        const p = conv2dParams(s.x, s.w, s.o);
        const r = rng(900 + si);
        const x = randArr(
          C,
          s.x.reduce((a, b) => a * b),
          r,
        );
        const w = randArr(
          C,
          s.w.reduce((a, b) => a * b),
          r,
        );
        const b = randArr(C, p.cOut, r);
        const ySize = p.n * p.cOut * p.outH * p.outW;
        const gy = randArr(C, ySize, r);
        const [y1, y2] = both(() => {
          const y = new C(ySize);
          conv2dForward(y, x, w, b, p);
          return y;
        });
        expect(y2).toEqual(y1);
        expect(poolStatus()).toEqual({ workers: 1, broken: false });
        const [gx1, gx2] = both(() => {
          const g = new C(x.length);
          conv2dBackwardInput(g, gy, w, p);
          return g;
        });
        expect(gx2).toEqual(gx1);
        const [gw1, gw2] = both(() => {
          const g = new C(w.length);
          conv2dBackwardWeight(g, gy, x, p);
          return g;
        });
        expect(gw2).toEqual(gw1);
        const ref = new C(w.length);
        conv2dBackwardWeightNaive(ref, gy, x, p);
        expectClose(gw1, ref, C === Float64Array ? 1e-12 : 2e-5, 1e-4);
      });
    });

    it(`linear ${dt}: k-split forward and column-split backward (9216 → 20, batch 5)`, () => {
      const [batch, inF, outF] = [5, 9216, 20];
      const r = rng(77);
      const x = randArr(C, batch * inF, r);
      const w = randArr(C, outF * inF, r);
      const b = randArr(C, outF, r);
      const gy = randArr(C, batch * outF, r);
      const [y1, y2] = both(() => {
        const y = new C(batch * outF);
        linearForward(y, x, w, b, batch, inF, outF);
        return y;
      });
      expect(y2).toEqual(y1);
      const yRef = new C(batch * outF);
      linearForwardNaive(yRef, x, w, b, batch, inF, outF);
      expectClose(y1, yRef, C === Float64Array ? 1e-12 : 1e-4, C === Float64Array ? 1e-12 : 1e-4);
      const run = () => {
        const gx = new C(batch * inF);
        const gw = new C(outF * inF);
        linearBackward(gx, gw, null, gy, x, w, batch, inF, outF);
        return [gx, gw] as const;
      };
      setNumThreads(1);
      const [gx1, gw1] = run();
      setNumThreads(2);
      const [gx2, gw2] = run();
      expect(gx2).toEqual(gx1);
      expect(gw2).toEqual(gw1);
      const gxRef = new C(batch * inF);
      const gwRef = new C(outF * inF);
      linearBackwardNaive(gxRef, gwRef, null, gy, x, w, batch, inF, outF);
      expectClose(gx1, gxRef, 1e-4, 1e-5);
      expectClose(gw1, gwRef, 1e-4, 1e-5);
    });
  }
});
