import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  conv2dBackwardBias,
  conv2dBackwardBiasNaive,
  conv2dBackwardInput,
  conv2dBackwardInputNaive,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dForward,
  conv2dForwardNaive,
  conv2dParams,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';

type Json = { shape: number[]; data: (number | string)[] };
type Pair = number | [number, number];
interface ConvCase {
  name: string;
  params: {
    stride: Pair;
    padding: Pair;
    dilation: Pair;
    groups: number;
    kernel_size: number[];
    bias: boolean;
  };
  inputs: { input: Json; weight: Json; bias?: Json; grad_output: Json };
  expected: { output: Json; grad_input: Json; grad_weight: Json; grad_bias?: Json };
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/conv2d.json', import.meta.url), 'utf8'),
) as { cases: ConvCase[] };

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

interface Shape {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
}

const shapes: Shape[] = [
  { x: [2, 3, 6, 5], w: [4, 3, 3, 3], o: {} },
  { x: [1, 2, 5, 5], w: [2, 2, 3, 3], o: { padding: 1 } },
  { x: [2, 2, 7, 9], w: [3, 2, 3, 3], o: { stride: 2, padding: 1 } },
  { x: [1, 3, 9, 8], w: [5, 3, 2, 3], o: { stride: [2, 1], padding: [1, 0] } },
  { x: [2, 2, 9, 10], w: [3, 2, 3, 2], o: { dilation: [2, 3], padding: [2, 1] } },
  { x: [2, 4, 7, 6], w: [6, 2, 3, 3], o: { groups: 2, padding: 1 } },
  { x: [1, 6, 8, 8], w: [6, 1, 3, 3], o: { groups: 6, stride: 2 } },
  { x: [2, 4, 9, 8], w: [4, 2, 3, 2], o: { groups: 2, stride: 2, dilation: 2, padding: [2, 1] } },
  { x: [2, 5, 4, 6], w: [7, 5, 1, 1], o: {} },
  { x: [2, 4, 5, 5], w: [6, 2, 1, 1], o: { groups: 2 } },
  { x: [1, 3, 6, 6], w: [4, 3, 1, 1], o: { stride: 2, padding: 1 } },
  { x: [2, 2, 5, 6], w: [3, 2, 3, 3], o: { padding: 1, paddingMode: 'circular' } },
  {
    x: [1, 3, 5, 4],
    w: [2, 3, 3, 2],
    o: { padding: [2, 1], stride: [1, 2], paddingMode: 'circular' },
  },
  {
    x: [2, 2, 6, 6],
    w: [4, 1, 3, 3],
    o: { padding: 2, dilation: 2, groups: 2, paddingMode: 'circular' },
  },
  { x: [1, 1, 3, 3], w: [2, 1, 3, 3], o: { padding: 3, paddingMode: 'circular' } },
  { x: [3, 1, 28, 28], w: [8, 1, 3, 3], o: {} },
  { x: [2, 16, 13, 13], w: [12, 16, 3, 3], o: {} },
  { x: [1, 3, 11, 13], w: [5, 3, 5, 4], o: { stride: 3, padding: [2, 3], dilation: [1, 2] } },
];

const label = (s: Shape): string =>
  `x${JSON.stringify(s.x)} w${JSON.stringify(s.w)} ${JSON.stringify(s.o)}`;

describe('conv2d tuned vs naive', () => {
  for (const [dt, C, rt] of dtypes) {
    shapes.forEach((s, si) => {
      it(`${dt} ${label(s)}`, () => {
        const p = conv2dParams(s.x, s.w, s.o);
        const r = rng(100 + si);
        const K = s.w[1] * s.w[2] * s.w[3];
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
        expectClose(gx1, gx2, rt, rt * Math.sqrt(K));
        const gw1 = new C(w.length).fill(NaN);
        const gw2 = new C(w.length);
        conv2dBackwardWeight(gw1, gy, x, p);
        conv2dBackwardWeightNaive(gw2, gy, x, p);
        expectClose(gw1, gw2, rt, rt * Math.sqrt(p.n * p.outH * p.outW));
        const gb1 = new C(p.cOut).fill(NaN);
        const gb2 = new C(p.cOut);
        conv2dBackwardBias(gb1, gy, p);
        conv2dBackwardBiasNaive(gb2, gy, p);
        expectClose(gb1, gb2, rt, rt * Math.sqrt(p.n * p.outH * p.outW));
      });
    });
  }

  it('circular padding wraps like F.pad(mode="circular") then an unpadded conv', () => {
    // x = [[1,2,3],[4,5,6],[7,8,9]], 3×3 all-ones kernel, padding 1: every output is the sum of all 9.
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const w = new Float64Array(9).fill(1);
    const p = conv2dParams([1, 1, 3, 3], [1, 1, 3, 3], { padding: 1, paddingMode: 'circular' });
    const y = new Float64Array(9);
    conv2dForward(y, x, w, null, p);
    expect(Array.from(y)).toEqual(new Array(9).fill(45));
    // kernel picking only the top-left tap reads x[(i-1) mod 3, (j-1) mod 3]
    const w2 = Float64Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]);
    conv2dForward(y, x, w2, null, p);
    expect(Array.from(y)).toEqual([9, 7, 8, 3, 1, 2, 6, 4, 5]);
    // its input gradient wraps back: each input receives exactly one upstream value
    const gx = new Float64Array(9);
    conv2dBackwardInput(gx, Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), w2, p);
    expect(Array.from(gx)).toEqual([5, 6, 4, 8, 9, 7, 2, 3, 1]);
  });

  it('training shapes (conv1 1→32, conv2 32→64 on 26×26) at batch 2, float32', () => {
    const training: { x: number[]; w: number[] }[] = [
      { x: [2, 1, 28, 28], w: [32, 1, 3, 3] },
      { x: [2, 32, 26, 26], w: [64, 32, 3, 3] },
    ];
    for (const s of training) {
      const p = conv2dParams(s.x, s.w);
      const r = rng(7);
      const x = randArr(
        Float32Array,
        s.x.reduce((a, b) => a * b),
        r,
      );
      const w = randArr(
        Float32Array,
        s.w.reduce((a, b) => a * b),
        r,
      );
      const ySize = p.n * p.cOut * p.outH * p.outW;
      const gy = randArr(Float32Array, ySize, r);
      const K = s.w[1]! * 9;
      const y1 = new Float32Array(ySize),
        y2 = new Float32Array(ySize);
      conv2dForward(y1, x, w, null, p);
      conv2dForwardNaive(y2, x, w, null, p);
      expectClose(y1, y2, 2e-5, 2e-5 * Math.sqrt(K));
      const gx1 = new Float32Array(x.length),
        gx2 = new Float32Array(x.length);
      conv2dBackwardInput(gx1, gy, w, p);
      conv2dBackwardInputNaive(gx2, gy, w, p);
      expectClose(gx1, gx2, 2e-5, 2e-5 * Math.sqrt(K));
      const gw1 = new Float32Array(w.length),
        gw2 = new Float32Array(w.length);
      conv2dBackwardWeight(gw1, gy, x, p);
      conv2dBackwardWeightNaive(gw2, gy, x, p);
      expectClose(gw1, gw2, 2e-5, 2e-5 * Math.sqrt(2 * p.outH * p.outW));
    }
  });
});

describe('conv2d golden (PyTorch F.conv2d)', () => {
  const num = (t: Json): Float64Array => Float64Array.from(t.data.map(Number));
  for (const cs of fixture.cases) {
    for (const [name, fwd, bIn, bW, bB] of [
      ['tuned', conv2dForward, conv2dBackwardInput, conv2dBackwardWeight, conv2dBackwardBias],
      [
        'naive',
        conv2dForwardNaive,
        conv2dBackwardInputNaive,
        conv2dBackwardWeightNaive,
        conv2dBackwardBiasNaive,
      ],
    ] as const) {
      it(`${cs.name} (${name})`, () => {
        const { stride, padding, dilation, groups } = cs.params;
        const p = conv2dParams(cs.inputs.input.shape, cs.inputs.weight.shape, {
          stride,
          padding,
          dilation,
          groups,
        });
        const x = num(cs.inputs.input);
        const w = num(cs.inputs.weight);
        const b = cs.inputs.bias ? num(cs.inputs.bias) : null;
        const gy = num(cs.inputs.grad_output);
        expect([p.n, p.cOut, p.outH, p.outW]).toEqual(cs.expected.output.shape);
        const y = new Float64Array(gy.length);
        fwd(y, x, w, b, p);
        expectClose(y, num(cs.expected.output), 1e-9, 1e-12);
        const gx = new Float64Array(x.length);
        bIn(gx, gy, w, p);
        expectClose(gx, num(cs.expected.grad_input), 1e-9, 1e-12);
        const gw = new Float64Array(w.length);
        bW(gw, gy, x, p);
        expectClose(gw, num(cs.expected.grad_weight), 1e-9, 1e-12);
        if (cs.expected.grad_bias) {
          const gb = new Float64Array(p.cOut);
          bB(gb, gy, p);
          expectClose(gb, num(cs.expected.grad_bias), 1e-9, 1e-12);
        }
      });
    }
  }
});

describe('conv2dParams', () => {
  it('computes the PyTorch output size', () => {
    const p = conv2dParams([64, 32, 26, 26], [64, 32, 3, 3]);
    expect([p.outH, p.outW]).toEqual([24, 24]);
    const q = conv2dParams([1, 2, 8, 8], [2, 2, 3, 3], { stride: 2 });
    expect([q.outH, q.outW]).toEqual([3, 3]);
    const d = conv2dParams([1, 1, 7, 8], [1, 1, 3, 3], {
      dilation: 2,
      padding: [0, 1],
      stride: [1, 2],
    });
    expect([d.outH, d.outW]).toEqual([3, 3]);
    expect(d.paddingMode).toBe('zeros');
  });
  it('throws clear errors', () => {
    expect(() => conv2dParams([1, 3, 5, 5], [4, 1, 3, 3], { groups: 2 })).toThrow(
      /conv2d.*in_channels 3.*groups 2/,
    );
    expect(() => conv2dParams([1, 4, 5, 5], [3, 2, 3, 3], { groups: 2 })).toThrow(
      /conv2d.*out_channels 3.*groups 2/,
    );
    expect(() => conv2dParams([1, 4, 5, 5], [4, 3, 3, 3])).toThrow(
      /conv2d.*\[4,3,3,3\].*\[1,4,5,5\]/,
    );
    expect(() => conv2dParams([1, 1, 2, 5], [1, 1, 3, 3])).toThrow(/conv2d: output size \[0, 3\]/);
    expect(() => conv2dParams([1, 1, 5, 5], [1, 1, 3, 3], { stride: 0 })).toThrow(/conv2d: stride/);
    expect(() => conv2dParams([1, 1, 5, 5], [1, 1, 3, 3], { stride: [1, -1] })).toThrow(
      /conv2d: stride/,
    );
    expect(() => conv2dParams([1, 1, 5, 5], [1, 1, 3, 3], { padding: -1 })).toThrow(
      /conv2d: padding/,
    );
    expect(() => conv2dParams([1, 1, 5, 5], [1, 1, 3, 3], { dilation: 0 })).toThrow(
      /conv2d: dilation/,
    );
    expect(() => conv2dParams([1, 1, 5, 5], [1, 1, 3, 3], { groups: 0 })).toThrow(/conv2d: groups/);
    expect(() => conv2dParams([1, 1, 5, 5], [1, 1, 3, 3], { stride: 1.5 })).toThrow(
      /conv2d: stride/,
    );
    expect(() => conv2dParams([1, 5, 5], [1, 1, 3, 3])).toThrow(/conv2d: expected a 4-D input/);
    expect(() => conv2dParams([1, 1, 5, 5], [1, 3, 3])).toThrow(/conv2d: expected a 4-D weight/);
    expect(() =>
      conv2dParams([1, 1, 2, 5], [1, 1, 3, 3], { padding: 3, paddingMode: 'circular' }),
    ).toThrow(/conv2d: circular padding/);
  });
});
