/**
 * The forward kernels whose outputs come from `allocateUninitialized` (conv2d, linear, maxPool2d,
 * ReLU: in an evaluation arena their buffers hold the previous slice's values) must write every
 * output element. Outputs start as NaN here and the inputs are finite, so a skipped element shows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { conv2dForward } from '../../src/tensor/kernels/conv2d.ts';
import { linearForward } from '../../src/tensor/kernels/gemm.ts';
import { maxPool2dForward, maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import { reluForward } from '../../src/tensor/kernels/elementwise.ts';
import { getNumThreads, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';
import { convInputs, convLabel, type ConvShape } from '../helpers/kernels.ts';
import { randomArray, rng } from '../helpers/random.ts';

const unwritten = (y: FloatArray): number => y.findIndex((v) => Number.isNaN(v));

/** Float32 arrays in shared memory (the threaded paths write them directly). */
function shared(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * n));
}

describe('forward kernels write every output element', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  const convShapes: ConvShape[] = [
    { x: [3, 1, 28, 28], w: [32, 1, 3, 3], o: {} }, // direct 3×3 (conv1)
    { x: [2, 32, 26, 26], w: [64, 32, 3, 3], o: {} }, // Winograd (conv2)
    { x: [2, 16, 11, 9], w: [16, 16, 3, 3], o: { padding: 1 } }, // Winograd, ragged tiles
    { x: [2, 4, 10, 9], w: [6, 2, 3, 3], o: { groups: 2, stride: 2, padding: 1 } }, // im2col
    { x: [2, 3, 6, 6], w: [8, 3, 1, 1], o: {} }, // pointwise
    { x: [1, 2, 7, 7], w: [3, 2, 3, 2], o: { padding: 2, dilation: 2, paddingMode: 'circular' } },
  ];
  for (const threads of [1, 2]) {
    convShapes.forEach((s, si) => {
      it(`conv2dForward ${convLabel(s)}, ${threads} thread(s)`, () => {
        setNumThreads(threads);
        const { p, x, w, b, ySize } = convInputs(Float32Array, s, 40 + si);
        for (const bias of [b, null]) {
          const y = shared(ySize).fill(NaN);
          conv2dForward(y, x, w, bias, p);
          expect(unwritten(y)).toBe(-1);
        }
      });
    });

    it(`linearForward (small, chunked dense, sparse), ${threads} thread(s)`, () => {
      setNumThreads(threads);
      const r = rng(7);
      for (const [batch, inF, outF, density] of [
        [5, 30, 7, 1],
        [6, 5000, 11, 1],
        [6, 5000, 11, 0.1],
      ] as const) {
        const x = randomArray(Float32Array, batch * inF, r).map((v) => (r() < density ? v : 0));
        const w = randomArray(Float32Array, outF * inF, r);
        const b = randomArray(Float32Array, outF, r);
        for (const bias of [b, null]) {
          const y = shared(batch * outF).fill(NaN);
          linearForward(y, x, w, bias, batch, inF, outF);
          expect(unwritten(y)).toBe(-1);
        }
      }
    });

    it(`maxPool2dForward with and without indices, ${threads} thread(s)`, () => {
      setNumThreads(threads);
      const r = rng(8);
      const cases: [number[], number, number, number, number, boolean][] = [
        [[3, 70, 24, 24], 2, 2, 0, 1, false], // the MNIST net's pool (threaded without indices)
        [[2, 3, 9, 7], 3, 2, 1, 1, true],
        [[1, 2, 10, 10], 2, 3, 1, 2, false],
      ];
      for (const [shape, k, stride, pad, dil, ceil] of cases) {
        const p = maxPool2dParams(shape, k, stride, pad, dil, ceil);
        const x = shared(shape.reduce((a, c) => a * c, 1));
        x.set(randomArray(Float32Array, x.length, r));
        for (const idx of [new Int32Array(p.n * p.c * p.outH * p.outW), null]) {
          const y = shared(p.n * p.c * p.outH * p.outW).fill(NaN);
          maxPool2dForward(y, idx, x, p);
          expect(unwritten(y)).toBe(-1);
        }
      }
    });

    it(`reluForward, ${threads} thread(s)`, () => {
      setNumThreads(threads);
      const n = 200_003; // several threaded chunks and a ragged end
      const x = shared(n);
      x.set(randomArray(Float32Array, n, rng(9)));
      const y = shared(n).fill(NaN);
      reluForward(y, x, n);
      expect(unwritten(y)).toBe(-1);
    });
  }
});
