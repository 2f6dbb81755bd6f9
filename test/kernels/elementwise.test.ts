import { describe, expect, it } from 'vitest';
import {
  dropout2dApply,
  dropoutApply,
  reluBackward,
  reluForward,
} from '../../src/tensor/kernels/elementwise.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';

describe('relu', () => {
  it('forward clamps at zero and keeps NaN (torch.relu)', () => {
    for (const Arr of [Float32Array, Float64Array]) {
      const x = Arr.from([-2, -0, 0, 0.5, 3, NaN, -Infinity, Infinity]);
      const y = new Arr(8);
      reluForward(y, x, 8);
      expect(Array.from(y)).toEqual([0, 0, 0, 0.5, 3, NaN, 0, Infinity]);
      expect(Object.is(y[1], 0)).toBe(true); // -0 becomes +0
    }
  });

  it('backward passes gy where x > 0, zero at x <= 0 (including x == 0)', () => {
    const x = Float64Array.from([-1, 0, 1e-30, 2, NaN]);
    const gy = Float64Array.from([5, 6, 7, 8, 9]);
    const gx = new Float64Array(5);
    reluBackward(gx, gy, x, 5);
    expect(Array.from(gx)).toEqual([0, 0, 7, 8, 9]);
    // the forward output gives the same mask
    const y = new Float64Array(5);
    reluForward(y, x, 5);
    const gx2 = new Float64Array(5);
    reluBackward(gx2, gy, y, 5);
    expect(Array.from(gx2)).toEqual(Array.from(gx));
  });

  it('float32 (bit-level kernels) equals the plain definition on special values', () => {
    const special = [-2, -0, 0, 0.5, 3, NaN, -NaN, -Infinity, Infinity, 1e-45, -1e-45, 3.4e38];
    const bits = new Int32Array(special.length + 2);
    bits.set(new Int32Array(Float32Array.from(special).buffer));
    bits[special.length] = 0xffc00001 | 0; // NaN with the sign bit and a payload
    bits[special.length + 1] = 0x7f800001; // signalling-pattern NaN, positive
    const x = new Float32Array(bits.buffer);
    const n = x.length;
    const gy = Float32Array.from({ length: n }, (_, i) => i + 1);
    const y = new Float32Array(n);
    const gx = new Float32Array(n);
    reluForward(y, x, n);
    reluBackward(gx, gy, x, n);
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      expect(Object.is(y[i], v <= 0 ? 0 : v), `relu(${v}) at ${i}`).toBe(true);
      expect(gx[i], `relu'(${v}) at ${i}`).toBe(v <= 0 ? 0 : gy[i]);
    }
    // random data, both paths agree with the float64 kernels
    const r = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i * 12.9898) * 3);
    const y32 = new Float32Array(r.length);
    const y64 = new Float64Array(r.length);
    reluForward(y32, r, r.length);
    reluForward(y64, Float64Array.from(r), r.length);
    expect(Array.from(y32)).toEqual(Array.from(y64));
  });

  it('forward on shared arrays (threaded): the same bits for 1 and 2 threads, float32 and float64', () => {
    const before = getNumThreads();
    try {
      for (const Arr of [Float32Array, Float64Array]) {
        const shared = (n: number) =>
          Arr === Float32Array
            ? new Float32Array(new SharedArrayBuffer(4 * n))
            : new Float64Array(new SharedArrayBuffer(8 * n));
        const n = 3 * 65536 + 123; // four chunks, the last one short
        const x = shared(n);
        for (let i = 0; i < n; i++) x[i] = i % 1000 === 7 ? NaN : Math.sin(i * 12.9898) * 3;
        x[5] = -0;
        const ref = new Arr(n);
        for (let i = 0; i < n; i++) ref[i] = x[i]! <= 0 ? 0 : x[i]!;
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const y = shared(n);
          reluForward(y, x, n);
          expect(y).toEqual(ref);
          expect(Object.is(y[5], 0)).toBe(true);
        }
      }
      expect(poolStatus()).toEqual({ workers: 1, broken: false });
    } finally {
      setNumThreads(before);
    }
  });

  it('backward on shared arrays (threaded): the same bits for 1 and 2 threads, gx written in full', () => {
    const before = getNumThreads();
    try {
      for (const Arr of [Float32Array, Float64Array]) {
        const shared = (n: number) =>
          Arr === Float32Array
            ? new Float32Array(new SharedArrayBuffer(4 * n))
            : new Float64Array(new SharedArrayBuffer(8 * n));
        const n = 3 * 65536 + 123; // four chunks, the last one short
        const x = shared(n);
        const gy = shared(n);
        for (let i = 0; i < n; i++) {
          x[i] = i % 1000 === 7 ? NaN : Math.sin(i * 12.9898) * 3;
          gy[i] = Math.cos(i * 4.1414);
        }
        x[5] = -0;
        x[6] = 0;
        const ref = new Arr(n);
        for (let i = 0; i < n; i++) ref[i] = x[i]! <= 0 ? 0 : gy[i]!;
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const gx = shared(n).fill(NaN);
          reluBackward(gx, gy, x, n);
          expect(gx).toEqual(ref);
        }
      }
      expect(poolStatus()).toEqual({ workers: 1, broken: false });
    } finally {
      setNumThreads(before);
    }
  });

  it('float32 kernels respect subarray offsets', () => {
    const buf = Float32Array.from([-1, -2, 3, -4, 5, -6]);
    const x = buf.subarray(2, 5); // [3, -4, 5]
    const y = new Float32Array(6).fill(9).subarray(1, 4);
    reluForward(y, x, 3);
    expect(Array.from(y)).toEqual([3, 0, 5]);
    const gx = new Float32Array(3);
    reluBackward(gx, Float32Array.from([7, 8, 9]), x, 3);
    expect(Array.from(gx)).toEqual([7, 0, 9]);
  });

  it('only touches the first len elements and works in place', () => {
    const x = Float32Array.from([-1, 2, -3, -4]);
    reluForward(x, x, 3);
    expect(Array.from(x)).toEqual([0, 2, 0, -4]);
  });
});

describe('dropout', () => {
  it('dropoutApply scales kept entries and zeroes dropped ones; backward is the same call', () => {
    for (const Arr of [Float32Array, Float64Array]) {
      const x = Arr.from([1, 2, 3, 4, -5]);
      const mask = Uint8Array.from([1, 0, 1, 0, 1]);
      const y = new Arr(5);
      dropoutApply(y, x, mask, 2, 5);
      expect(Array.from(y)).toEqual([2, 0, 6, 0, -10]);
      const gx = new Arr(5);
      dropoutApply(gx, Arr.from([1, 1, 1, 1, 1]), mask, 2, 5);
      expect(Array.from(gx)).toEqual([2, 0, 2, 0, 2]);
    }
  });

  it('dropped non-finite inputs give NaN like input * noise in PyTorch', () => {
    const y = new Float64Array(3);
    dropoutApply(y, Float64Array.from([Infinity, NaN, 1]), Uint8Array.from([0, 0, 0]), 2, 3);
    expect(y[0]).toBeNaN();
    expect(y[1]).toBeNaN();
    expect(y[2]).toBe(0);
  });

  it('dropout2dApply masks whole planes', () => {
    // [planes = 3, planeSize = 2]
    const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const y = new Float64Array(6);
    dropout2dApply(y, x, Uint8Array.from([1, 0, 1]), 1 / (1 - 0.5), 3, 2);
    expect(Array.from(y)).toEqual([2, 4, 0, 0, 10, 12]);
    dropout2dApply(x, x, Uint8Array.from([0, 1, 0]), 4, 3, 2); // in place
    expect(Array.from(x)).toEqual([0, 0, 12, 16, 0, 0]);
  });

  it('dropout2dApply on shared arrays (threaded): the same bits for 1 and 2 threads, y written in full', () => {
    const before = getNumThreads();
    try {
      const planes = 64 * 64 + 3; // conv2's activations at batch 64, and a short last chunk
      const size = 144;
      const n = planes * size;
      const x = new Float32Array(new SharedArrayBuffer(4 * n));
      for (let i = 0; i < n; i++) x[i] = i % 997 === 3 ? Infinity : Math.sin(i * 12.9898) * 3;
      const mask = new Uint8Array(planes);
      for (let p = 0; p < planes; p++) mask[p] = (p * 7919) % 4 === 0 ? 0 : 1;
      const ref = new Float32Array(n);
      for (let p = 0; p < planes; p++)
        for (let i = p * size; i < (p + 1) * size; i++) ref[i] = x[i]! * (mask[p] ? 4 / 3 : 0);
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const y = new Float32Array(new SharedArrayBuffer(4 * n)).fill(-1);
        dropout2dApply(y, x, mask, 4 / 3, planes, size);
        expect(y).toEqual(ref);
      }
      expect(poolStatus()).toEqual({ workers: 1, broken: false });
    } finally {
      setNumThreads(before);
    }
  });
});
