import { afterAll, describe, expect, it } from 'vitest';
import {
  conv2dAlgorithm,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dForward,
} from '../../src/tensor/kernels/conv2d.ts';
import {
  linearBackward,
  linearBackwardNaive,
  linearForward,
  linearForwardNaive,
} from '../../src/tensor/kernels/gemm.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';
import {
  convInputs,
  convLabel,
  dtypes,
  expectConvMatchesNaive,
  vsNaive,
  type ConvShape,
} from '../helpers/kernels.ts';
import { randomArray, rng } from '../helpers/random.ts';

// 3×3 / stride 1 / ≥ 8 channels: the Winograd path; odd and even outputs, padding 0–3, batch 1
const winoShapes: ConvShape[] = [
  { x: [2, 8, 7, 7], w: [8, 8, 3, 3], o: {} }, // 5×5 output: odd tiles
  { x: [1, 9, 6, 9], w: [10, 9, 3, 3], o: { padding: 1 } }, // batch 1, odd channel counts
  { x: [3, 8, 5, 8], w: [13, 8, 3, 3], o: { padding: [2, 1] } },
  { x: [1, 12, 4, 3], w: [8, 12, 3, 3], o: { padding: 2 } },
  { x: [2, 8, 6, 6], w: [8, 8, 3, 3], o: { padding: 3 } }, // bwd-input falls back to im2col
  { x: [1, 11, 3, 3], w: [9, 11, 3, 3], o: {} }, // 1×1 output
  { x: [5, 16, 13, 11], w: [12, 16, 3, 3], o: { padding: [0, 1] } },
];

describe('Winograd F(2×2,3×3) conv2d vs naive', () => {
  for (const [dt, C, rt] of dtypes) {
    winoShapes.forEach((s, si) => {
      it(`${dt} ${convLabel(s)}`, () => {
        const inputs = convInputs(C, s, 500 + si);
        const { p } = inputs;
        expect(conv2dAlgorithm(p, 'forward')).toBe('winograd');
        expect(conv2dAlgorithm(p, 'weight')).toBe('winograd');
        expect(conv2dAlgorithm(p, 'input')).toBe(p.padH > 2 || p.padW > 2 ? 'im2col' : 'winograd');
        expectConvMatchesNaive(C, inputs, rt, {
          forward: p.cIn * 9,
          input: p.cOut * 9,
          weight: p.n * p.outH * p.outW,
        });
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

  const convShapes: ConvShape[] = [
    { x: [9, 16, 12, 12], w: [16, 16, 3, 3], o: { padding: 1 } }, // Winograd
    { x: [7, 4, 10, 9], w: [6, 2, 3, 3], o: { groups: 2, stride: 2, padding: 1 } }, // im2col
    { x: [5, 3, 6, 6], w: [8, 3, 1, 1], o: {} }, // pointwise
    { x: [70, 8, 6, 6], w: [8, 8, 3, 3], o: {} }, // more than 16 weight chunks
    { x: [9, 1, 12, 12], w: [8, 1, 3, 3], o: {} }, // direct 3×3 forward (one input channel)
  ];
  for (const [dt, C] of dtypes) {
    convShapes.forEach((s, si) => {
      it(`conv2d ${dt} ${convLabel(s)}`, () => {
        const { p, x, w, b, gy, ySize } = convInputs(C, s, 900 + si);
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
        expect(gw1).toBeAllClose(ref, vsNaive(C === Float64Array ? 1e-12 : 2e-5, 1e-4));
      });
    });

    it(`linear ${dt}: k-split forward and column-split backward (9216 → 20, batch 5)`, () => {
      const [batch, inF, outF] = [5, 9216, 20];
      const r = rng(77);
      const x = randomArray(C, batch * inF, r);
      const w = randomArray(C, outF * inF, r);
      const b = randomArray(C, outF, r);
      const gy = randomArray(C, batch * outF, r);
      const [y1, y2] = both(() => {
        const y = new C(batch * outF);
        linearForward(y, x, w, b, batch, inF, outF);
        return y;
      });
      expect(y2).toEqual(y1);
      const yRef = new C(batch * outF);
      linearForwardNaive(yRef, x, w, b, batch, inF, outF);
      expect(y1).toBeAllClose(
        yRef,
        vsNaive(C === Float64Array ? 1e-12 : 1e-4, C === Float64Array ? 1e-12 : 1e-4),
      );
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
      expect(gx1).toBeAllClose(gxRef, vsNaive(1e-4, 1e-5));
      expect(gw1).toBeAllClose(gwRef, vsNaive(1e-4, 1e-5));
    });
  }
});
