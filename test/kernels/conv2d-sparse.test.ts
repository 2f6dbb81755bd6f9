import { afterAll, describe, expect, it } from 'vitest';
import {
  conv2dBackwardInput,
  conv2dBackwardInputNaive,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dParams,
  setConvSparseBackward,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import {
  conv2dBackwardInputSparse,
  conv2dBackwardWeightSparse,
} from '../../src/tensor/kernels/conv2d-sparse.ts';
import { getNumThreads, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { randomArray, rng, type FloatCtor } from '../helpers/random.ts';
import { vsNaive } from '../helpers/kernels.ts';

function inputs(C: FloatCtor, xs: number[], ws: number[], o: Conv2dOptions, seed: number) {
  const p = conv2dParams(xs, ws, o);
  const r = rng(seed);
  const x = randomArray(
    C,
    xs.reduce((a, b) => a * b, 1),
    r,
  );
  const w = randomArray(
    C,
    ws.reduce((a, b) => a * b, 1),
    r,
  );
  const gy = randomArray(C, p.n * p.cOut * p.outH * p.outW, r);
  for (let i = 0; i < gy.length; i++) if (r() > 0.03) gy[i] = 0; // ~3 % non-zeros
  return { p, x, w, gy };
}

describe('conv2d backward from a sparse output gradient', () => {
  const before = getNumThreads();
  setConvSparseBackward(true);
  afterAll(() => {
    setNumThreads(before);
    setConvSparseBackward(false);
  });

  const shapes: [number[], number[], Conv2dOptions][] = [
    [[8, 32, 26, 26], [64, 32, 3, 3], {}], // the MNIST net's conv2
    [[3, 4, 11, 9], [6, 2, 3, 2], { stride: 2, padding: 1, dilation: 2, groups: 2 }],
    [[2, 3, 7, 7], [5, 3, 3, 3], { padding: 2 }],
    [[2, 1, 28, 28], [8, 1, 3, 3], {}],
  ];
  for (const [dt, C, rt] of [
    ['float64', Float64Array, 1e-12],
    ['float32', Float32Array, 2e-5],
  ] as const) {
    shapes.forEach(([xs, ws, o], si) => {
      it(`${dt} x${JSON.stringify(xs)} w${JSON.stringify(ws)} ${JSON.stringify(o)}: naive values, same bits for 1 and 2 threads`, () => {
        const { p, x, w, gy } = inputs(C, xs, ws, o, 70 + si);
        const refX = new C(x.length);
        const refW = new C(w.length);
        conv2dBackwardInputNaive(refX, gy, w, p);
        conv2dBackwardWeightNaive(refW, gy, x, p);
        const got: FloatArrayPair[] = [];
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const gx = new C(x.length).fill(NaN);
          const gw = new C(w.length).fill(NaN);
          conv2dBackwardInputSparse(gx, gy, w, p);
          conv2dBackwardWeightSparse(gw, gy, x, p);
          expect(gx).toBeAllClose(refX, vsNaive(rt, rt));
          expect(gw).toBeAllClose(refW, vsNaive(rt, rt * Math.sqrt(p.n * p.outH * p.outW)));
          // with the switch on, the dispatching entry points take the sparse path for this gy
          const gx2 = new C(x.length);
          const gw2 = new C(w.length);
          conv2dBackwardInput(gx2, gy, w, p);
          conv2dBackwardWeight(gw2, gy, x, p);
          expect(Array.from(gx2)).toEqual(Array.from(gx));
          expect(Array.from(gw2)).toEqual(Array.from(gw));
          got.push([gx, gw]);
        }
        expect(Array.from(got[1]![0])).toEqual(Array.from(got[0]![0]));
        expect(Array.from(got[1]![1])).toEqual(Array.from(got[0]![1]));
      });
    });
  }

  it('an Inf or NaN operand facing a zero gradient gives NaN, as the dense sums do', () => {
    const { p, x, w, gy } = inputs(Float64Array, [2, 4, 8, 8], [5, 4, 3, 3], {}, 90);
    w[7] = Infinity;
    x[11] = NaN;
    const gx = new Float64Array(x.length);
    const gw = new Float64Array(w.length);
    conv2dBackwardInput(gx, gy, w, p);
    conv2dBackwardWeight(gw, gy, x, p);
    const refX = new Float64Array(x.length);
    const refW = new Float64Array(w.length);
    conv2dBackwardInputNaive(refX, gy, w, p);
    conv2dBackwardWeightNaive(refW, gy, x, p);
    expect(gx.some((v) => Number.isNaN(v))).toBe(true);
    expect(gw.some((v) => Number.isNaN(v))).toBe(true);
    expect(gx).toBeAllClose(refX, { rtol: 1e-12, atol: 1e-12, equalNaN: true });
    expect(gw).toBeAllClose(refW, { rtol: 1e-12, atol: 1e-12, equalNaN: true });
  });
});

describe('conv2d sparse backward switch', () => {
  it("is off by default: the dispatching backward keeps the dense kernels' bits", () => {
    const { p, x, w, gy } = inputs(Float32Array, [4, 32, 26, 26], [64, 32, 3, 3], {}, 95);
    const run = () => {
      const gx = new Float32Array(x.length);
      const gw = new Float32Array(w.length);
      conv2dBackwardInput(gx, gy, w, p);
      conv2dBackwardWeight(gw, gy, x, p);
      return [gx, gw];
    };
    const [dx, dw] = run();
    setConvSparseBackward(true);
    const [sx, sw] = run();
    setConvSparseBackward(false);
    const [dx2] = run();
    const sparseX = new Float32Array(x.length);
    conv2dBackwardInputSparse(sparseX, gy, w, p);
    expect(Array.from(sx!)).toEqual(Array.from(sparseX));
    expect(Array.from(dx2!)).toEqual(Array.from(dx!));
    // the two orders of summation differ somewhere in float32 (else this test could not fail)
    let differ = 0;
    for (let i = 0; i < dx!.length; i++) if (dx![i] !== sx![i]) differ++;
    for (let i = 0; i < dw!.length; i++) if (dw![i] !== sw![i]) differ++;
    expect(differ).toBeGreaterThan(0);
  });
});

type FloatArrayPair = [Float32Array | Float64Array, Float32Array | Float64Array];
