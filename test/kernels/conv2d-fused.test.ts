import { afterAll, describe, expect, it } from 'vitest';
import {
  conv2dForward,
  conv2dForwardAlgorithm,
  conv2dParams,
  conv2dReluPoolForward,
  freezeConvWeight,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import { reluForward } from '../../src/tensor/kernels/elementwise.ts';
import {
  maxPool2dForward,
  maxPool2dParams,
  reluMaxPool2dK2S2,
  type MaxPool2dParams,
} from '../../src/tensor/kernels/pool.ts';
import { getNumThreads, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';
import { randomArray, rng, type FloatCtor } from '../helpers/random.ts';

const bitsEqual = (a: FloatArray, b: FloatArray): number => {
  // index of the first element whose bits differ, or -1
  const ua = a instanceof Float32Array ? new Uint32Array(a.buffer, a.byteOffset, a.length) : null;
  const ub = b instanceof Float32Array ? new Uint32Array(b.buffer, b.byteOffset, b.length) : null;
  for (let i = 0; i < a.length; i++) {
    if (ua !== null && ub !== null ? ua[i] !== ub[i] : !Object.is(a[i], b[i])) return i;
  }
  return a.length === b.length ? -1 : a.length;
};

interface PoolSpec {
  kernel: number;
  stride: number | null;
  padding: number;
  ceilMode: boolean;
}

// the three separate kernels, as the eager inference forward runs them
function reference(
  C: FloatCtor,
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  xs: number[],
  ws: number[],
  o: Conv2dOptions,
  pool: PoolSpec | null,
): { y: FloatArray; p: ReturnType<typeof conv2dParams>; pp: MaxPool2dParams | null } {
  const p = conv2dParams(xs, ws, o);
  const conv = new C(p.n * p.cOut * p.outH * p.outW);
  conv2dForward(conv, x, w, b, p, true);
  const r = new C(conv.length);
  reluForward(r, conv, conv.length);
  if (pool === null) return { y: r, p, pp: null };
  const pp = maxPool2dParams(
    [p.n, p.cOut, p.outH, p.outW],
    pool.kernel,
    pool.stride,
    pool.padding,
    1,
    pool.ceilMode,
  );
  const y = new C(pp.n * pp.c * pp.outH * pp.outW);
  maxPool2dForward(y, null, r, pp);
  return { y, p, pp };
}

describe('conv2dReluPoolForward: the values of conv2d → relu → maxPool2d, bit for bit', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));
  const k2: PoolSpec = { kernel: 2, stride: null, padding: 0, ceilMode: false };
  const k3s2: PoolSpec = { kernel: 3, stride: 2, padding: 0, ceilMode: false };
  const cases: [string, number[], number[], Conv2dOptions, PoolSpec | null][] = [
    ['conv2 of the MNIST net (Winograd) + pool 2', [3, 32, 26, 26], [64, 32, 3, 3], {}, k2],
    ['conv1 of the MNIST net (direct) + ReLU only', [3, 1, 28, 28], [32, 1, 3, 3], {}, null],
    ['direct, odd output (25×25) + pool 2', [2, 1, 27, 27], [8, 1, 3, 3], {}, k2],
    [
      'Winograd F(4×4) padded, odd output + pool 2',
      [2, 16, 5, 7],
      [16, 16, 3, 3],
      { padding: 1 },
      k2,
    ],
    // F(6×6) with partial last tiles (23×23 → pooled 11×11) and 17 channels (one padded row, a
    // last block of one channel)
    ['Winograd F(6×6), odd output + pool 2', [2, 16, 23, 23], [17, 16, 3, 3], { padding: 1 }, k2],
    ['Winograd F(6×6) + pool 3 / stride 2', [2, 16, 24, 24], [16, 16, 3, 3], {}, k3s2],
    ['Winograd F(6×6) + ReLU only', [2, 16, 24, 24], [16, 16, 3, 3], {}, null],
    [
      'im2col (stride, groups, circular) + pool 3 / stride 2 / padding 1 / ceil',
      [2, 4, 11, 9],
      [6, 2, 3, 2],
      { stride: 2, padding: 1, groups: 2, paddingMode: 'circular' },
      { kernel: 3, stride: 2, padding: 1, ceilMode: true },
    ],
    ['im2col 1×1 + pool 2', [2, 3, 6, 6], [5, 3, 1, 1], {}, k2],
  ];
  for (const [C, dt] of [
    [Float32Array, 'float32'],
    [Float64Array, 'float64'],
  ] as const) {
    cases.forEach(([label, xs, ws, o, pool], ci) => {
      it(`${dt}, ${label}; NaN, ±0 and ±Inf inputs; 1 and 2 threads; the weight frozen`, () => {
        const r = rng(300 + ci);
        const x = randomArray(C, xs, r);
        const w = randomArray(C, ws, r);
        const b = randomArray(C, ws[0]!, r);
        // a NaN, an infinity and zeros in the input reach some windows
        for (let i = 0; i < 30; i++) x[(i * 97) % x.length] = i % 2 ? -0 : 0;
        x[5] = NaN;
        x[x.length - 40] = -Infinity;
        x[x.length >> 1] = Infinity;
        const ref = reference(C, x, w, b, xs, ws, o, pool);
        const algo = conv2dForwardAlgorithm(ref.p, true);
        if (ci === 0 || label.includes('F(6×6)')) expect(algo).toBe('winograd6');
        if (label.includes('F(4×4)')) expect(algo).toBe('winograd');
        const frozen = freezeConvWeight(w, ref.p);
        const other = w.map((v) => -v);
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const y = new C(ref.y.length).fill(12345);
          conv2dReluPoolForward(y, x, w, b, ref.p, ref.pp);
          expect(bitsEqual(y, ref.y), `${threads} thread(s): first differing index`).toBe(-1);
          // the weight frozen (freezeConvWeight), around calls with another weight that rewrite
          // the shared scratch and the threads' heaps
          for (let k = 0; k < 2; k++) {
            const yf = new C(ref.y.length).fill(12345);
            conv2dReluPoolForward(yf, x, w, b, ref.p, ref.pp, frozen);
            expect(bitsEqual(yf, ref.y), `frozen, ${threads} thread(s)`).toBe(-1);
            conv2dReluPoolForward(new C(ref.y.length), x, other, b, ref.p, ref.pp);
          }
        }
        // the inputs did make NaNs, zeros and positives in the output
        expect(ref.y.some((v) => Number.isNaN(v))).toBe(true);
        expect(ref.y.some((v) => v === 0)).toBe(true);
        expect(ref.y.some((v) => v > 0)).toBe(true);
      });
    });
  }

  it('rejects pool params that do not describe the convolution output', () => {
    const p = conv2dParams([1, 1, 6, 6], [2, 1, 3, 3], {});
    const pp = maxPool2dParams([1, 2, 5, 4], 2, null, 0, 1, false);
    expect(() =>
      conv2dReluPoolForward(
        new Float32Array(8),
        new Float32Array(36),
        new Float32Array(18),
        null,
        p,
        pp,
      ),
    ).toThrow(/max-pool input \[1, 2, 5, 4\] is not the convolution's output \[1, 2, 4, 4\]/);
    const w = new Float32Array(18);
    const frozen = freezeConvWeight(w, p);
    expect(() =>
      conv2dReluPoolForward(
        new Float32Array(32),
        new Float32Array(36),
        w.slice(),
        null,
        p,
        null,
        frozen,
      ),
    ).toThrow(/conv2dReluPool: the frozen weight given is not this weight/);
  });
});

describe('reluMaxPool2dK2S2 (branch-free on the float32 bits)', () => {
  it('matches reluForward then maxPool2dForward on every kind of float32, bit for bit', () => {
    const r = rng(77);
    const h = 10;
    const w = 12;
    const planes = 40;
    const bits = new Int32Array(planes * h * w);
    const special = [
      0x00000000, // +0
      0x80000000 | 0, // −0
      0x7f800000, // +Inf
      0xff800000 | 0, // −Inf
      0x7fc00000, // NaN
      0xffc00000 | 0, // NaN, sign bit set
      0x7f800001, // signalling NaN
      0x7fc00123, // NaN with a payload
      0x00000001, // smallest subnormal
      0x80000001 | 0,
      0x7f7fffff, // largest finite
      0xff7fffff | 0,
    ];
    for (let i = 0; i < bits.length; i++) {
      const u = r();
      if (u < 0.08) bits[i] = special[Math.floor(r() * special.length)]!;
      else if (u < 0.2)
        bits[i] = bits[Math.max(0, i - 1)]!; // ties
      else bits[i] = (r() * 0x100000000) | 0; // any bits, NaNs included
    }
    const x = new Float32Array(bits.buffer);
    const p = maxPool2dParams([4, planes / 4, h, w], 2, null, 0, 1, false);
    const relu = new Float32Array(x.length);
    reluForward(relu, x, x.length);
    const ref = new Float32Array(planes * 5 * 6);
    maxPool2dForward(ref, null, relu, p);
    const y = new Float32Array(ref.length);
    expect(reluMaxPool2dK2S2(y, x, p, 0, planes)).toBe(true);
    expect(bitsEqual(y, ref)).toBe(-1);
    expect(ref.some((v) => Number.isNaN(v))).toBe(true);
  });

  it('declines (writes nothing) for any other pool', () => {
    const p = maxPool2dParams([1, 1, 6, 6], 3, 2, 0, 1, false);
    const y = new Float32Array(4).fill(7);
    expect(reluMaxPool2dK2S2(y, new Float32Array(36), p, 0, 1)).toBe(false);
    expect([...y]).toEqual([7, 7, 7, 7]);
  });
});
