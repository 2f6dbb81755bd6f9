/** nn.init and PyTorch's default Conv2d / Linear initialisation, down to the seeded values. */
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, manualSeed, nn, zeros } from '../../src/index.ts';

const { init } = nn;
const values = (t: Tensor) => Array.from(t.toTypedArray());

/** All values within ±bound, reaching close to both ends, and roughly uniform over 10 bins. */
function expectUniformIn(t: Tensor, bound: number): void {
  const v = values(t);
  const eps = bound * 1e-6; // float32 rounding of the bound
  expect(Math.max(...v)).toBeLessThanOrEqual(bound + eps);
  expect(Math.min(...v)).toBeGreaterThanOrEqual(-bound - eps);
  const n = v.length;
  // the expected gap between the extreme of n uniforms and the bound is 2·bound/(n+1)
  expect(Math.max(...v)).toBeGreaterThan(bound * (1 - 20 / (n + 1)));
  expect(Math.min(...v)).toBeLessThan(-bound * (1 - 20 / (n + 1)));
  const bins = new Array<number>(10).fill(0);
  for (const x of v) bins[Math.min(9, Math.floor(((x + bound) / (2 * bound)) * 10))]!++;
  // a bin's fraction has standard deviation √(0.09/n); allow 5 of them
  for (const b of bins) expect(Math.abs(b / n - 0.1)).toBeLessThan(5 * Math.sqrt(0.09 / n));
}

describe('calculateFanInAndFanOut and calculateGain', () => {
  it('fans of linear and conv weights', () => {
    expect(init.calculateFanInAndFanOut(zeros([5, 3]))).toEqual([3, 5]);
    expect(init.calculateFanInAndFanOut(zeros([64, 32, 3, 3]))).toEqual([288, 576]);
    expect(init.calculateFanInAndFanOut(zeros([4, 2, 3, 1]))).toEqual([6, 12]);
    expect(init.calculateFanInAndFanOut(zeros([128, 9216]))).toEqual([9216, 128]);
  });

  it('rejects tensors with fewer than 2 dims', () => {
    expect(() => init.calculateFanInAndFanOut(zeros([5]))).toThrow(/fewer than 2 dims.*\[5\]/);
  });

  it('unsupported nonlinearity and fan mode are errors (not a NaN bound)', () => {
    expect(() => init.calculateGain('selu2' as 'relu')).toThrow(/unsupported nonlinearity 'selu2'/);
    expect(() => init.kaimingUniform_(zeros([2, 2]), { mode: 'fan_avg' as 'fan_in' })).toThrow(
      /mode 'fan_avg' not supported/,
    );
  });

  it("PyTorch's gains", () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(init.calculateGain('leaky_relu', 0)).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
  });
});

describe('initialisers', () => {
  it('kaimingUniform_ with a = √5 has bound 1/√fan_in', () => {
    const w = zeros([64, 32, 3, 3]);
    init.kaimingUniform_(w, { a: Math.sqrt(5), generator: new Generator(0) });
    // gain = √(2/(1+5)) = √(1/3), std = gain/√fan_in, bound = √3·std = 1/√fan_in
    expectUniformIn(w, 1 / Math.sqrt(288));
  });

  it('kaimingUniform_ defaults (a = 0, leaky_relu, fan_in): bound √(6/fan_in); fan_out mode', () => {
    const w = zeros([200, 100]);
    init.kaimingUniform_(w, { generator: new Generator(1) });
    expectUniformIn(w, Math.sqrt(6 / 100));
    init.kaimingUniform_(w, { mode: 'fan_out', nonlinearity: 'relu', generator: new Generator(1) });
    expectUniformIn(w, Math.sqrt(6 / 200));
  });

  it('kaimingNormal_ has std gain/√fan', () => {
    const w = zeros([300, 100], { dtype: 'float64' });
    init.kaimingNormal_(w, { nonlinearity: 'relu', generator: new Generator(2) });
    const v = values(w);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(std / Math.sqrt(2 / 100)).toBeCloseTo(1, 1);
  });

  it('xavierUniform_, uniform_, normal_, constant_, zeros_, ones_', () => {
    const w = zeros([100, 300]);
    init.xavierUniform_(w, 2, new Generator(3));
    expectUniformIn(w, 2 * Math.sqrt(6 / 400));
    init.uniform_(w, -3, -1, new Generator(4));
    expect(Math.min(...values(w))).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...values(w))).toBeLessThan(-1);
    init.normal_(w, 5, 0.1, new Generator(5));
    expect(values(w).reduce((s, x) => s + x, 0) / w.numel()).toBeCloseTo(5, 2);
    init.constant_(w, 0.25);
    expect(values(w).every((x) => x === 0.25)).toBe(true);
    init.zeros_(w);
    expect(values(w).every((x) => x === 0)).toBe(true);
    init.ones_(w);
    expect(values(w).every((x) => x === 1)).toBe(true);
  });

  it('initialising a parameter needs no noGrad and leaves it a leaf that requires grad', () => {
    const l = new nn.Linear(3, 2);
    init.zeros_(l.weight);
    expect(l.weight.requiresGrad).toBe(true);
    expect(l.weight.isLeaf).toBe(true);
  });
});

describe("PyTorch's default Conv2d / Linear init", () => {
  it('Linear: weight and bias uniform in ±1/√fan_in', () => {
    manualSeed(10);
    const l = new nn.Linear(400, 300);
    expectUniformIn(l.weight, 1 / 20);
    expectUniformIn(l.bias!, 1 / 20);
  });

  it('Conv2d: weight and bias uniform in ±1/√(cIn/groups·kH·kW)', () => {
    manualSeed(11);
    const c = new nn.Conv2d(32, 64, 3);
    expectUniformIn(c.weight, 1 / Math.sqrt(288));
    const v = values(c.bias!);
    expect(v.every((x) => Math.abs(x) <= 1 / Math.sqrt(288))).toBe(true);
    const g = new nn.Conv2d(4, 400, [3, 2], { groups: 2 });
    expect(g.weight.shape).toEqual([400, 2, 3, 2]);
    expectUniformIn(g.weight, 1 / Math.sqrt(12));
    expectUniformIn(g.bias!, 1 / Math.sqrt(12));
  });

  it('bias: false gives a null bias; dtype float64 gives float64 parameters', () => {
    expect(new nn.Linear(3, 2, { bias: false }).bias).toBeNull();
    expect(new nn.Conv2d(1, 2, 3, { bias: false }).bias).toBeNull();
    const l = new nn.Linear(3, 2, { dtype: 'float64' });
    expect(l.weight.dtype).toBe('float64');
    expect(l.bias!.dtype).toBe('float64');
  });

  it('the same seed gives identical weights; another seed different ones', () => {
    manualSeed(7);
    const a = new nn.Conv2d(3, 8, 3);
    manualSeed(7);
    const b = new nn.Conv2d(3, 8, 3);
    manualSeed(8);
    const c = new nn.Conv2d(3, 8, 3);
    expect(b.weight).toBeAllClose(a.weight, { atol: 0, rtol: 0 });
    expect(b.bias!).toBeAllClose(a.bias!, { atol: 0, rtol: 0 });
    expect(c.weight).not.toBeAllClose(a.weight);
  });

  it("manualSeed(0); new Linear(3, 2) gives PyTorch's well-known weights", () => {
    // torch.manual_seed(0); nn.Linear(3, 2): weight then bias, drawn from the same generator
    manualSeed(0);
    const l = new nn.Linear(3, 2);
    expect(l.weight).toBeAllClose(
      [
        [-0.0043, 0.3097, -0.4752],
        [-0.4249, -0.2224, 0.1548],
      ],
      { atol: 1e-4, rtol: 0 },
    );
    expect(l.bias!).toBeAllClose([-0.0114, 0.4578], { atol: 1e-4, rtol: 0 });
  });

  it('layers built one after another continue the same random stream', () => {
    manualSeed(0);
    const first = new nn.Linear(3, 2);
    const second = new nn.Linear(3, 2);
    manualSeed(0);
    init.kaimingUniform_(zeros([2, 3]), { a: Math.sqrt(5) });
    init.uniform_(zeros([2]), -1, 1);
    const w = zeros([2, 3]);
    init.kaimingUniform_(w, { a: Math.sqrt(5) });
    expect(second.weight).toBeAllClose(w, { atol: 0, rtol: 0 });
    expect(second.weight).not.toBeAllClose(first.weight);
  });
});
