import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  gemm,
  gemmNaive,
  linearBackward,
  linearBackwardNaive,
  linearForward,
  linearForwardNaive,
} from '../../src/tensor/kernels/gemm.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';

type Json = { shape: number[]; data: (number | string)[] };
interface LinearCase {
  name: string;
  inputs: { input: Json; weight: Json; bias?: Json; grad_output: Json };
  expected: { output: Json; grad_input: Json; grad_weight: Json; grad_bias?: Json };
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/linear.json', import.meta.url), 'utf8'),
) as { cases: LinearCase[] };

// Max |a−e| / (atol + |e|) style check with a readable failure.
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol = 0,
): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`index ${i}: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

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
            const a = randArr(C, m * k, r);
            const b = randArr(C, k * n, r);
            const c0 = randArr(C, m * n, r);
            for (const [alpha, beta] of [
              [1, 0],
              [0.5, 1],
              [-2, 0.25],
            ] as const) {
              const c1 = c0.slice();
              const c2 = c0.slice();
              gemm(c1, a, b, m, n, k, { transA, transB, alpha, beta });
              gemmNaive(c2, a, b, m, n, k, { transA, transB, alpha, beta });
              expectClose(c1, c2, rt, tol(rt, k));
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
    const a = randArr(Float64Array, m * k, r);
    const b = randArr(Float64Array, k * n, r);
    const c1 = new Float64Array(m * n).fill(NaN);
    const c2 = new Float64Array(m * n);
    gemm(c1, a, b, m, n, k);
    gemmNaive(c2, a, b, m, n, k);
    expectClose(c1, c2, 1e-14, 1e-14);
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
          const x = randArr(C, batch * inF, r);
          const w = randArr(C, outF * inF, r);
          const b = bias ? randArr(C, outF, r) : null;
          const gy = randArr(C, batch * outF, r);
          const y1 = new C(batch * outF).fill(NaN);
          const y2 = new C(batch * outF);
          linearForward(y1, x, w, b, batch, inF, outF);
          linearForwardNaive(y2, x, w, b, batch, inF, outF);
          expectClose(y1, y2, rt, tol(rt, inF));
          const g1 = [
            new C(batch * inF).fill(NaN),
            new C(outF * inF).fill(NaN),
            new C(outF).fill(NaN),
          ] as const;
          const g2 = [new C(batch * inF), new C(outF * inF), new C(outF)] as const;
          linearBackward(g1[0], g1[1], g1[2], gy, x, w, batch, inF, outF);
          linearBackwardNaive(g2[0], g2[1], g2[2], gy, x, w, batch, inF, outF);
          expectClose(g1[0], g2[0], rt, tol(rt, outF));
          expectClose(g1[1], g2[1], rt, tol(rt, batch));
          expectClose(g1[2], g2[2], rt, tol(rt, batch));
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
  for (const cs of fixture.cases) {
    for (const [name, impl] of [
      ['tuned', { fwd: linearForward, bwd: linearBackward }],
      ['naive', { fwd: linearForwardNaive, bwd: linearBackwardNaive }],
    ] as const) {
      it(`${cs.name} (${name})`, () => {
        const xs = cs.inputs.input.shape;
        const inF = xs[xs.length - 1]!;
        const batch = xs.slice(0, -1).reduce((p, q) => p * q, 1);
        const outF = cs.inputs.weight.shape[0]!;
        const x = Float64Array.from(cs.inputs.input.data.map(Number));
        const w = Float64Array.from(cs.inputs.weight.data.map(Number));
        const b = cs.inputs.bias ? Float64Array.from(cs.inputs.bias.data.map(Number)) : null;
        const gy = Float64Array.from(cs.inputs.grad_output.data.map(Number));
        const y = new Float64Array(batch * outF);
        impl.fwd(y, x, w, b, batch, inF, outF);
        expectClose(y, cs.expected.output.data.map(Number), 1e-9, 1e-12);
        const gx = new Float64Array(batch * inF);
        const gw = new Float64Array(outF * inF);
        const gb = b ? new Float64Array(outF) : null;
        impl.bwd(gx, gw, gb, gy, x, w, batch, inF, outF);
        expectClose(gx, cs.expected.grad_input.data.map(Number), 1e-9, 1e-12);
        expectClose(gw, cs.expected.grad_weight.data.map(Number), 1e-9, 1e-12);
        if (gb) expectClose(gb, cs.expected.grad_bias!.data.map(Number), 1e-9, 1e-12);
      });
    }
  }
});
