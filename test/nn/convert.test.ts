/** convertToShift / roundShiftWeights: what gets converted, and what the converted layers compute. */
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, manualSeed, nn, noGrad, randn } from '../../src/index.ts';
import { Conv2d, Linear, Module, ReLU, Sequential, Flatten } from '../../src/nn/index.ts';
import { convertToShift, roundShiftWeights } from '../../src/nn/convert.ts';
import { Conv2dShift, LinearShift } from '../../src/nn/shift.ts';
import { Conv2dShiftQ, LinearShiftQ } from '../../src/nn/shift-q.ts';

const F = nn.functional;
const exact = { atol: 0, rtol: 0 };

/** sign(w)·2^clamp(round(log2|w|), lo, 0): the float weight rounded to a power of two in range. */
function pow2(w: Tensor, lo: number): Tensor {
  return w
    .detach()
    .clone()
    ._mapInPlace('pow2', (v) => {
      if (v === 0) return 0;
      const k = Math.min(0, Math.max(lo, Math.round(Math.log2(Math.abs(v)))));
      return Math.sign(v) * 2 ** k;
    });
}

class Small extends Module {
  conv1 = new Conv2d(2, 3, 3, { dtype: 'float64', padding: 1 });
  features = new Sequential(new Conv2d(3, 4, 3, { dtype: 'float64', stride: 2 }), new ReLU());
  flat = new Flatten();
  fc1 = new Linear(16, 5, { dtype: 'float64' });
  fc2 = new Linear(5, 2, { dtype: 'float64', bias: false });
  forward(x: Tensor): Tensor {
    x = this.features.forward(F.relu(this.conv1.forward(x)));
    return this.fc2.forward(F.relu(this.fc1.forward(this.flat.forward(x))));
  }
}

describe('convertToShift: converted layers compute the float layer with power-of-two weights', () => {
  for (const shiftType of ['PS', 'Q'] as const) {
    const lo = shiftType === 'PS' ? -14 : -15;
    it(`${shiftType} Linear and Conv2d`, () => {
      manualSeed(1);
      const lin = new Linear(7, 3, { dtype: 'float64' });
      const conv = new Conv2d(2, 3, 3, {
        dtype: 'float64',
        stride: 2,
        padding: 1,
        paddingMode: 'circular',
      });
      noGrad(() => lin.weight.narrow(1, 0, 2).copy_(0)); // zeros stay zero
      const x = randn([4, 7], { dtype: 'float64', generator: new Generator(2) });
      const xc = randn([2, 2, 6, 6], { dtype: 'float64', generator: new Generator(3) });
      const want = F.linear(x, pow2(lin.weight, lo), lin.bias!.detach());
      const wantC = F.conv2d(xc, pow2(conv.weight, lo), conv.bias!.detach(), {
        stride: 2,
        padding: 1,
        paddingMode: 'circular',
      });
      const w0 = lin.weight.toTypedArray();
      const model = new Sequential(lin, conv);
      const { converted } = convertToShift(model, { shiftType });
      expect(converted).toEqual(['0', '1']);
      const [l2, c2] = model.children() as [Module, Module];
      expect(l2).toBeInstanceOf(shiftType === 'PS' ? LinearShift : LinearShiftQ);
      expect(c2).toBeInstanceOf(shiftType === 'PS' ? Conv2dShift : Conv2dShiftQ);
      expect(l2.forward(x)).toBeAllClose(want, exact);
      expect(c2.forward(xc)).toBeAllClose(wantC, exact);
      expect(lin.weight.toTypedArray()).toEqual(w0); // the old layer is untouched
      expect(l2.parameters()[0]!.dtype).toBe('float64');
    });
  }

  it('PS: shift = round(log2|W|) clamped, sign = sign(W), bias copied; freezeSign and weightBits pass through', () => {
    const lin = new Linear(4, 1, { dtype: 'float64' });
    noGrad(() => lin.weight.copy_(Tensor.fromData(new Float64Array([0.3, -3, 0, 1e-9]), [1, 4])));
    const m = new Sequential(lin);
    convertToShift(m, { shiftType: 'PS', freezeSign: true, weightBits: 4 });
    const ps = m.children()[0] as LinearShift;
    expect(ps.shift.toArray()).toEqual([[-2, 0, -6, -6]]);
    expect(ps.sign.toArray()).toEqual([[1, -1, 0, 1]]);
    expect(ps.sign.requiresGrad).toBe(false);
    expect(ps.bias!.toArray()).toEqual(lin.bias!.toArray());
    expect(ps.bias).not.toBe(lin.bias);
  });
});

describe('convertToShift: which layers (shiftDepth)', () => {
  const names = (opts: Parameters<typeof convertToShift>[1]) => {
    manualSeed(0);
    const m = new Small();
    const { converted } = convertToShift(m, opts);
    const kinds = [...m.namedModules()]
      .filter(([, l]) => l instanceof LinearShift || l instanceof Conv2dShift)
      .map(([n]) => n);
    expect(kinds).toEqual(converted);
    return converted;
  };

  it('all by default, recursively, with dotted names', () => {
    expect(names({ shiftType: 'PS' })).toEqual(['conv1', 'features.0', 'fc1', 'fc2']);
  });

  it("DeepShift's counting: from the end, every Linear converted and not counted", () => {
    expect(names({ shiftType: 'PS', shiftDepth: 0 })).toEqual(['fc1', 'fc2']);
    expect(names({ shiftType: 'PS', shiftDepth: 1 })).toEqual(['features.0', 'fc1', 'fc2']);
    expect(names({ shiftType: 'PS', shiftDepth: 1, convertAllLinear: false })).toEqual(['fc2']);
    expect(names({ shiftType: 'PS', shiftDepth: 3, convertAllLinear: false })).toEqual([
      'features.0',
      'fc1',
      'fc2',
    ]);
  });

  it("countFrom 'start' counts from the first layer", () => {
    expect(
      names({ shiftType: 'PS', shiftDepth: 1, countFrom: 'start', convertAllLinear: false }),
    ).toEqual(['conv1']);
    expect(
      names({ shiftType: 'PS', shiftDepth: 3, countFrom: 'start', convertAllLinear: false }),
    ).toEqual(['conv1', 'features.0', 'fc1']);
    expect(names({ shiftType: 'PS', shiftDepth: 1, countFrom: 'start' })).toEqual([
      'conv1',
      'fc1',
      'fc2',
    ]);
  });

  it('the converted model still runs and trains', () => {
    manualSeed(0);
    const m = new Small();
    const x = randn([2, 2, 5, 5], { dtype: 'float64' });
    const before = m.forward(x);
    convertToShift(m, {
      shiftType: 'Q',
      shiftDepth: 1,
      convertAllLinear: false,
      countFrom: 'start',
    });
    const after = m.forward(x);
    expect(after.shape).toEqual(before.shape);
    after.sum().backward();
    for (const [n, p] of m.namedParameters()) expect(p.grad, n).not.toBeNull();
    expect(() => convertToShift(m, { shiftType: 'X' as 'Q' })).toThrow(/shiftType/);
  });
});

describe('roundShiftWeights', () => {
  for (const shiftType of ['PS', 'Q'] as const) {
    it(`${shiftType}: snaps the stored values, leaves the output unchanged`, () => {
      manualSeed(5);
      const m = new Small();
      convertToShift(m, { shiftType });
      // move the PS parameters off the integers (as training does)
      noGrad(() => {
        for (const l of m.modules()) {
          if (l instanceof LinearShift || l instanceof Conv2dShift) {
            l.shift.add_(randn(l.shift.shape, { dtype: 'float64' }).mul(0.3));
            l.sign.add_(randn(l.sign.shape, { dtype: 'float64' }).mul(0.5));
          }
        }
      });
      const x = randn([3, 2, 5, 5], { dtype: 'float64' });
      const before = m.forward(x);
      expect(roundShiftWeights(m)).toBe(m);
      expect(m.forward(x)).toBeAllClose(before, exact);
      for (const l of m.modules()) {
        if (l instanceof LinearShift || l instanceof Conv2dShift) {
          expect(
            Array.from(l.shift.toTypedArray()).every(
              (v) => Number.isInteger(v) && v >= -14 && v <= 0,
            ),
          ).toBe(true);
          expect(
            Array.from(l.sign.toTypedArray()).every((v) => v === -1 || v === 0 || v === 1),
          ).toBe(true);
        } else if (l instanceof LinearShiftQ || l instanceof Conv2dShiftQ) {
          expect(
            Array.from(l.weight.toTypedArray()).every(
              (v) => v === 0 || Number.isInteger(Math.log2(Math.abs(v))),
            ),
          ).toBe(true);
        }
      }
    });
  }
});
