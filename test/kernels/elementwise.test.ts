import { describe, expect, it } from 'vitest';
import {
  dropout2dApply,
  dropoutApply,
  reluBackward,
  reluForward,
} from '../../src/tensor/kernels/elementwise.ts';

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
});
