/**
 * PyTorch 1.13 golden vectors reproduced through nn.functional and backward: forward values and
 * the gradient wrt every input, with the fixture's upstream gradient (`out.backward(gradOutput)`).
 */
import { describe, expect, it } from 'vitest';
import { nn, type Tensor } from '../../src/index.ts';
import { fromJson, goldenCases, type Json } from '../helpers/fixtures.ts';

const F = nn.functional;
const tol = { atol: 1e-12, rtol: 1e-9 };

/**
 * `f` on leaves made from `inputs` (absent ones are passed as null), then backward with
 * `gradOutput`: the output and the gradient of each leaf against the fixture.
 */
function expectGolden(
  f: (...xs: (Tensor | null)[]) => Tensor,
  inputs: (Json | undefined)[],
  output: Json,
  gradOutput: Json,
  grads: (Json | undefined)[],
): void {
  const leaves = inputs.map((t) => (t ? fromJson(t, true) : null));
  const y = f(...leaves);
  expect(y).toBeAllClose(fromJson(output), tol);
  y.backward(fromJson(gradOutput));
  leaves.forEach((leaf, i) => {
    if (leaf) expect(leaf.grad!).toBeAllClose(fromJson(grads[i]!), tol);
  });
}

describe('golden: conv2d', () => {
  const cases = goldenCases('conv2d');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));
  for (const c of cases) {
    it(c.name, () => {
      const { inputs: i, expected: e } = c;
      expect(Boolean(i.bias)).toBe(c.params.bias);
      const { stride, padding, dilation, groups } = c.params;
      expectGolden(
        (x, w, b) => F.conv2d(x!, w!, b, { stride, padding, dilation, groups }),
        [i.input, i.weight, i.bias],
        e.output,
        i.grad_output,
        [e.grad_input, e.grad_weight, e.grad_bias],
      );
    });
  }

  it('the Conv2d layer gives the same values as F.conv2d (first case)', () => {
    const c = cases[0]!;
    const layer = new nn.Conv2d(3, 4, 3, { dtype: 'float64' });
    layer.loadStateDict({ weight: fromJson(c.inputs.weight), bias: fromJson(c.inputs.bias!) });
    expect(layer.forward(fromJson(c.inputs.input))).toBeAllClose(fromJson(c.expected.output), tol);
  });
});

describe('golden: maxPool2d', () => {
  const cases = goldenCases('max_pool2d');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(6));
  for (const c of cases) {
    it(c.name, () => {
      const { kernel_size, stride, padding, dilation, ceil_mode } = c.params;
      expectGolden(
        (x) => F.maxPool2d(x!, kernel_size, { stride, padding, dilation, ceilMode: ceil_mode }),
        [c.inputs.input],
        c.expected.output,
        c.inputs.grad_output,
        [c.expected.grad_input],
      );
    });
  }
});

describe('golden: linear', () => {
  const cases = goldenCases('linear');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const c of cases) {
    it(c.name, () => {
      const { inputs: i, expected: e } = c;
      expectGolden(
        (x, w, b) => F.linear(x!, w!, b),
        [i.input, i.weight, i.bias],
        e.output,
        i.grad_output,
        [e.grad_input, e.grad_weight, e.grad_bias],
      );
    });
  }
});

describe('golden: logSoftmax + nllLoss', () => {
  const cases = goldenCases('log_softmax_nll');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const c of cases) {
    const target = fromJson(c.inputs.target);
    const e = c.expected;
    it(`${c.name}: logSoftmax values and vector-Jacobian product`, () => {
      expectGolden(
        (x) => F.logSoftmax(x!, 1),
        [c.inputs.logits],
        e.log_softmax,
        e.log_softmax_vjp.grad_output,
        [e.log_softmax_vjp.grad_input],
      );
    });
    for (const reduction of ['mean', 'sum'] as const) {
      const losses: [string, (x: Tensor) => Tensor][] = [
        [
          `nllLoss(logSoftmax) reduction ${reduction}`,
          (x) => F.nllLoss(F.logSoftmax(x, 1), target, { reduction }),
        ],
        [
          `crossEntropy reduction ${reduction} matches`,
          (x) => F.crossEntropy(x, target, { reduction }),
        ],
      ];
      for (const [what, lossOf] of losses) {
        it(`${c.name}: ${what}`, () => {
          const x = fromJson(c.inputs.logits, true);
          const loss = lossOf(x);
          expect(loss.shape).toEqual([]);
          expect(loss).toBeAllClose(reduction === 'mean' ? e.loss_mean : e.loss_sum, tol);
          loss.backward();
          expect(x.grad!).toBeAllClose(
            fromJson(reduction === 'mean' ? e.grad_logits_mean : e.grad_logits_sum),
            tol,
          );
        });
      }
    }
    it(`${c.name}: reduction none sums to reduction sum`, () => {
      const x = fromJson(c.inputs.logits);
      const none = F.nllLoss(F.logSoftmax(x, 1), target, { reduction: 'none' });
      expect(none.shape).toEqual([x.size(0)]);
      expect(none.sum()).toBeAllClose(e.loss_sum, tol);
    });
  }
});
