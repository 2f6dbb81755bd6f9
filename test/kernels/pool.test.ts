import { describe, expect, it } from 'vitest';
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dForwardNaive,
  maxPool2dParams,
  type MaxPool2dParams,
} from '../../src/tensor/kernels/pool.ts';
import { goldenCases, nums } from '../helpers/fixtures.ts';
import { rng } from '../helpers/random.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';

/** Exact equality (−0 equals +0; a NaN must be NaN on both sides). */
const exact = { atol: 0, rtol: 0 };

function run(
  x: Float32Array | Float64Array,
  p: MaxPool2dParams,
  kernel = maxPool2dForward,
): { y: Float64Array; idx: Int32Array } {
  const y = new Float64Array(p.n * p.c * p.outH * p.outW);
  const idx = new Int32Array(y.length);
  kernel(y, idx, x, p);
  return { y, idx };
}

describe('maxPool2d vs PyTorch golden vectors', () => {
  for (const c of goldenCases('max_pool2d')) {
    it(c.name, () => {
      const { kernel_size: k, stride, padding, dilation, ceil_mode } = c.params;
      const p = maxPool2dParams(c.inputs.input.shape, k, stride, padding, dilation, ceil_mode);
      expect([p.n, p.c, p.outH, p.outW]).toEqual(c.expected.output.shape);

      for (const Arr of [Float64Array, Float32Array]) {
        const x = Arr.from(nums(c.inputs.input));
        const gy = Arr.from(nums(c.inputs.grad_output));
        const tol = Arr === Float64Array ? 1e-12 : 1e-6;
        for (const fwd of [maxPool2dForward, maxPool2dForwardNaive]) {
          const y = new Arr(gy.length);
          const idx = new Int32Array(gy.length);
          fwd(y, idx, x, p);
          expect(y).toBeAllClose(nums(c.expected.output), { atol: 0, rtol: tol });
          expect(Array.from(idx)).toEqual(nums(c.expected.indices));
          const gx = new Arr(x.length).fill(7); // must be zeroed by the kernel
          maxPool2dBackward(gx, gy, idx, p);
          expect(gx).toBeAllClose(nums(c.expected.grad_input), { atol: tol, rtol: tol });
        }
      }
    });
  }
});

describe('maxPool2dForward vs maxPool2dForwardNaive', () => {
  // values from a small set so ties are common, with NaN and -inf sprinkled in
  function input(n: number, r: () => number): Float64Array {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = r();
      x[i] = u < 0.01 ? NaN : u < 0.02 ? -Infinity : Math.floor(r() * 5) - 2;
    }
    return x;
  }

  /**
   * maxPool2dForward and the naive kernel on one input: identical values and indices; without
   * indices (inference), the same values.
   */
  function runBoth(x: Float32Array | Float64Array, p: MaxPool2dParams) {
    const a = run(x, p);
    const b = run(x, p, maxPool2dForwardNaive);
    expect(a.y).toBeAllClose(b.y, exact);
    expect(a.idx).toBeAllClose(b.idx, exact);
    const values = new Float64Array(a.y.length);
    maxPool2dForward(values, null, x, p);
    expect(values).toBeAllClose(a.y, exact);
    return a;
  }

  it('fast path (kernel 2, stride 2) on the training shape 64x64x24x24', () => {
    const p = maxPool2dParams([64, 64, 24, 24], 2);
    expect([p.outH, p.outW]).toEqual([12, 12]);
    runBoth(input(64 * 64 * 24 * 24, rng(1)), p);
  });

  it('without indices on shared arrays (threaded): the same values for 1 and 2 threads', () => {
    const before = getNumThreads();
    try {
      for (const shape of [
        [64, 64, 24, 24],
        [3, 70, 7, 9], // several chunks, the last one short; odd sizes drop a row and a column
      ]) {
        for (const k of [2, 3]) {
          const p = maxPool2dParams(shape, k);
          const n = shape.reduce((a, b) => a * b, 1);
          const x = new Float32Array(new SharedArrayBuffer(4 * n));
          x.set(input(n, rng(k + n)));
          const ref = run(x, p, maxPool2dForwardNaive).y;
          for (const threads of [1, 2]) {
            setNumThreads(threads);
            const y = new Float32Array(new SharedArrayBuffer(4 * ref.length));
            maxPool2dForward(y, null, x, p);
            expect(y).toBeAllClose(ref, exact);
          }
        }
      }
      expect(poolStatus()).toEqual({ workers: 1, broken: false });
    } finally {
      setNumThreads(before);
    }
  });

  it('with indices, and the backward, on shared arrays (threaded): the same bits for 1 and 2 threads', () => {
    const before = getNumThreads();
    try {
      for (const [shape, k, stride] of [
        [[64, 64, 24, 24], 2, 2], // the training shape (fast path)
        [[3, 70, 7, 9], 3, 2], // overlapping windows: a position can be the maximum of two
      ] as [number[], number, number][]) {
        const p = maxPool2dParams(shape, k, stride);
        const n = shape.reduce((a, b) => a * b, 1);
        const m = p.n * p.c * p.outH * p.outW;
        const sf = (len: number) => new Float32Array(new SharedArrayBuffer(4 * len));
        const x = sf(n);
        x.set(input(n, rng(k + n)));
        const gy = sf(m);
        gy.set(input(m, rng(k + m)));
        const ref = run(x, p, maxPool2dForwardNaive);
        const gxRef = new Float32Array(n); // not shared: the single-thread path
        maxPool2dBackward(gxRef, gy, ref.idx, p);
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const y = sf(m);
          const idx = new Int32Array(new SharedArrayBuffer(4 * m));
          maxPool2dForward(y, idx, x, p);
          expect(y).toBeAllClose(ref.y, exact);
          expect(idx).toEqual(ref.idx);
          const gx = sf(n).fill(NaN); // every element must be written (zeroed, then the scatter)
          maxPool2dBackward(gx, gy, idx, p);
          expect(gx).toEqual(gxRef);
        }
      }
      expect(poolStatus()).toEqual({ workers: 1, broken: false });
    } finally {
      setNumThreads(before);
    }
  });

  it('fast path on odd sizes, float32, floor and ceil mode', () => {
    const r = rng(2);
    for (const [h, w] of [
      [5, 7],
      [2, 3],
      [3, 3],
      [2, 9],
    ] as const) {
      for (const ceil of [false, true]) {
        const p = maxPool2dParams([2, 3, h, w], 2, 2, 0, 1, ceil);
        runBoth(Float32Array.from(input(2 * 3 * h * w, r)), p);
      }
    }
  });

  it('general path on random kernel / stride / padding / dilation / ceil mode', () => {
    const r = rng(3);
    const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    let tested = 0;
    while (tested < 300) {
      const kH = ri(1, 4);
      const kW = ri(1, 4);
      const shape = [ri(1, 2), ri(1, 3), ri(1, 12), ri(1, 12)];
      let p: MaxPool2dParams;
      try {
        p = maxPool2dParams(
          shape,
          [kH, kW],
          r() < 0.2 ? undefined : [ri(1, 3), ri(1, 3)],
          [ri(0, kH >> 1), ri(0, kW >> 1)],
          [ri(1, 3), ri(1, 3)],
          r() < 0.5,
        );
      } catch {
        continue; // output too small for this draw
      }
      const x = input(
        shape.reduce((a, b) => a * b),
        r,
      );
      const a = runBoth(x, p);
      // the index points at the chosen value in its plane, or is -1 for an empty window (-inf)
      const ohw = p.outH * p.outW;
      for (let o = 0; o < a.idx.length; o++) {
        const i = a.idx[o];
        expect(i).toBeGreaterThanOrEqual(-1);
        expect(i).toBeLessThan(p.h * p.w);
        const v = i < 0 ? -Infinity : x[Math.floor(o / ohw) * p.h * p.w + i];
        expect(Object.is(v, a.y[o])).toBe(true);
      }
      tested++;
    }
  });
});

describe('maxPool2d hand cases', () => {
  it('ties go to the first maximum in row-major window order', () => {
    const p = maxPool2dParams([1, 1, 2, 4], 2);
    const x = Float64Array.from([3, 3, 0, 5, 3, 3, 5, 5]);
    for (const kernel of [maxPool2dForward, maxPool2dForwardNaive]) {
      const { y, idx } = run(x, p, kernel);
      expect(Array.from(y)).toEqual([3, 5]);
      expect(Array.from(idx)).toEqual([0, 3]);
    }
    // overlapping 3x3 windows with padding take the general path
    const q = maxPool2dParams([1, 1, 3, 3], 3, 1, 1);
    const ones = run(new Float64Array(9).fill(1), q);
    expect(Array.from(ones.idx)).toEqual([0, 0, 1, 0, 0, 1, 3, 3, 4]);
  });

  it('padding is -inf and never chosen, even for an all -inf input', () => {
    const p = maxPool2dParams([1, 1, 3, 3], 3, 2, 1);
    expect([p.outH, p.outW]).toEqual([2, 2]);
    const x = Float64Array.from([-5, -4, -3, -2, -1, -6, -7, -8, -9]);
    const { y, idx } = run(x, p);
    expect(Array.from(y)).toEqual([-1, -1, -1, -1]);
    expect(Array.from(idx)).toEqual([4, 4, 4, 4]);
    const inf = run(new Float64Array(9).fill(-Infinity), p);
    expect(Array.from(inf.y)).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
    // first valid position of each window, like PyTorch
    expect(Array.from(inf.idx)).toEqual([0, 1, 3, 4]);
  });

  it('ceilMode adds a partial last window only if it starts inside input or left padding', () => {
    expect(maxPool2dParams([1, 1, 5, 5], 2).outH).toBe(2);
    expect(maxPool2dParams([1, 1, 5, 5], 2, 2, 0, 1, true).outH).toBe(3);
    // (out - 1) * stride >= H + pad drops the window that would start in the right padding
    expect(maxPool2dParams([1, 1, 5, 5], 2, 2, 1, 1, true).outH).toBe(3);
    expect(maxPool2dParams([1, 1, 6, 6], 3, 2, 0, 1, false).outH).toBe(2);
    expect(maxPool2dParams([1, 1, 6, 6], 3, 2, 0, 1, true).outH).toBe(3);
    expect(maxPool2dParams([1, 1, 112, 112], 3, 2, 0, 1, true).outH).toBe(56);
    expect(maxPool2dParams([1, 1, 112, 112], 3, 2, 0, 1, false).outH).toBe(55);

    const p = maxPool2dParams([1, 1, 1, 5], [1, 2], [1, 2], 0, 1, true);
    expect(p.outW).toBe(3);
    const { y, idx } = run(Float64Array.from([1, 2, 3, 4, 9]), p);
    expect(Array.from(y)).toEqual([2, 4, 9]);
    expect(Array.from(idx)).toEqual([1, 3, 4]);
  });

  it('defaults, pairs and 3-D input', () => {
    const p = maxPool2dParams([3, 8, 6], [2, 3]);
    expect(p).toMatchObject({ n: 1, c: 3, h: 8, w: 6, sH: 2, sW: 3, outH: 4, outW: 2 });
    expect(maxPool2dParams([0, 3, 8, 6], 2, null).outH).toBe(4); // empty batch is allowed
  });

  it('NaN is the max and propagates (last NaN in window order gives the index)', () => {
    const p = maxPool2dParams([1, 1, 2, 2], 2);
    for (const kernel of [maxPool2dForward, maxPool2dForwardNaive]) {
      const a = run(Float64Array.from([1, NaN, 5, 2]), p, kernel);
      expect(a.y[0]).toBeNaN();
      expect(a.idx[0]).toBe(1);
      const b = run(Float64Array.from([NaN, 9, NaN, 2]), p, kernel);
      expect(b.y[0]).toBeNaN();
      expect(b.idx[0]).toBe(2);
    }
  });

  it('a window entirely in padding (dilation) gives -inf and index -1, skipped by backward', () => {
    const p = maxPool2dParams([1, 1, 1, 1], [1, 2], 1, [0, 1], [1, 2]);
    expect(p.outW).toBe(1); // the only window reads columns -1 and 1 of a 1-wide input
    for (const kernel of [maxPool2dForward, maxPool2dForwardNaive]) {
      const { y, idx } = run(Float64Array.from([4]), p, kernel);
      expect(Array.from(y)).toEqual([-Infinity]);
      expect(Array.from(idx)).toEqual([-1]);
      const gx = new Float64Array(1).fill(3);
      maxPool2dBackward(gx, Float64Array.from([1]), idx, p);
      expect(gx[0]).toBe(0);
    }
  });

  it('backward zeroes gx and accumulates overlapping windows', () => {
    const p = maxPool2dParams([1, 1, 1, 3], [1, 2], [1, 1]);
    const { idx } = run(Float64Array.from([0, 5, 1]), p);
    expect(Array.from(idx)).toEqual([1, 1]);
    const gx = new Float32Array(3).fill(NaN);
    maxPool2dBackward(gx, Float32Array.from([0.5, 0.25]), idx, p);
    expect(Array.from(gx)).toEqual([0, 0.75, 0]);
  });

  it('throws clear errors naming maxPool2d and the values', () => {
    expect(() => maxPool2dParams([1, 1, 7, 7], 3, 2, 2)).toThrow(
      /maxPool2d: padding should be at most half of kernel size, got padH=2, padW=2, kH=3, kW=3/,
    );
    expect(() => maxPool2dParams([1, 1, 7, 7], 0)).toThrow(/maxPool2d: kernel size .*kH=0, kW=0/);
    expect(() => maxPool2dParams([1, 1, 7, 7], 2, [0, 1])).toThrow(/maxPool2d: stride .*sH=0/);
    expect(() => maxPool2dParams([1, 1, 7, 7], 2, 2, 0, 0)).toThrow(/maxPool2d: dilation .*dH=0/);
    expect(() => maxPool2dParams([1, 1, 7, 7], 2, 2, -1)).toThrow(/maxPool2d: padding .*padH=-1/);
    expect(() => maxPool2dParams([1, 1, 7, 7], 1.5)).toThrow(
      /maxPool2d: kernelSize must be integers/,
    );
    expect(() => maxPool2dParams([1, 1, 1, 5], 2)).toThrow(
      /maxPool2d: given input size \(1x1x5\), calculated output size \(1x0x2\) is too small/,
    );
    expect(() => maxPool2dParams([7, 7], 2)).toThrow(
      /maxPool2d: expected a 3-D .* got shape \[7, 7\]/,
    );
    expect(() => maxPool2dParams([1, 0, 4, 4], 2)).toThrow(/maxPool2d: .*got shape \[1, 0, 4, 4\]/);
  });
});
