import { afterAll, describe, expect, it } from 'vitest';
import {
  gemm,
  gemmNaive,
  linearBackward,
  linearBackwardNaive,
  LINEAR_KSPLIT,
  linearForward,
  linearForwardChunks,
  linearForwardNaive,
  linearForwardSparse,
  linearGradWeightSparse,
  freezeWeight,
} from '../../src/tensor/kernels/gemm.ts';
import { getNumThreads, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';
import { floats, goldenCases } from '../helpers/fixtures.ts';
import { dtypes, vsGolden, vsNaive } from '../helpers/kernels.ts';
import { randomArray, rng, type FloatCtor } from '../helpers/random.ts';

// Scale-aware tolerance: entries of a k-term dot product of U(−1,1) values are O(√k).
function tol(base: number, k: number): number {
  return base * Math.sqrt(Math.max(k, 1));
}

describe('gemm vs gemmNaive', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [4, 3, 8],
    [5, 7, 1],
    [13, 11, 17],
    [64, 10, 128],
    [33, 130, 300],
    [129, 390, 41],
    [7, 400, 777],
    [2, 3, 0],
  ];
  for (const [dt, C, rt] of dtypes) {
    for (const [m, n, k] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`${dt} m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`, () => {
            const r = rng(m * 1000 + n * 10 + k + (transA ? 7 : 0) + (transB ? 13 : 0));
            const a = randomArray(C, m * k, r);
            const b = randomArray(C, k * n, r);
            const c0 = randomArray(C, m * n, r);
            for (const [alpha, beta] of [
              [1, 0],
              [0.5, 1],
              [-2, 0.25],
            ] as const) {
              const c1 = c0.slice();
              const c2 = c0.slice();
              gemm(c1, a, b, m, n, k, { transA, transB, alpha, beta });
              gemmNaive(c2, a, b, m, n, k, { transA, transB, alpha, beta });
              expect(c1).toBeAllClose(c2, vsNaive(rt, tol(rt, k)));
            }
          });
        }
      }
    }
  }

  it('beta = 0 overwrites NaN in C', () => {
    const m = 9,
      n = 7,
      k = 5;
    const r = rng(1);
    const a = randomArray(Float64Array, m * k, r);
    const b = randomArray(Float64Array, k * n, r);
    const c1 = new Float64Array(m * n).fill(NaN);
    const c2 = new Float64Array(m * n);
    gemm(c1, a, b, m, n, k);
    gemmNaive(c2, a, b, m, n, k);
    expect(c1).toBeAllClose(c2, vsNaive(1e-14, 1e-14));
    expect(c1.some(Number.isNaN)).toBe(false);
  });

  it('rejects buffers that are too small', () => {
    expect(() =>
      gemm(new Float64Array(5), new Float64Array(6), new Float64Array(6), 2, 3, 3),
    ).toThrow(/gemm/);
  });
});

describe('linear vs naive', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [4, 7, 5],
    [64, 300, 10],
    [17, 129, 33],
    [5, 1000, 3],
  ];
  for (const [dt, C, rt] of dtypes) {
    for (const [batch, inF, outF] of shapes) {
      for (const bias of [true, false]) {
        it(`${dt} batch=${batch} in=${inF} out=${outF} bias=${bias}`, () => {
          const r = rng(batch * 7 + inF * 3 + outF + (bias ? 1 : 0));
          const x = randomArray(C, batch * inF, r);
          const w = randomArray(C, outF * inF, r);
          const b = bias ? randomArray(C, outF, r) : null;
          const gy = randomArray(C, batch * outF, r);
          const y1 = new C(batch * outF).fill(NaN);
          const y2 = new C(batch * outF);
          linearForward(y1, x, w, b, batch, inF, outF);
          linearForwardNaive(y2, x, w, b, batch, inF, outF);
          expect(y1).toBeAllClose(y2, vsNaive(rt, tol(rt, inF)));
          const g1 = [
            new C(batch * inF).fill(NaN),
            new C(outF * inF).fill(NaN),
            new C(outF).fill(NaN),
          ] as const;
          const g2 = [new C(batch * inF), new C(outF * inF), new C(outF)] as const;
          linearBackward(g1[0], g1[1], g1[2], gy, x, w, batch, inF, outF);
          linearBackwardNaive(g2[0], g2[1], g2[2], gy, x, w, batch, inF, outF);
          expect(g1[0]).toBeAllClose(g2[0], vsNaive(rt, tol(rt, outF)));
          expect(g1[1]).toBeAllClose(g2[1], vsNaive(rt, tol(rt, batch)));
          expect(g1[2]).toBeAllClose(g2[2], vsNaive(rt, tol(rt, batch)));
        });
      }
    }
  }

  it('null outputs are skipped', () => {
    const x = new Float64Array([1, 2]);
    const w = new Float64Array([3, 4]);
    const gy = new Float64Array([1]);
    const gw = new Float64Array(2);
    linearBackward(null, gw, null, gy, x, w, 1, 2, 1);
    expect(Array.from(gw)).toEqual([1, 2]);
  });
});

describe('linear golden (PyTorch F.linear)', () => {
  for (const cs of goldenCases('linear')) {
    for (const [name, impl] of [
      ['tuned', { fwd: linearForward, bwd: linearBackward }],
      ['naive', { fwd: linearForwardNaive, bwd: linearBackwardNaive }],
    ] as const) {
      it(`${cs.name} (${name})`, () => {
        const xs = cs.inputs.input.shape;
        const inF = xs[xs.length - 1]!;
        const batch = xs.slice(0, -1).reduce((p, q) => p * q, 1);
        const outF = cs.inputs.weight.shape[0]!;
        const x = floats(cs.inputs.input);
        const w = floats(cs.inputs.weight);
        const b = cs.inputs.bias ? floats(cs.inputs.bias) : null;
        const gy = floats(cs.inputs.grad_output);
        const y = new Float64Array(batch * outF);
        impl.fwd(y, x, w, b, batch, inF, outF);
        expect(y).toBeAllClose(floats(cs.expected.output), vsGolden);
        const gx = new Float64Array(batch * inF);
        const gw = new Float64Array(outF * inF);
        const gb = b ? new Float64Array(outF) : null;
        impl.bwd(gx, gw, gb, gy, x, w, batch, inF, outF);
        expect(gx).toBeAllClose(floats(cs.expected.grad_input), vsGolden);
        expect(gw).toBeAllClose(floats(cs.expected.grad_weight), vsGolden);
        if (gb) expect(gb).toBeAllClose(floats(cs.expected.grad_bias!), vsGolden);
      });
    }
  }
});

describe('linear forward, sparse-input path (inF ≥ LINEAR_KSPLIT)', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  /** Index of the first element whose bits differ (Object.is: −0 ≠ +0, NaN = NaN), or −1. */
  function firstDiff(a: FloatArray, b: FloatArray): number {
    if (a.length !== b.length) return 0;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
    return -1;
  }

  // x with the given density of non-zeros; some zeros are −0, and a few pairs of terms cancel.
  function sparseInputs(
    C: FloatCtor,
    batch: number,
    inF: number,
    outF: number,
    density: number,
    seed: number,
  ) {
    const r = rng(seed);
    const x = randomArray(C, batch * inF, r);
    for (let i = 0; i < x.length; i++) if (r() >= density) x[i] = r() < 0.1 ? -0 : 0;
    const w = randomArray(C, outF * inF, r);
    // row 0 of x: x[0] = −x[1] and w[·,0] = w[·,1]: the first slice's sum passes through an exact 0
    x[0] = 0.5;
    x[1] = -0.5;
    for (let o = 0; o < outF; o++) w[o * inF + 1] = w[o * inF]!;
    const b = randomArray(C, outF, r);
    return { x, w, b };
  }

  const shapes: [number, number, number][] = [
    [64, 9216, 128], // fc1 of the MNIST net
    [5, 5000, 13], // last k-chunk short, outputs not a multiple of the 8-output block
    [1, LINEAR_KSPLIT, 1],
    [3, 4100, 9],
  ];
  for (const [dt, C] of dtypes) {
    shapes.forEach(([batch, inF, outF], si) => {
      for (const bias of [true, false]) {
        it(`${dt} batch=${batch} in=${inF} out=${outF} bias=${bias}: the dense path's bits, 1 and 2 threads`, () => {
          const { x, w, b } = sparseInputs(C, batch, inF, outF, 0.14, 300 + si);
          const bb = bias ? b : null;
          const dense = new C(batch * outF).fill(NaN);
          linearForwardChunks(dense, x, w, bb, batch, inF, outF);
          for (const threads of [1, 2]) {
            setNumThreads(threads);
            const y = new C(batch * outF).fill(NaN);
            expect(linearForwardSparse(y, x, w, bb, batch, inF, outF)).toBe(true);
            expect(firstDiff(y, dense)).toBe(-1);
            const y2 = new C(batch * outF).fill(NaN);
            linearForward(y2, x, w, bb, batch, inF, outF);
            expect(firstDiff(y2, dense)).toBe(-1);
          }
          const ref = new C(batch * outF);
          linearForwardNaive(ref, x, w, bb, batch, inF, outF);
          expect(dense).toBeAllClose(ref, vsNaive(dt === 'float32' ? 1e-5 : 1e-13, tol(1, inF)));
        });
      }
    });
  }

  it('an Inf or NaN weight facing a zero input gives NaN, as the dense sum does (0·Inf)', () => {
    const [batch, inF, outF] = [4, 4608, 11];
    const { x, w, b } = sparseInputs(Float32Array, batch, inF, outF, 0.1, 7);
    x[inF + 17] = 0; // row 1
    w[3 * inF + 17] = Infinity; // output 3
    w[9 * inF + 17] = NaN; // output 9
    x[2 * inF + 20] = 2; // row 2 meets an Inf weight through a non-zero input
    w[5 * inF + 20] = -Infinity;
    const dense = new Float32Array(batch * outF);
    linearForwardChunks(dense, x, w, b, batch, inF, outF);
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const y = new Float32Array(batch * outF);
      expect(linearForwardSparse(y, x, w, b, batch, inF, outF)).toBe(true);
      expect(firstDiff(y, dense)).toBe(-1);
    }
    expect(Number.isNaN(dense[1 * outF + 3])).toBe(true);
    expect(Number.isNaN(dense[1 * outF + 9])).toBe(true);
    expect(dense[2 * outF + 5]).toBe(-Infinity);
    expect(Number.isFinite(dense[1 * outF + 4])).toBe(true);
  });

  it('a frozen weight (freezeWeight): the same bits over calls, its non-finite rows kept, its heap copy replaced after another weight', () => {
    const [batch, inF, outF] = [6, 4608, 11];
    const a = sparseInputs(Float32Array, batch, inF, outF, 0.1, 21);
    const other = sparseInputs(Float32Array, batch, inF, outF, 0.1, 22);
    a.w[3 * inF + 17] = Infinity; // output 3: NaN where a zero input meets it
    a.x[inF + 17] = 0;
    const frozen = freezeWeight(a.w, outF, inF);
    const plain = (x: Float32Array, w: Float32Array) => {
      const y = new Float32Array(batch * outF).fill(NaN);
      linearForward(y, x, w, a.b, batch, inF, outF);
      return y;
    };
    const cold = (x: Float32Array) => {
      const y = new Float32Array(batch * outF).fill(NaN);
      linearForward(y, x, a.w, a.b, batch, inF, outF, frozen);
      return y;
    };
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      // twice with the frozen weight (the second from the kept heap copy), then another weight
      // through the same heap, then the frozen one again (its copy must come back)
      for (const x of [a.x, other.x, a.x])
        expect(
          firstDiff(cold(x as Float32Array), plain(x as Float32Array, a.w as Float32Array)),
        ).toBe(-1);
      plain(other.x as Float32Array, other.w as Float32Array);
      expect(
        firstDiff(
          cold(other.x as Float32Array),
          plain(other.x as Float32Array, a.w as Float32Array),
        ),
      ).toBe(-1);
    }
    expect(Number.isNaN(cold(a.x as Float32Array)[1 * outF + 3])).toBe(true);
    const y = new Float32Array(batch * outF);
    expect(() => linearForward(y, a.x, other.w, a.b, batch, inF, outF, frozen)).toThrow(
      /linearForward: the frozen weight given is not this weight/,
    );
  });

  it('declines a dense input (writing nothing); linearForward then takes the dense path', () => {
    const [batch, inF, outF] = [8, 4096, 16];
    const { x, w, b } = sparseInputs(Float64Array, batch, inF, outF, 0.9, 11);
    const y = new Float64Array(batch * outF).fill(7);
    expect(linearForwardSparse(y, x, w, b, batch, inF, outF)).toBe(false);
    expect(y.every((v) => v === 7)).toBe(true);
    const dense = new Float64Array(batch * outF);
    linearForwardChunks(dense, x, w, b, batch, inF, outF);
    linearForward(y, x, w, b, batch, inF, outF);
    expect(firstDiff(y, dense)).toBe(-1);
  });

  for (const [dt, C] of dtypes) {
    shapes.forEach(([batch, inF, outF], si) => {
      it(`weight gradient ${dt} batch=${batch} in=${inF} out=${outF}: the dense GEMM's bits, 1 and 2 threads`, () => {
        const { x } = sparseInputs(C, batch, inF, outF, 0.12, 500 + si);
        const gy = randomArray(C, batch * outF, rng(600 + si));
        const dense = new C(outF * inF).fill(NaN);
        gemm(dense, gy, x, outF, inF, batch, { transA: true });
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const gw = new C(outF * inF).fill(NaN);
          expect(linearGradWeightSparse(gw, gy, x, batch, inF, outF)).toBe(true);
          expect(firstDiff(gw, dense)).toBe(-1);
          const gw2 = new C(outF * inF).fill(NaN);
          linearBackward(null, gw2, null, gy, x, new C(outF * inF), batch, inF, outF);
          expect(firstDiff(gw2, dense)).toBe(-1);
        }
        const ref = new C(outF * inF);
        linearBackwardNaive(null, ref, null, gy, x, new C(outF * inF), batch, inF, outF);
        expect(dense).toBeAllClose(ref, vsNaive(dt === 'float32' ? 1e-5 : 1e-13, tol(1, batch)));
      });
    });
  }

  it('weight gradient: an Inf or NaN in gy facing a zero input gives NaN, as the dense sum does', () => {
    const [batch, inF, outF] = [6, 4200, 10];
    const { x } = sparseInputs(Float64Array, batch, inF, outF, 0.1, 21);
    const gy = randomArray(Float64Array, batch * outF, rng(22));
    gy[2 * outF + 4] = Infinity;
    gy[5 * outF + 9] = NaN;
    const dense = new Float64Array(outF * inF);
    gemm(dense, gy, x, outF, inF, batch, { transA: true });
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const gw = new Float64Array(outF * inF);
      expect(linearGradWeightSparse(gw, gy, x, batch, inF, outF)).toBe(true);
      expect(firstDiff(gw, dense)).toBe(-1);
    }
    // column 4 of gy holds an Inf: 0·Inf = NaN where x is 0, ±Inf where it is not
    const row4 = Array.from(dense.subarray(4 * inF, 5 * inF));
    expect(row4.every((v) => !Number.isFinite(v)) && row4.some((v) => Number.isNaN(v))).toBe(true);
    expect(dense.subarray(3 * inF, 4 * inF).every((v) => Number.isFinite(v))).toBe(true);
  });

  it('weight gradient: declines a dense input or a batch deeper than one GEMM slice', () => {
    const { x } = sparseInputs(Float64Array, 8, 4096, 4, 0.9, 31);
    const gw = new Float64Array(4 * 4096).fill(7);
    expect(linearGradWeightSparse(gw, new Float64Array(8 * 4), x, 8, 4096, 4)).toBe(false);
    const deep = sparseInputs(Float64Array, 400, 4096, 2, 0.1, 32);
    expect(linearGradWeightSparse(gw, new Float64Array(400 * 2), deep.x, 400, 4096, 2)).toBe(false);
    expect(gw.every((v) => v === 7)).toBe(true);
  });
});
