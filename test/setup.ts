/**
 * A typed `toBeAllClose` matcher: |actual − expected| ≤ atol + rtol·|expected| elementwise, with
 * shapes compared when both sides are tensors. Accepts tensors, typed arrays and nested arrays.
 * Equal values (including equal infinities) always match; NaN matches NaN unless `equalNaN` is
 * false, and never matches a number.
 */
import { expect } from 'vitest';
import { Tensor } from '../src/tensor/tensor.ts';

interface CloseOptions {
  atol?: number;
  rtol?: number;
  /** NaN matches NaN at the same position (default true); false makes any NaN a mismatch. */
  equalNaN?: boolean;
}

type Numeric = Tensor | ArrayLike<number> | number | readonly unknown[];

function flatten(x: Numeric): { values: ArrayLike<number>; shape: number[] | null } {
  if (x instanceof Tensor) return { values: x.toTypedArray(), shape: x.shape };
  if (typeof x === 'number') return { values: [x], shape: null };
  if (ArrayBuffer.isView(x)) return { values: x as unknown as ArrayLike<number>, shape: null };
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (ArrayBuffer.isView(v)) {
      const a = v as unknown as ArrayLike<number>;
      for (let i = 0; i < a.length; i++) out.push(a[i]!);
    } else out.push(v as number);
  };
  walk(x);
  return { values: out, shape: null };
}

expect.extend({
  toBeAllClose(received: Numeric, expected: Numeric, opts: CloseOptions = {}) {
    const { atol = 1e-6, rtol = 1e-6, equalNaN = true } = opts;
    const a = flatten(received);
    const b = flatten(expected);
    if (a.shape && b.shape && a.shape.join() !== b.shape.join()) {
      return {
        pass: false,
        message: () => `shape [${a.shape}] differs from expected [${b.shape}]`,
      };
    }
    if (a.values.length !== b.values.length) {
      return {
        pass: false,
        message: () => `${a.values.length} values, expected ${b.values.length}`,
      };
    }
    let worst = -1;
    let worstExcess = 0;
    for (let i = 0; i < a.values.length; i++) {
      const x = a.values[i]!;
      const y = b.values[i]!;
      if (equalNaN && Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
      if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
        worst = i;
        worstExcess = excess;
      }
    }
    const pass = worst < 0;
    const tols = `atol ${atol}, rtol ${rtol}${equalNaN ? '' : ', NaN never equal'}`;
    return {
      pass,
      message: () =>
        pass
          ? `expected values not to be all close (${tols})`
          : `values differ at flat index ${worst}: got ${a.values[worst]}, expected ${b.values[worst]} (${tols})`,
    };
  },
});

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  interface Matchers<T = any> {
    toBeAllClose(expected: Numeric, opts?: CloseOptions): T;
  }
}
