import { describe, expect, it } from 'vitest';
import {
  logSoftmaxBackward,
  logSoftmaxForward,
  nllLossBackward,
  nllLossForward,
} from '../../src/tensor/kernels/softmax.ts';
import { goldenCases, nums } from '../helpers/fixtures.ts';

describe('logSoftmax + nllLoss vs PyTorch golden vectors', () => {
  for (const c of goldenCases('log_softmax_nll')) {
    // float64 must match to 1e-12; float32 inputs are rounded (logits up to ~1000), so looser
    for (const [Arr, rtol, atol] of [
      [Float64Array, 1e-12, 1e-15],
      [Float32Array, 1e-5, 1e-4],
    ] as const) {
      const tol = { rtol, atol, equalNaN: false };
      it(`${c.name} (${Arr.name})`, () => {
        const [rows, cols] = c.inputs.logits.shape as [number, number];
        const x = Arr.from(nums(c.inputs.logits));
        const target = Int32Array.from(nums(c.inputs.target));
        const y = new Arr(rows * cols);
        logSoftmaxForward(y, x, rows, cols);
        expect(y).toBeAllClose(nums(c.expected.log_softmax), tol);

        // log_softmax vjp with a random upstream gradient
        const gy = Arr.from(nums(c.expected.log_softmax_vjp.grad_output));
        const gx = new Arr(rows * cols);
        logSoftmaxBackward(gx, gy, y, rows, cols);
        expect(gx).toBeAllClose(nums(c.expected.log_softmax_vjp.grad_input), tol);

        for (const red of ['mean', 'sum'] as const) {
          const out = new Arr(1);
          const loss = nllLossForward(out, y, target, rows, cols, red);
          expect(loss).toBe(out[0]);
          expect(loss).toBeAllClose(red === 'mean' ? c.expected.loss_mean : c.expected.loss_sum, {
            ...tol,
            atol: 0,
          });
          const gLogp = new Arr(rows * cols);
          nllLossBackward(gLogp, Arr.from([1]), target, rows, cols, red);
          const gLogits = new Arr(rows * cols);
          logSoftmaxBackward(gLogits, gLogp, y, rows, cols);
          const expected =
            red === 'mean' ? c.expected.grad_logits_mean : c.expected.grad_logits_sum;
          expect(gLogits).toBeAllClose(nums(expected), tol);
        }
      });
    }
  }
});

describe('logSoftmax hand cases', () => {
  it('stays finite for huge logits (1e4) in float64 and float32', () => {
    for (const Arr of [Float64Array, Float32Array]) {
      const x = Arr.from([1e4, 0, -1e4, 1e4, 1e4, 1e4]);
      const y = new Arr(6);
      logSoftmaxForward(y, x, 2, 3);
      expect(y[0]).toBe(0);
      expect(y[1]).toBe(-1e4);
      expect(y[2]).toBe(-2e4);
      for (let j = 3; j < 6; j++) expect(y[j]).toBeCloseTo(-Math.log(3), 6);
      const gx = new Arr(6);
      logSoftmaxBackward(gx, Arr.from([1, 0, 0, 0, 0, 1]), y, 2, 3);
      expect(Array.from(gx).every(Number.isFinite)).toBe(true);
      expect(gx).toBeAllClose([0, 0, 0, -1 / 3, -1 / 3, 2 / 3], {
        rtol: 1e-6,
        atol: 1e-7,
        equalNaN: false,
      });
    }
  });

  it('rows are independent and each sums to one after exp', () => {
    const x = Float64Array.from([1, 2, 3, 4, -1, 0.5, 7, 7]);
    const y = new Float64Array(8);
    logSoftmaxForward(y, x, 2, 4);
    for (let r = 0; r < 2; r++) {
      let s = 0;
      for (let j = 0; j < 4; j++) s += Math.exp(y[r * 4 + j]);
      expect(s).toBeCloseTo(1, 14);
    }
  });

  it('works in place (y aliases x, gx aliases gy)', () => {
    const x = Float64Array.from([0.3, -1.2, 2.5]);
    const ref = new Float64Array(3);
    logSoftmaxForward(ref, x, 1, 3);
    logSoftmaxForward(x, x, 1, 3);
    expect(Array.from(x)).toEqual(Array.from(ref));
    const g = Float64Array.from([1, 2, 3]);
    const gRef = new Float64Array(3);
    logSoftmaxBackward(gRef, g, x, 1, 3);
    logSoftmaxBackward(g, g, x, 1, 3);
    expect(Array.from(g)).toEqual(Array.from(gRef));
  });

  it('a NaN makes its row NaN and leaves other rows alone', () => {
    const y = new Float64Array(4);
    logSoftmaxForward(y, Float64Array.from([NaN, 1, 0, 0]), 2, 2);
    expect(y[0]).toBeNaN();
    expect(y[1]).toBeNaN();
    expect(y[2]).toBeCloseTo(-Math.LN2, 15);
  });
});

describe('nllLoss hand cases', () => {
  const logp = Float64Array.from([-0.5, -1, -2, -3, -0.25, -4]);
  const target = Int32Array.from([2, 1]);

  it("reduction 'none', 'sum', 'mean'", () => {
    const none = new Float64Array(2);
    expect(nllLossForward(none, logp, target, 2, 3, 'none')).toBe(2);
    expect(Array.from(none)).toEqual([2, 0.25]);
    expect(nllLossForward(new Float64Array(1), logp, target, 2, 3, 'sum')).toBe(2.25);
    expect(nllLossForward(new Float64Array(1), logp, target, 2, 3, 'mean')).toBe(1.125);
    expect(nllLossForward(new Float64Array(1), logp, new Int32Array(0), 0, 3, 'mean')).toBeNaN();
  });

  it('backward for each reduction zeroes the rest of gx', () => {
    const gx = new Float64Array(6).fill(9);
    nllLossBackward(gx, Float64Array.from([3, 5]), target, 2, 3, 'none');
    expect(Array.from(gx)).toEqual([0, 0, -3, 0, -5, 0]);
    nllLossBackward(gx, Float64Array.from([2]), target, 2, 3, 'sum');
    expect(Array.from(gx)).toEqual([0, 0, -2, 0, -2, 0]);
    nllLossBackward(gx, Float64Array.from([2]), target, 2, 3, 'mean');
    expect(Array.from(gx)).toEqual([0, 0, -1, 0, -1, 0]);
  });

  it('out-of-range targets throw naming nllLoss, the value, its index and the class count', () => {
    const out = new Float64Array(2);
    const gx = new Float64Array(6);
    expect(() => nllLossForward(out, logp, Int32Array.from([0, 3]), 2, 3, 'mean')).toThrow(
      'nllLoss: target 3 at index 1 is out of bounds for 3 classes (expected 0 <= target < 3)',
    );
    expect(() => nllLossForward(out, logp, Int32Array.from([-1, 0]), 2, 3, 'none')).toThrow(
      /nllLoss: target -1 at index 0 is out of bounds for 3 classes/,
    );
    expect(() =>
      nllLossBackward(gx, Float64Array.from([1]), Int32Array.from([0, 7]), 2, 3, 'sum'),
    ).toThrow(/nllLoss: target 7 at index 1 .* 3 classes/);
    expect(() => nllLossForward(out, logp, Int32Array.from([0]), 2, 3, 'sum')).toThrow(
      'nllLoss: expected 2 targets, got 1',
    );
  });
});
