import { describe, expect, it } from 'vitest';
import {
  conv2dBackwardBias,
  conv2dBackwardBiasNaive,
  conv2dBackwardInput,
  conv2dBackwardInputNaive,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dForward,
  conv2dForwardDirect3x3,
  conv2dForwardIm2col,
  conv2dForwardNaive,
  conv2dParams,
} from '../../src/tensor/kernels/conv2d.ts';
import { floats, goldenCases } from '../helpers/fixtures.ts';
import {
  convInputs,
  convLabel,
  dtypes,
  expectConvMatchesNaive,
  vsGolden,
  vsNaive,
  type ConvShape,
} from '../helpers/kernels.ts';
import { randomArray, rng } from '../helpers/random.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';

const shapes: ConvShape[] = [
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

describe('conv2d tuned vs naive', () => {
  for (const [dt, C, rt] of dtypes) {
    shapes.forEach((s, si) => {
      it(`${dt} ${convLabel(s)}`, () => {
        const inputs = convInputs(C, s, 100 + si);
        const { p, gy } = inputs;
        const K = s.w[1] * s.w[2] * s.w[3];
        const nOut = p.n * p.outH * p.outW;
        expectConvMatchesNaive(C, inputs, rt, { forward: K, input: K, weight: nOut });
        const gb1 = new C(p.cOut).fill(NaN);
        const gb2 = new C(p.cOut);
        conv2dBackwardBias(gb1, gy, p);
        conv2dBackwardBiasNaive(gb2, gy, p);
        expect(gb1).toBeAllClose(gb2, vsNaive(rt, rt * Math.sqrt(nOut)));
      });
    });
  }

  it('bias gradient on a shared gy (threaded by channel): the plain sums, same bits for 1 and 2 threads', () => {
    const before = getNumThreads();
    try {
      const p = conv2dParams([64, 32, 26, 26], [64, 32, 3, 3]); // conv2 in training
      const n = p.n * p.cOut * p.outH * p.outW;
      const gy = new Float32Array(new SharedArrayBuffer(4 * n));
      gy.set(randomArray(Float32Array, n, rng(77)));
      // float64 sums, images in order and each plane in order, stored to float32
      const ref = new Float32Array(p.cOut);
      const P = p.outH * p.outW;
      for (let o = 0; o < p.cOut; o++) {
        let sum = 0;
        for (let i = 0; i < p.n; i++)
          for (let q = 0; q < P; q++) sum += gy[(i * p.cOut + o) * P + q]!;
        ref[o] = sum;
      }
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const gb = new Float32Array(p.cOut).fill(NaN);
        conv2dBackwardBias(gb, gy, p);
        expect(gb).toEqual(ref);
      }
      expect(poolStatus()).toEqual({ workers: 1, broken: false });
    } finally {
      setNumThreads(before);
    }
  });

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

  it('direct 3×3 (one input channel) has the bits of the im2col path, zero sums included', () => {
    const p = conv2dParams([3, 1, 10, 12], [5, 1, 3, 3]);
    const r = rng(11);
    for (const [, C] of dtypes) {
      // a third of the inputs are ±0 so that some windows sum to a signed zero
      const x = new C(3 * 10 * 12).map(() => {
        const u = r();
        return u < 0.15 ? 0 : u < 0.3 ? -0 : u * 4 - 2;
      });
      x.fill(0, 0, 10 * 12); // image 0 all +0: every product is a signed zero
      // channel 0's weights all ≤ −0: on image 0, nine −0 products
      const w = new C(5 * 9).map((_, i) => (i % 7 === 0 ? -0 : r() - (i < 9 ? 1.5 : 0.5)));
      const bias = new C(5);
      bias.set([0.5, -1, 0, -0, 2]);
      for (const b of [null, bias]) {
        const ySize = 3 * 5 * 8 * 10;
        const y1 = new C(ySize).fill(NaN);
        const y2 = new C(ySize).fill(NaN);
        conv2dForwardDirect3x3(y1, x, w, b, p);
        conv2dForwardIm2col(y2, x, w, b, p);
        for (let i = 0; i < ySize; i++) expect(Object.is(y1[i], y2[i]), `y[${i}]`).toBe(true);
        if (b === null) expect(Object.is(y2[0], 0)).toBe(true); // +0, though products are −0
      }
    }
    expect(() =>
      conv2dForwardDirect3x3(
        new Float32Array(1),
        new Float32Array(1),
        new Float32Array(1),
        null,
        conv2dParams([1, 1, 5, 5], [1, 1, 3, 3], { padding: 1 }),
      ),
    ).toThrow(/conv2dForwardDirect3x3/);
  });

  it('training shapes (conv1 1→32, conv2 32→64 on 26×26) at batch 2, float32', () => {
    const training: { x: number[]; w: number[] }[] = [
      { x: [2, 1, 28, 28], w: [32, 1, 3, 3] },
      { x: [2, 32, 26, 26], w: [64, 32, 3, 3] },
    ];
    for (const s of training) {
      const p = conv2dParams(s.x, s.w);
      const r = rng(7);
      const x = randomArray(Float32Array, s.x, r);
      const w = randomArray(Float32Array, s.w, r);
      const ySize = p.n * p.cOut * p.outH * p.outW;
      const gy = randomArray(Float32Array, ySize, r);
      const K = s.w[1]! * 9;
      const y1 = new Float32Array(ySize),
        y2 = new Float32Array(ySize);
      conv2dForward(y1, x, w, null, p);
      conv2dForwardNaive(y2, x, w, null, p);
      expect(y1).toBeAllClose(y2, vsNaive(2e-5, 2e-5 * Math.sqrt(K)));
      const gx1 = new Float32Array(x.length),
        gx2 = new Float32Array(x.length);
      conv2dBackwardInput(gx1, gy, w, p);
      conv2dBackwardInputNaive(gx2, gy, w, p);
      expect(gx1).toBeAllClose(gx2, vsNaive(2e-5, 2e-5 * Math.sqrt(K)));
      const gw1 = new Float32Array(w.length),
        gw2 = new Float32Array(w.length);
      conv2dBackwardWeight(gw1, gy, x, p);
      conv2dBackwardWeightNaive(gw2, gy, x, p);
      expect(gw1).toBeAllClose(gw2, vsNaive(2e-5, 2e-5 * Math.sqrt(2 * p.outH * p.outW)));
    }
  });
});

describe('conv2d golden (PyTorch F.conv2d)', () => {
  for (const cs of goldenCases('conv2d')) {
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
        const x = floats(cs.inputs.input);
        const w = floats(cs.inputs.weight);
        const b = cs.inputs.bias ? floats(cs.inputs.bias) : null;
        const gy = floats(cs.inputs.grad_output);
        expect([p.n, p.cOut, p.outH, p.outW]).toEqual(cs.expected.output.shape);
        const y = new Float64Array(gy.length);
        fwd(y, x, w, b, p);
        expect(y).toBeAllClose(floats(cs.expected.output), vsGolden);
        const gx = new Float64Array(x.length);
        bIn(gx, gy, w, p);
        expect(gx).toBeAllClose(floats(cs.expected.grad_input), vsGolden);
        const gw = new Float64Array(w.length);
        bW(gw, gy, x, p);
        expect(gw).toBeAllClose(floats(cs.expected.grad_weight), vsGolden);
        if (cs.expected.grad_bias) {
          const gb = new Float64Array(p.cOut);
          bB(gb, gy, p);
          expect(gb).toBeAllClose(floats(cs.expected.grad_bias), vsGolden);
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
