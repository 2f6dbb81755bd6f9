/**
 * `gradcheck`, like `torch.autograd.gradcheck`: compares the analytic Jacobian from backward with
 * float64 central differences, element by element, and throws a report on the first mismatch.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { noGrad } from './grad-mode.ts';
import { elementOffsets } from '../tensor/strided.ts';
import { shapeStr } from '../tensor/shape.ts';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): true {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3 } = options;
  const checked = inputs.map((t, i) => {
    if (!t.requiresGrad) return false;
    if (t.dtype !== 'float64') {
      throw new Error(
        `gradcheck: input ${i} is ${t.dtype}; finite differences need float64 inputs`,
      );
    }
    return true;
  });
  if (!checked.some(Boolean)) throw new Error('gradcheck: no input requires grad');

  // Analytic Jacobian: one backward per output element (rows), read off each input's grad.
  const out = fn(...inputs);
  if (out.dtype !== 'float64')
    throw new Error(`gradcheck: the function returned ${out.dtype}; expected float64`);
  const nOut = out.numel();
  const saved = inputs.map((t) => t.grad);
  const analytic = inputs.map((t, i) => (checked[i] ? new Float64Array(nOut * t.numel()) : null));
  if (out.requiresGrad) {
    for (let j = 0; j < nOut; j++) {
      inputs.forEach((t) => (t.grad = null));
      const seed = out.detach().clone().fill_(0);
      seed._flat()[j] = 1;
      out.backward(seed, { retainGraph: true });
      inputs.forEach((t, i) => {
        const a = analytic[i];
        if (a && t.grad) a.set(t.grad.toTypedArray(), j * t.numel());
      });
    }
  }
  inputs.forEach((t, i) => (t.grad = saved[i] ?? null));

  // Numeric Jacobian by central differences, perturbing each input element in place.
  noGrad(() => {
    inputs.forEach((t, i) => {
      const a = analytic[i];
      if (!a) return;
      const offsets = elementOffsets(t._v);
      const data = t._v.data;
      const n = t.numel();
      for (let e = 0; e < n; e++) {
        const o = offsets[e]!;
        const orig = data[o]!;
        data[o] = orig + eps;
        const plus = fn(...inputs).toTypedArray();
        data[o] = orig - eps;
        const minus = fn(...inputs).toTypedArray();
        data[o] = orig;
        for (let j = 0; j < nOut; j++) {
          const num = (plus[j]! - minus[j]!) / (2 * eps);
          const ana = a[j * n + e]!;
          if (!(Math.abs(num - ana) <= atol + rtol * Math.abs(num))) {
            throw new Error(
              `gradcheck: Jacobian mismatch for input ${i} (shape ${shapeStr(t.shape)}) at element [${unravel(e, t.shape).join(', ')}], ` +
                `output element ${j} of ${shapeStr(out.shape)}: numerical ${num}, analytical ${ana} (atol ${atol}, rtol ${rtol})`,
            );
          }
        }
      }
    });
  });
  return true;
}
