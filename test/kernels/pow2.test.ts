import { describe, expect, it } from 'vitest';
import {
  powerOf2With,
  psWeightF32,
  psWeightGradF32,
  roundHalfEven,
  roundPowerOf2F32,
  signOf,
} from '../../src/tensor/kernels/pow2.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { rng } from '../helpers/random.ts';

const bitsOf = (a: Float32Array): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.length);

// the scalar definition, element by element, as float32 stores
function reference(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = powerOf2With(x[i]!, true, roundHalfEven);
  return y;
}

function firstDifference(a: Float32Array, b: Float32Array): number {
  const ba = bitsOf(a);
  const bb = bitsOf(b);
  for (let i = 0; i < a.length; i++) if (ba[i] !== bb[i]) return i;
  return -1;
}

describe('roundPowerOf2F32: the scalar definition bit for bit', () => {
  it('every exponent: both ends of the binade, around the cut-over, random mantissas, both signs', () => {
    const r = rng(7);
    const vals: number[] = [];
    for (let E = 1; E <= 254; E++) {
      const base = E << 23;
      const ms = [0, 1, 2, 0x7ffffe, 0x7fffff];
      for (let k = 0; k < 40; k++) ms.push(Math.floor(r() * 0x800000));
      // the cut-over: the first mantissa whose result is the upper power, by a linear scan of
      // the scalar definition near √2 (and its neighbours)
      const probe = new Float32Array(1);
      const probeBits = bitsOf(probe);
      const m0 = Math.floor((Math.SQRT2 - 1) * 0x800000);
      for (let m = m0 - 64; m <= m0 + 64; m++) ms.push(m);
      for (const m of ms) {
        probeBits[0] = base | m;
        vals.push(probe[0]!, -probe[0]!);
      }
    }
    const x = Float32Array.from(vals);
    const want = reference(x);
    const got = new Float32Array(x.length);
    roundPowerOf2F32(got, x, x.length);
    expect(firstDifference(got, want)).toBe(-1);
    // in place gives the same
    roundPowerOf2F32(x, x, x.length);
    expect(firstDifference(x, want)).toBe(-1);
  });

  it('zeros, subnormals, infinities and NaN take the scalar definition', () => {
    const x = Float32Array.from([0, -0, 1e-45, -3e-39, 1e-40, Infinity, -Infinity, NaN, 3.4e38]);
    const got = new Float32Array(x.length);
    roundPowerOf2F32(got, x, x.length);
    expect(firstDifference(got, reference(x))).toBe(-1);
    expect(Object.is(got[1], 0)).toBe(true); // sign(−0) = 0: +0
    expect(got[5]).toBe(Infinity);
    expect(got[6]).toBe(-Infinity);
    expect(Number.isNaN(got[7])).toBe(true);
    expect(got[8]).toBe(Infinity); // 2^128 does not fit float32
  });

  it('float32 √2 rounds down to 1 (the log is rounded to float32 first), 1.5 up to 2', () => {
    const x = Float32Array.from([Math.SQRT2, 1.5, 3, -0.75, 2.9, 1.4142137]); // 2.9 > 2√2
    const got = new Float32Array(x.length);
    roundPowerOf2F32(got, x, x.length);
    expect(Array.from(got)).toEqual([1, 2, 4, -1, 4, 2]);
  });
});

describe('PS weight kernels on shared arrays (threaded)', () => {
  it('psWeightF32 and psWeightGradF32: the single-thread bits for 1 and 2 threads', () => {
    const before = getNumThreads();
    try {
      const n = 3 * 65536 + 77; // four chunks, the last one short
      const sf = () => new Float32Array(new SharedArrayBuffer(4 * n));
      const s = sf();
      const g = sf();
      const gw = sf();
      const specials = [-2.5, -3.5, -0.5, 0, -14, -200, NaN, -Infinity];
      const signs = [0.5, -0.5, 0, -0, NaN, 1e-45, -Infinity, 0.50000006];
      for (let i = 0; i < n; i++) {
        s[i] = i < 8 ? specials[i]! : -14 * Math.abs(Math.sin(i * 12.9898));
        g[i] = i < 8 ? signs[i]! : Math.cos(i * 4.1414);
        gw[i] = Math.sin(i * 0.37);
      }
      // the definitions, element by element (W = 2^round(s)·sign(round(g)), dW/ds = W·ln 2)
      const wRef = new Float32Array(n);
      const gRef = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        wRef[i] = 2 ** roundHalfEven(s[i]!) * signOf(roundHalfEven(g[i]!));
        gRef[i] = gw[i]! * Math.fround(wRef[i]! * Math.LN2);
      }
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const w = sf().fill(NaN);
        psWeightF32(w, s, g, n);
        const wShared = sf();
        wShared.set(w);
        const gs = sf().fill(NaN);
        psWeightGradF32(gs, gw, wShared, n);
        for (let i = 0; i < n; i++) {
          if (!Object.is(w[i], wRef[i])) expect.fail(`w[${i}]: ${w[i]} vs ${wRef[i]}`);
          if (!Object.is(gs[i], gRef[i])) expect.fail(`gShift[${i}]: ${gs[i]} vs ${gRef[i]}`);
        }
      }
      expect(poolStatus()).toEqual({ workers: 1, broken: false });
    } finally {
      setNumThreads(before);
    }
  });
});
