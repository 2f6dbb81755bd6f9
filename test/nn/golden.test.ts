/**
 * PyTorch 1.13 golden vectors reproduced through nn.functional and backward: forward values and
 * the gradient wrt every input, with the fixture's upstream gradient (`out.backward(gradOutput)`).
 */
import { describe, expect, it } from 'vitest';
import { nn } from '../../src/index.ts';
import { fromJson, readFixture, type Json } from './helpers.ts';

const F = nn.functional;
const tol = { atol: 1e-12, rtol: 1e-9 };

type Pair = number | [number, number];

interface ConvCase {
  name: string;
  params: { stride: Pair; padding: Pair; dilation: Pair; groups: number; bias: boolean };
  inputs: { input: Json; weight: Json; bias?: Json; grad_output: Json };
  expected: { output: Json; grad_input: Json; grad_weight: Json; grad_bias?: Json };
}

interface PoolCase {
  name: string;
  params: { kernel_size: Pair; stride: Pair; padding: Pair; dilation: Pair; ceil_mode: boolean };
  inputs: { input: Json; grad_output: Json };
  expected: { output: Json; grad_input: Json };
}

interface LinearCase {
  name: string;
  inputs: { input: Json; weight: Json; bias?: Json; grad_output: Json };
  expected: { output: Json; grad_input: Json; grad_weight: Json; grad_bias?: Json };
}

interface NllCase {
  name: string;
  inputs: { logits: Json; target: Json };
  expected: {
    loss_mean: number;
    grad_logits_mean: Json;
    log_softmax: Json;
    loss_sum: number;
    grad_logits_sum: Json;
    log_softmax_vjp: { grad_output: Json; grad_input: Json };
  };
}

describe('golden: conv2d', () => {
  const { cases } = readFixture<{ cases: ConvCase[] }>('conv2d.json');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));
  for (const c of cases) {
    it(c.name, () => {
      const x = fromJson(c.inputs.input, true);
      const w = fromJson(c.inputs.weight, true);
      const b = c.inputs.bias ? fromJson(c.inputs.bias, true) : null;
      expect(b !== null).toBe(c.params.bias);
      const { stride, padding, dilation, groups } = c.params;
      const y = F.conv2d(x, w, b, { stride, padding, dilation, groups });
      expect(y).toBeAllClose(fromJson(c.expected.output), tol);
      y.backward(fromJson(c.inputs.grad_output));
      expect(x.grad!).toBeAllClose(fromJson(c.expected.grad_input), tol);
      expect(w.grad!).toBeAllClose(fromJson(c.expected.grad_weight), tol);
      if (b) expect(b.grad!).toBeAllClose(fromJson(c.expected.grad_bias!), tol);
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
  const { cases } = readFixture<{ cases: PoolCase[] }>('max_pool2d.json');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(6));
  for (const c of cases) {
    it(c.name, () => {
      const x = fromJson(c.inputs.input, true);
      const { kernel_size, stride, padding, dilation, ceil_mode } = c.params;
      const y = F.maxPool2d(x, kernel_size, { stride, padding, dilation, ceilMode: ceil_mode });
      expect(y).toBeAllClose(fromJson(c.expected.output), tol);
      y.backward(fromJson(c.inputs.grad_output));
      expect(x.grad!).toBeAllClose(fromJson(c.expected.grad_input), tol);
    });
  }
});

describe('golden: linear', () => {
  const { cases } = readFixture<{ cases: LinearCase[] }>('linear.json');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const c of cases) {
    it(c.name, () => {
      const x = fromJson(c.inputs.input, true);
      const w = fromJson(c.inputs.weight, true);
      const b = c.inputs.bias ? fromJson(c.inputs.bias, true) : null;
      const y = F.linear(x, w, b);
      expect(y).toBeAllClose(fromJson(c.expected.output), tol);
      y.backward(fromJson(c.inputs.grad_output));
      expect(x.grad!).toBeAllClose(fromJson(c.expected.grad_input), tol);
      expect(w.grad!).toBeAllClose(fromJson(c.expected.grad_weight), tol);
      if (b) expect(b.grad!).toBeAllClose(fromJson(c.expected.grad_bias!), tol);
    });
  }
});

describe('golden: logSoftmax + nllLoss', () => {
  const { cases } = readFixture<{ cases: NllCase[] }>('log_softmax_nll.json');
  it('has the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const c of cases) {
    const target = fromJson(c.inputs.target);
    it(`${c.name}: logSoftmax values and vector-Jacobian product`, () => {
      const x = fromJson(c.inputs.logits, true);
      const y = F.logSoftmax(x, 1);
      expect(y).toBeAllClose(fromJson(c.expected.log_softmax), tol);
      y.backward(fromJson(c.expected.log_softmax_vjp.grad_output));
      expect(x.grad!).toBeAllClose(fromJson(c.expected.log_softmax_vjp.grad_input), tol);
    });
    for (const reduction of ['mean', 'sum'] as const) {
      it(`${c.name}: nllLoss(logSoftmax) reduction ${reduction}`, () => {
        const x = fromJson(c.inputs.logits, true);
        const loss = F.nllLoss(F.logSoftmax(x, 1), target, { reduction });
        expect(loss.shape).toEqual([]);
        expect(loss).toBeAllClose(
          reduction === 'mean' ? c.expected.loss_mean : c.expected.loss_sum,
          tol,
        );
        loss.backward();
        expect(x.grad!).toBeAllClose(
          fromJson(reduction === 'mean' ? c.expected.grad_logits_mean : c.expected.grad_logits_sum),
          tol,
        );
      });
      it(`${c.name}: crossEntropy reduction ${reduction} matches`, () => {
        const x = fromJson(c.inputs.logits, true);
        const loss = F.crossEntropy(x, target, { reduction });
        expect(loss).toBeAllClose(
          reduction === 'mean' ? c.expected.loss_mean : c.expected.loss_sum,
          tol,
        );
        loss.backward();
        expect(x.grad!).toBeAllClose(
          fromJson(reduction === 'mean' ? c.expected.grad_logits_mean : c.expected.grad_logits_sum),
          tol,
        );
      });
    }
    it(`${c.name}: reduction none sums to reduction sum`, () => {
      const x = fromJson(c.inputs.logits);
      const none = F.nllLoss(F.logSoftmax(x, 1), target, { reduction: 'none' });
      expect(none.shape).toEqual([x.size(0)]);
      expect(none.sum()).toBeAllClose(c.expected.loss_sum, tol);
    });
  }
});
