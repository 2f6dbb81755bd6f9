import { describe, expect, it } from 'vitest';
import {
  fromFixedPoint,
  maxPool2dInt,
  maxPool2dIntNaive,
  reluInt,
  shiftCodesFromFloat,
  shiftConv2d,
  shiftConv2dFloatSim,
  shiftConv2dNaive,
  shiftLinear,
  shiftLinearFloatSim,
  shiftLinearNaive,
  shiftPlan,
  toFixedPoint,
  type ShiftCodes,
} from '../../src/tensor/kernels/shift.ts';
import {
  conv2dAlgorithm,
  conv2dForwardIm2col,
  conv2dParams,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import { maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import { rng } from '../helpers/random.ts';
import { Tensor, nn } from '../../src/index.ts';

const F = nn.functional;

/** Random codes: sign ∈ {−1, 0, 1} (zero with probability pZero), shift ∈ [lo, 0]. */
function randomCodes(n: number, r: () => number, lo = -14, pZero = 0.3): ShiftCodes {
  const sign = new Int8Array(n);
  const shift = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    sign[i] = r() < pZero ? 0 : r() < 0.5 ? -1 : 1;
    shift[i] = Math.floor(r() * (1 - lo)) + lo;
  }
  return { sign, shift };
}

function randomInts(n: number, r: () => number, max: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor((r() * 2 - 1) * max);
  return a;
}

const codesToFloat = (c: ShiftCodes): Float64Array =>
  Float64Array.from(c.sign, (s, i) => s * 2 ** c.shift[i]!);

describe('fixed point conversion', () => {
  it('floors (toward −∞) and saturates; NaN → 0', () => {
    const q = new Int32Array(7);
    toFixedPoint(q, [1.5, -1.5, 2 ** -17, -(2 ** -17), 1e9, -1e9, NaN], 7);
    expect([...q]).toEqual([98304, -98304, 0, -1, 2 ** 31 - 1, -(2 ** 31), 0]);
  });
  it('configurable format Q4.4 and the round trip of representable values', () => {
    const q = new Int32Array(4);
    toFixedPoint(q, [0.3, 7.99, -8, 100], 4, { integerBits: 4, fractionBits: 4 });
    expect([...q]).toEqual([4, 127, -128, 127]);
    const back = new Float64Array(4);
    fromFixedPoint(back, q, 4, 4);
    expect([...back]).toEqual([0.25, 7.9375, -8, 7.9375]);
  });
  it('rejects formats wider than 32 bits', () => {
    expect(() =>
      toFixedPoint(new Int32Array(1), [0], 1, { integerBits: 17, fractionBits: 16 }),
    ).toThrow(/<= 32/);
  });
});

describe('shift codes and plans', () => {
  it('decodes 0 and ±2^k, rejects anything else', () => {
    const c = shiftCodesFromFloat([0, 1, -0.5, 2 ** -14]);
    expect([...c.sign]).toEqual([0, 1, -1, 1]);
    expect([...c.shift]).toEqual([0, 0, -1, -14]);
    expect(() => shiftCodesFromFloat([0.3])).toThrow(/weight 0 = 0.3/);
    expect(() => shiftCodesFromFloat([2])).toThrow(/not 0 or ±2\^k/);
  });
  it('groups each row by shift, + run before − run, zeros skipped', () => {
    const c = shiftCodesFromFloat([0.5, -1, 0, 0.5, -0.5, 1]);
    const p = shiftPlan(c, 1, 6);
    expect(p.nnz).toBe(5);
    expect([...p.gShift]).toEqual([0, 1]);
    expect([...p.index]).toEqual([5, 1, 0, 3, 4]);
    expect([...p.gMid]).toEqual([1, 4]);
    expect([...p.gStart]).toEqual([0, 2, 5]);
  });
});

describe('shiftLinear', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 37, 5],
    [3, 20, 7],
    [8, 33, 4],
    [13, 50, 9],
    [64, 300, 10],
  ];
  for (const [batch, inF, outF] of shapes) {
    it(`tuned = naive bit-for-bit, batch ${batch}, ${inF} -> ${outF}`, () => {
      const r = rng(batch * 1000 + inF);
      const codes = randomCodes(inF * outF, r, -20);
      for (const max of [2 ** 20, 2 ** 31]) {
        // 2^31: every partial sum wraps
        const x = randomInts(batch * inF, r, max);
        const b = randomInts(outF, r, max);
        const y = new Int32Array(batch * outF);
        const yRef = new Int32Array(batch * outF);
        shiftLinear(y, x, shiftPlan(codes, outF, inF), b, batch);
        shiftLinearNaive(yRef, x, codes, b, batch, inF, outF);
        expect(y).toEqual(yRef);
      }
    });
  }

  it('wraps modulo 2^32 on overflow (documented behaviour)', () => {
    const codes = shiftCodesFromFloat([1, 1, 0.5]);
    const x = Int32Array.from([2 ** 30, 2 ** 30, 2]);
    const y = new Int32Array(1);
    shiftLinear(y, x, shiftPlan(codes, 1, 3), null, 1);
    // group r=0: 2^30 + 2^30 wraps to −2^31; group r=1: 2 >> 1 = 1
    expect(y[0]).toBe(-(2 ** 31) + 1);
    const yRef = new Int32Array(1);
    shiftLinearNaive(yRef, x, codes, null, 1, 3, 1);
    expect(yRef[0]).toBe(y[0]);
  });

  it('rounds once per shift group (floor), not per term', () => {
    // x = 1, 1 (codes) with weights 0.5, 0.5: group sum 2 >> 1 = 1 (per term it would be 0 + 0)
    const codes = shiftCodesFromFloat([0.5, 0.5, -0.5]);
    const y = new Int32Array(1);
    shiftLinear(y, Int32Array.from([1, 1, 1]), shiftPlan(codes, 1, 3), null, 1);
    expect(y[0]).toBe(0); // (1 + 1 − 1) >> 1 = 0
    shiftLinear(y, Int32Array.from([1, 1, 0]), shiftPlan(codes, 1, 3), null, 1);
    expect(y[0]).toBe(1);
    shiftLinear(y, Int32Array.from([0, 0, 1]), shiftPlan(codes, 1, 3), null, 1);
    expect(y[0]).toBe(-1); // floor(−0.5)
  });

  it('equals its float64 simulation on random real inputs (no overflow)', () => {
    const r = rng(7);
    const [batch, inF, outF] = [9, 120, 6];
    const codes = randomCodes(inF * outF, r);
    const x = Float64Array.from({ length: batch * inF }, () => (r() * 2 - 1) * 20);
    const b = Float64Array.from({ length: outF }, () => r() * 2 - 1);
    const xq = new Int32Array(x.length);
    const bq = new Int32Array(outF);
    toFixedPoint(xq, x, x.length);
    toFixedPoint(bq, b, outF);
    const y = new Int32Array(batch * outF);
    shiftLinear(y, xq, shiftPlan(codes, outF, inF), bq, batch);
    const yf = new Float64Array(y.length);
    fromFixedPoint(yf, y, y.length);
    const sim = new Float64Array(y.length);
    shiftLinearFloatSim(sim, x, codes, b, batch, inF, outF);
    expect(yf).toEqual(sim);
  });

  it('equals F.linear with W = sign·2^shift where fixed point is exact', () => {
    const r = rng(11);
    const [batch, inF, outF] = [5, 40, 7];
    const codes = randomCodes(inF * outF, r);
    // inputs are multiples of 2^(14−16): every x >> r (r ≤ 14) is exact
    const x = Float64Array.from({ length: batch * inF }, () => Math.floor((r() * 2 - 1) * 64) / 4);
    const b = Float64Array.from(
      { length: outF },
      () => Math.floor((r() * 2 - 1) * 2 ** 16) / 2 ** 16,
    );
    const ref = F.linear(
      Tensor.fromData(x, [batch, inF]),
      Tensor.fromData(codesToFloat(codes), [outF, inF]),
      Tensor.fromData(b, [outF]),
    );
    const xq = new Int32Array(x.length);
    const bq = new Int32Array(outF);
    toFixedPoint(xq, x, x.length);
    toFixedPoint(bq, b, outF);
    const y = new Int32Array(batch * outF);
    shiftLinear(y, xq, shiftPlan(codes, outF, inF), bq, batch);
    const yf = new Float64Array(y.length);
    fromFixedPoint(yf, y, y.length);
    expect(yf).toEqual(ref.toTypedArray());
  });
});

interface ConvCase {
  x: [number, number, number, number];
  w: [number, number, number, number];
  o: Conv2dOptions;
}
const convCases: ConvCase[] = [
  { x: [1, 1, 5, 5], w: [2, 1, 3, 3], o: {} },
  { x: [2, 3, 7, 6], w: [4, 3, 3, 2], o: { stride: 2, padding: 1 } },
  { x: [2, 4, 9, 9], w: [6, 2, 3, 3], o: { groups: 2, dilation: 2, padding: [2, 1] } },
  { x: [3, 2, 8, 11], w: [5, 2, 1, 1], o: { stride: [1, 3] } },
  { x: [1, 6, 10, 10], w: [6, 1, 3, 3], o: { groups: 6, padding: 1 } },
  { x: [2, 8, 12, 12], w: [16, 8, 3, 3], o: {} },
];

describe('shiftConv2d', () => {
  for (const [ci, c] of convCases.entries()) {
    const label = `x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} ${JSON.stringify(c.o)}`;
    it(`tuned = naive bit-for-bit, ${label}`, () => {
      const r = rng(100 + ci);
      const p = conv2dParams(c.x, c.w, c.o);
      const codes = randomCodes(
        c.w.reduce((a, b) => a * b),
        r,
        -20,
      );
      for (const max of [2 ** 20, 2 ** 31]) {
        const x = randomInts(
          c.x.reduce((a, b) => a * b),
          r,
          max,
        );
        const b = randomInts(p.cOut, r, max);
        const y = new Int32Array(p.n * p.cOut * p.outH * p.outW).fill(7);
        const yRef = new Int32Array(y.length);
        shiftConv2d(y, x, shiftPlan(codes, p.cOut, c.w[1] * c.w[2] * c.w[3]), b, p);
        shiftConv2dNaive(yRef, x, codes, b, p);
        expect(y).toEqual(yRef);
      }
    });

    it(`equals F.conv2d (float64) where fixed point is exact, ${label}`, () => {
      const r = rng(200 + ci);
      const p = conv2dParams(c.x, c.w, c.o);
      const codes = randomCodes(
        c.w.reduce((a, b) => a * b),
        r,
      );
      const nx = c.x.reduce((a, b) => a * b);
      const x = Float64Array.from({ length: nx }, () => Math.floor((r() * 2 - 1) * 64) / 4);
      const b = Float64Array.from(
        { length: p.cOut },
        () => Math.floor((r() * 2 - 1) * 2 ** 16) / 2 ** 16,
      );
      const ref = F.conv2d(
        Tensor.fromData(x, c.x),
        Tensor.fromData(codesToFloat(codes), c.w),
        Tensor.fromData(b, [p.cOut]),
        c.o,
      );
      const xq = new Int32Array(nx);
      const bq = new Int32Array(p.cOut);
      toFixedPoint(xq, x, nx);
      toFixedPoint(bq, b, p.cOut);
      const y = new Int32Array(ref.numel());
      shiftConv2d(y, xq, shiftPlan(codes, p.cOut, c.w[1] * c.w[2] * c.w[3]), bq, p);
      const yf = new Float64Array(y.length);
      fromFixedPoint(yf, y, y.length);
      if (conv2dAlgorithm(p, 'forward') === 'im2col') {
        expect(yf).toEqual(ref.toTypedArray());
      } else {
        // F.conv2d takes Winograd F(4×4, 3×3) here, whose 1/6 and 1/24 factors are not dyadic:
        // bit-for-bit against the direct (im2col) float64 kernel, and F.conv2d to 1e-12
        const direct = new Float64Array(y.length);
        conv2dForwardIm2col(direct, x, codesToFloat(codes), b, p);
        expect(yf).toEqual(direct);
        expect(Tensor.fromData(yf, ref.shape)).toBeAllClose(ref, { rtol: 1e-12, atol: 1e-12 });
      }
      // and the float simulation on non-exact inputs
      const xr = Float64Array.from({ length: nx }, () => (r() * 2 - 1) * 10);
      toFixedPoint(xq, xr, nx);
      shiftConv2d(y, xq, shiftPlan(codes, p.cOut, c.w[1] * c.w[2] * c.w[3]), bq, p);
      fromFixedPoint(yf, y, y.length);
      const sim = new Float64Array(y.length);
      shiftConv2dFloatSim(sim, xr, codes, b, p);
      expect(yf).toEqual(sim);
    });
  }

  it('rejects circular padding', () => {
    const p = conv2dParams([1, 1, 4, 4], [1, 1, 3, 3], { padding: 1, paddingMode: 'circular' });
    const codes = shiftCodesFromFloat(new Float64Array(9).fill(1));
    expect(() =>
      shiftConv2d(new Int32Array(16), new Int32Array(16), shiftPlan(codes, 1, 9), null, p),
    ).toThrow(/zeros/);
  });
});

describe('integer relu and max-pool', () => {
  it('relu', () => {
    const y = new Int32Array(4);
    reluInt(y, Int32Array.from([-5, 0, 3, -(2 ** 31)]), 4);
    expect([...y]).toEqual([0, 0, 3, 0]);
  });
  for (const [k, s, pad, dil] of [
    [2, 2, 0, 1],
    [3, 2, 1, 1],
    [2, 1, 1, 2],
  ] as const) {
    it(`max-pool k${k} s${s} p${pad} d${dil}: fast = naive = float max-pool`, () => {
      const r = rng(k * 10 + s + pad);
      const shape = [2, 3, 9, 8];
      const x = randomInts(2 * 3 * 9 * 8, r, 2 ** 31);
      const p = maxPool2dParams(shape, k, s, pad, dil);
      const y = new Int32Array(p.n * p.c * p.outH * p.outW);
      const yRef = new Int32Array(y.length);
      maxPool2dInt(y, x, p);
      maxPool2dIntNaive(yRef, x, p);
      expect(y).toEqual(yRef);
      const ref = F.maxPool2d(Tensor.fromData(Float64Array.from(x), shape), k, {
        stride: s,
        padding: pad,
        dilation: dil,
      });
      expect(Float64Array.from(y)).toEqual(ref.toTypedArray());
    });
  }
});
