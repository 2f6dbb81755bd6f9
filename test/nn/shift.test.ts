/** DeepShift-PS and -Q layers: PyTorch golden vectors, shift ranges, in-place clamp, init, nets. */
import { describe, expect, it } from 'vitest';
import {
  Generator,
  Tensor,
  autograd,
  manualSeed,
  nn,
  noGrad,
  randn,
  tensor,
} from '../../src/index.ts';
import * as ste from '../../src/nn/ste.ts';
import { Conv2dShift, LinearShift, psShiftRange } from '../../src/nn/shift.ts';
import { Conv2dShiftQ, LinearShiftQ, qShiftRange } from '../../src/nn/shift-q.ts';
import { CrudeNet, PSNet, QNet } from '../../src/models/deepshift.ts';
import { empty } from '../../src/nn/empty.ts';
import { f64, fromJson, readFixture, type Json } from '../helpers/fixtures.ts';

const F = nn.functional;
const tol = { atol: 1e-12, rtol: 1e-9 };

interface PSCase {
  name: string;
  inputs: Record<'shift' | 'sign' | 'bias' | 'input', Json> & { grad_output?: Json; target?: Json };
  expected: Record<string, Json> & { loss?: number };
}

function load(layer: LinearShift | Conv2dShift, c: PSCase): void {
  noGrad(() => {
    layer.shift.copy_(fromJson(c.inputs.shift));
    layer.sign.copy_(fromJson(c.inputs.sign));
    layer.bias!.copy_(fromJson(c.inputs.bias));
  });
}

describe('DeepShift-PS vs PyTorch (deepshift_ps.json)', () => {
  const cases = readFixture<{ cases: PSCase[] }>('deepshift_ps').cases;
  /** The named case loaded into `layer`, and its forward on the fixture input (a leaf). */
  function forward(layer: LinearShift | Conv2dShift, name: string) {
    const c = cases.find((k) => k.name === name)!;
    load(layer, c);
    const x = fromJson(c.inputs.input, true);
    return { c, x, y: layer.forward(x) };
  }

  function check(layer: LinearShift | Conv2dShift, c: PSCase, x: Tensor, y: Tensor): void {
    const e = c.expected;
    if (e.shift_after_clamp) expect(layer.shift).toBeAllClose(fromJson(e.shift_after_clamp), tol);
    expect(ste.round(layer.shift)).toBeAllClose(fromJson(e.shift_rounded!), tol);
    expect(ste.sign(ste.round(layer.sign))).toBeAllClose(fromJson(e.sign_rounded!), tol);
    if (e.pow2_shift)
      expect(Array.from(layer.shift.toTypedArray(), (s) => 2 ** ste.roundHalfEven(s))).toBeAllClose(
        fromJson(e.pow2_shift),
        tol,
      );
    expect(layer.weight()).toBeAllClose(fromJson(e.weight!), tol);
    expect(y).toBeAllClose(fromJson(e.output!), tol);
    expect(layer.shift.grad!).toBeAllClose(fromJson(e.grad_shift!), tol);
    expect(layer.sign.grad!).toBeAllClose(fromJson(e.grad_sign!), tol);
    expect(layer.bias!.grad!).toBeAllClose(fromJson(e.grad_bias!), tol);
    expect(x.grad!).toBeAllClose(fromJson(e.grad_input!), tol);
  }

  it('LinearShift: forward, clamp, and grads wrt shift, sign, bias, input (edge cases: ties, -0.5, out of range)', () => {
    const layer = new LinearShift(6, 4, { dtype: 'float64' });
    const { c, x, y } = forward(layer, 'LinearShift_in6_out4');
    y.backward(fromJson(c.inputs.grad_output!));
    check(layer, c, x, y);
  });

  it('LinearShift with log_softmax + nll loss', () => {
    const layer = new LinearShift(6, 4, { dtype: 'float64' });
    const { c, x, y } = forward(layer, 'LinearShift_in6_out4_nll');
    const loss = F.nllLoss(F.logSoftmax(y, 1), fromJson(c.inputs.target!));
    expect(loss.item()).toBeCloseTo(c.expected.loss!, 12);
    loss.backward();
    check(layer, c, x, y);
  });

  it('Conv2dShift', () => {
    const layer = new Conv2dShift(2, 3, 3, { dtype: 'float64' });
    const { c, x, y } = forward(layer, 'Conv2dShift_c2_o3_k3');
    y.backward(fromJson(c.inputs.grad_output!));
    check(layer, c, x, y);
  });
});

describe('PS layers', () => {
  it('shift range is [-(2^(b-1) - 2), 0]', () => {
    expect(psShiftRange(5)).toEqual([-14, 0]);
    expect(psShiftRange(3)).toEqual([-2, 0]);
    expect(psShiftRange(8)).toEqual([-126, 0]);
    expect(new LinearShift(2, 2, { weightBits: 4 }).shiftRange).toEqual([-6, 0]);
    expect(() => psShiftRange(1)).toThrow(/weightBits/);
  });

  it('forward clamps shift in place (same tensor, outside autograd) and weights stay in {0, ±2^k}, k in range', () => {
    const layer = new LinearShift(5, 3, { dtype: 'float64', weightBits: 3 });
    const shift = layer.shift;
    noGrad(() =>
      shift.copy_(
        tensor(
          Array.from({ length: 15 }, (_, i) => i - 9.3),
          { dtype: 'float64', shape: [3, 5] },
        ),
      ),
    );
    layer
      .forward(randn([2, 5], { dtype: 'float64' }))
      .sum()
      .backward();
    expect(layer.shift).toBe(shift);
    expect(shift.isLeaf).toBe(true);
    const s = Array.from(shift.toTypedArray());
    expect(Math.min(...s)).toBe(-2);
    expect(Math.max(...s)).toBe(0);
    expect(s.filter((v) => v > -2 && v < 0)).toBeAllClose([-1.3, -0.3], tol);
    for (const w of layer.weight().toTypedArray())
      expect([0, 1, -1, 0.5, -0.5, 0.25, -0.25]).toContain(w);
    expect(shift.grad!.shape).toEqual([3, 5]);
  });

  it('freezeSign: sign does not require grad and gets no gradient', () => {
    const layer = new LinearShift(4, 2, { freezeSign: true, dtype: 'float64' });
    expect(layer.sign.requiresGrad).toBe(false);
    layer
      .forward(randn([3, 4], { dtype: 'float64' }))
      .sum()
      .backward();
    expect(layer.sign.grad).toBeNull();
    expect(layer.shift.grad).not.toBeNull();
    expect(layer.parameters()).toHaveLength(3);
  });

  it('initialises like the notebook: shift, sign, bias drawn in that order from the global generator', () => {
    manualSeed(42);
    const l = new LinearShift(3, 2);
    const c = new Conv2dShift(2, 4, 3);
    manualSeed(42);
    const draw = (shape: number[], lo: number, hi: number) => empty(shape).uniform_(lo, hi);
    expect(l.shift).toBeAllClose(draw([2, 3], -14, 0), { atol: 0, rtol: 0 });
    expect(l.sign).toBeAllClose(draw([2, 3], -1, 1), { atol: 0, rtol: 0 });
    expect(l.bias!).toBeAllClose(draw([2], -1 / Math.sqrt(3), 1 / Math.sqrt(3)), {
      atol: 0,
      rtol: 0,
    });
    expect(c.shift).toBeAllClose(draw([4, 2, 3, 3], -10, -1), { atol: 0, rtol: 0 });
    expect(c.sign).toBeAllClose(draw([4, 2, 3, 3], -1, 1), { atol: 0, rtol: 0 });
    expect(c.bias!).toBeAllClose(draw([4], -1 / Math.sqrt(18), 1 / Math.sqrt(18)), {
      atol: 0,
      rtol: 0,
    });
    expect([...l.namedParameters()].map(([n]) => n)).toEqual(['shift', 'sign', 'bias']);
    expect(new LinearShift(3, 2, { bias: false }).bias).toBeNull();
  });

  it('gradients wrt input and bias are true gradients (float64 gradcheck)', () => {
    const lin = new LinearShift(4, 3, { dtype: 'float64' });
    const x = randn([2, 4], { dtype: 'float64', requiresGrad: true, generator: new Generator(1) });
    expect(autograd.gradcheck((xx, b) => F.linear(xx, lin.weight(), b), [x, lin.bias!])).toBe(true);
    const conv = new Conv2dShift(2, 2, 3, {
      dtype: 'float64',
      padding: 1,
      stride: 2,
      paddingMode: 'circular',
    });
    const xc = randn([1, 2, 5, 5], {
      dtype: 'float64',
      requiresGrad: true,
      generator: new Generator(2),
    });
    expect(autograd.gradcheck((xx) => conv.forward(xx), [xc])).toBe(true);
  });

  it('Conv2dShift passes its options to conv2d', () => {
    const conv = new Conv2dShift(4, 6, [3, 2], {
      dtype: 'float64',
      stride: [2, 1],
      padding: [1, 0],
      dilation: 1,
      groups: 2,
      bias: false,
    });
    const x = randn([2, 4, 7, 6], { dtype: 'float64' });
    const want = F.conv2d(x, conv.weight(), null, { stride: [2, 1], padding: [1, 0], groups: 2 });
    expect(conv.forward(x)).toBeAllClose(want, { atol: 0, rtol: 0 });
    expect(conv.shift.shape).toEqual([6, 2, 3, 2]);
  });

  it('stochastic rounding uses the layer generator', () => {
    const mk = () => {
      manualSeed(1);
      return new LinearShift(8, 8, {
        dtype: 'float64',
        rounding: 'stochastic',
        generator: new Generator(9),
      });
    };
    const [a, b] = [mk(), mk()];
    expect(a.weight()).toBeAllClose(b.weight(), { atol: 0, rtol: 0 });
    for (const w of a.weight().toTypedArray())
      expect(w === 0 || Number.isInteger(Math.log2(Math.abs(w)))).toBe(true);
  });

  it('optional fixed-point activations round the input and the bias', () => {
    const layer = new LinearShift(3, 2, {
      dtype: 'float64',
      activationIntegerBits: 4,
      activationFractionBits: 2,
    });
    const x = f64([0.3, -1.1, 2.9]).reshape([1, 3]);
    const xq = f64([0.25, -1.25, 2.75]).reshape([1, 3]);
    const want = F.linear(xq, layer.weight(), ste.roundFixedPoint(layer.bias!, 4, 2));
    expect(layer.forward(x)).toBeAllClose(want, { atol: 0, rtol: 0 });
  });
});

describe('DeepShift-Q layers', () => {
  it('Q shift range is [-(2^(b-1) - 1), 0]', () => {
    expect(qShiftRange(5)).toEqual([-15, 0]);
    expect(qShiftRange(3)).toEqual([-3, 0]);
  });

  it('LinearShiftQ: weight clamped in place to |w| in [2^-15, 1], then rounded to ±2^k; STE gradient', () => {
    const layer = new LinearShiftQ(3, 2, { dtype: 'float64' });
    noGrad(() => layer.weight.copy_(f64([3, -1e-7, 0, 0.3, -0.7, 1.5]).reshape([2, 3])));
    const x = f64([1, 2, -1, 0.5, 0.25, 4], true).reshape([2, 3]);
    const y = layer.forward(x);
    expect(layer.weight.toArray()).toEqual([
      [1, -(2 ** -15), 0],
      [0.3, -0.7, 1],
    ]);
    const wq = f64([1, -(2 ** -15), 0, 0.25, -0.5, 1]).reshape([2, 3]);
    expect(y).toBeAllClose(F.linear(x.detach(), wq, layer.bias!.detach()), { atol: 0, rtol: 0 });
    const g = f64([1, -2, 0.5, 3]).reshape([2, 2]);
    y.backward(g);
    // d/dW of x Wqᵀ passes straight through the quantiser: gᵀ x
    expect(layer.weight.grad!).toBeAllClose(g.t().matmul(x.detach()), tol);
    expect(layer.bias!.grad!).toBeAllClose(g.sum(0), tol);
  });

  it('Conv2dShiftQ equals conv2d with the power-of-two weight', () => {
    manualSeed(3);
    const layer = new Conv2dShiftQ(2, 3, 3, { dtype: 'float64', padding: 1 });
    const x = randn([2, 2, 5, 5], { dtype: 'float64' });
    const want = F.conv2d(x, ste.roundPowerOf2(layer.weight.detach()), layer.bias!.detach(), {
      padding: 1,
    });
    expect(layer.forward(x)).toBeAllClose(want, { atol: 0, rtol: 0 });
    expect(layer.quantizedWeight().shape).toEqual([3, 2, 3, 3]);
  });

  it('initialises like nn.Linear (PyTorch default init)', () => {
    manualSeed(7);
    const q = new LinearShiftQ(5, 4);
    manualSeed(7);
    const l = new nn.Linear(5, 4);
    expect(q.weight).toBeAllClose(l.weight, { atol: 0, rtol: 0 });
    expect(q.bias!).toBeAllClose(l.bias!, { atol: 0, rtol: 0 });
  });
});

describe('MNIST nets', () => {
  const isPow2OrZero = (v: number) => v === 0 || Number.isInteger(Math.log2(Math.abs(v)));

  it('CrudeNet.roundWeights makes every weight and bias ±2^k or 0', () => {
    manualSeed(0);
    const net = new CrudeNet();
    net.roundWeights();
    const names = [...net.namedParameters()].map(([n]) => n);
    expect(names).toEqual([
      'conv1.weight',
      'conv1.bias',
      'conv2.weight',
      'conv2.bias',
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
    ]);
    for (const p of net.parameters()) {
      expect(p.dtype).toBe('float32');
      expect(Array.from(p.toTypedArray()).every(isPow2OrZero)).toBe(true);
    }
  });

  it('PSNet and QNet: BaselineNet names, [N, 10] log-probabilities, grads on every parameter', () => {
    manualSeed(0);
    const x = randn([2, 1, 28, 28], { generator: new Generator(1) });
    const target = tensor([3, 7], { dtype: 'int32' });
    const ps = new PSNet();
    const q = new QNet();
    for (const net of [ps, q]) {
      const out = net.forward(x);
      expect(out.shape).toEqual([2, 10]);
      F.nllLoss(out, target).backward();
      for (const [n, p] of net.namedParameters()) expect(p.grad, n).not.toBeNull();
      expect([...net.namedChildren()].map(([n]) => n)).toEqual([
        'conv1',
        'conv2',
        'dropout1',
        'dropout2',
        'fc1',
        'fc2',
      ]);
    }
    expect([...ps.namedParameters()].map(([n]) => n).slice(0, 3)).toEqual([
      'conv1.shift',
      'conv1.sign',
      'conv1.bias',
    ]);
    expect(ps.fc1.shiftRange).toEqual([-14, 0]);
    expect(q.conv1.shiftRange).toEqual([-15, 0]);
  });
});

describe('fused PS weight', () => {
  it('matches the composite STE chain in values and gradients (float32 and float64)', async () => {
    const { psWeight, psWeightComposite } = await import('../../src/nn/shift.ts');
    const { tensor: mk, Generator: Gen } = await import('../../src/index.ts');
    // the 5-bit range, and a wide one whose shifts leave float32's normal exponents (−126 …)
    for (const [dtype, lo] of [
      ['float32', -14],
      ['float64', -14],
      ['float32', -200],
    ] as const) {
      const gen = new Gen(7);
      const n = 257;
      const special = 12;
      const wide = [-126, -126.5, -127, -149, -150, -160, -199.5, -125.5, -130, -1, -0.4, -2.5];
      const shiftVals = Array.from({ length: n }, (_, i) =>
        i < special
          ? (lo === -14 ? [-2.5, -3.5, -0.5, 0, -14, -13.5, -1, -2, -3, -4, -5, -6] : wide)[i]!
          : lo * gen.uniform64(),
      );
      // ties, ±0, NaN, the neighbours of ±0.5 in float32, the smallest subnormal, ±∞
      const signVals = Array.from({ length: n }, (_, i) =>
        i < special
          ? [0.5, -0.5, 0, 1.5, -0.2, 0.7, -0, NaN, 0.50000006, -0.49999997, 1e-45, -Infinity][i]!
          : 2 * gen.uniform64() - 1,
      );
      const upstream = mk(
        Array.from({ length: n }, () => gen.uniform64() - 0.5),
        { dtype },
      );
      const run = (fused: boolean) => {
        const shift = mk(shiftVals, { dtype, requiresGrad: true });
        const sign = mk(signVals, { dtype, requiresGrad: true });
        const w = fused
          ? psWeight(shift, sign, [lo, 0], 'deterministic', gen)
          : psWeightComposite(shift, sign, 'deterministic');
        w.mul(upstream).sum().backward();
        return { w: w.toArray(), gShift: shift.grad!.toArray(), gSign: sign.grad!.toArray() };
      };
      const a = run(true);
      const b = run(false);
      expect(a.w).toEqual(b.w);
      expect(a.gSign).toEqual(b.gSign);
      expect(a.gShift).toBeAllClose(b.gShift, {
        rtol: dtype === 'float32' ? 1e-6 : 1e-15,
        atol: 0,
      });
    }
  });
});
