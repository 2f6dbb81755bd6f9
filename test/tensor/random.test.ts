/** The seeded generator reproduces torch's CPU generator (mt19937) draws. */
import { describe, expect, it } from 'vitest';
import {
  Generator,
  defaultGenerator,
  manualSeed,
  rand,
  randint,
  randn,
  randperm,
  tensor,
  zeros,
} from '../../src/index.ts';

describe('mt19937', () => {
  it('reference output: seed 5489, first draw 3499211612', () => {
    const g = new Generator(5489);
    expect(g.nextUint32()).toBe(3499211612);
    // The 10000th output of the default-seeded mt19937 (the C++ standard's check value).
    for (let i = 1; i < 9999; i++) g.nextUint32();
    expect(g.nextUint32()).toBe(4123659995);
  });

  it('a seed above 2^32 uses its low 32 bits, like torch', () => {
    expect(new Generator(2 ** 32 + 5489).nextUint32()).toBe(3499211612);
    expect(new Generator(7).initialSeed()).toBe(7);
    expect(() => new Generator(-1)).toThrow(/manualSeed: seed must be a non-negative safe integer/);
  });
});

describe('matches torch.manual_seed(0)', () => {
  it('rand([3]) gives the exact float32 values', () => {
    manualSeed(0);
    const r = rand([3]);
    expect(r.dtype).toBe('float32');
    expect(Array.from(r.toTypedArray())).toEqual([
      0.49625658988952637, 0.7682217955589294, 0.08847743272781372,
    ]);
  });

  it('randn([3]) (scalar Box-Muller path)', () => {
    manualSeed(0);
    expect(randn([3])).toBeAllClose([1.541, -0.2934, -2.1788], { atol: 1e-4 });
  });

  it('randn([16]) (vectorised 16-wide path)', () => {
    manualSeed(0);
    expect(randn([16])).toBeAllClose(
      [
        -1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.692, -0.316, -2.1152, 0.3223, -1.2633, 0.35,
        0.3081, 0.1198, 1.2377, 1.1168, -0.2473,
      ],
      { atol: 1e-4 },
    );
  });

  it('randn([4, 4]) is the same stream as randn([16])', () => {
    manualSeed(0);
    const a = randn([16]);
    manualSeed(0);
    expect(randn([4, 4]).reshape(16)).toBeAllClose(a);
  });

  it('randperm(10)', () => {
    manualSeed(0);
    const p = randperm(10);
    expect(p.dtype).toBe('int32');
    expect(p.toArray()).toEqual([4, 1, 7, 5, 3, 9, 0, 8, 6, 2]);
  });

  it('randint(0, 10, [5])', () => {
    manualSeed(0);
    expect(randint(0, 10, [5]).toArray()).toEqual([4, 9, 3, 0, 3]);
  });

  it('manualSeed resets the stream (including a cached normal)', () => {
    manualSeed(0);
    const a = randn([1]).item();
    manualSeed(0);
    expect(randn([1]).item()).toBe(a);
    expect(manualSeed(3)).toBe(defaultGenerator);
  });
});

describe('generators', () => {
  it('explicit Generator objects are independent of the global one', () => {
    manualSeed(0);
    const g = new Generator(0);
    const fromG = rand([3], { generator: g });
    const fromGlobal = rand([3]);
    expect(fromG).toBeAllClose(fromGlobal);
    // Drawing from g did not advance the global generator, and vice versa.
    manualSeed(0);
    rand([3]);
    const next = rand([2]);
    expect(rand([2], { generator: g })).toBeAllClose(next);
  });

  it('getState/setState round trip continues the same sequence', () => {
    const g = new Generator(123);
    rand([5], { generator: g });
    randn([1], { generator: g }); // leaves a cached normal behind
    const state = g.getState();
    const a = [
      randn([3], { generator: g }),
      rand([700], { generator: g }),
      randint(0, 100, [4], { generator: g }),
    ];
    g.setState(state);
    const b = [
      randn([3], { generator: g }),
      rand([700], { generator: g }),
      randint(0, 100, [4], { generator: g }),
    ];
    a.forEach((t, i) => expect(b[i]).toBeAllClose(t));
    // The saved state is a copy, usable by another generator.
    const h = new Generator(0).setState(state);
    expect(randn([3], { generator: h })).toBeAllClose(a[0]!);
    expect(() => g.setState({ ...state, mt: [1, 2] })).toThrow(
      /setState: expected 624 state words/,
    );
  });

  it('float64 draws use 53 bits and differ from float32 draws', () => {
    const g = new Generator(0);
    const r = rand([4], { dtype: 'float64', generator: g });
    expect(r.dtype).toBe('float64');
    for (const v of r.toTypedArray()) expect(v >= 0 && v < 1).toBe(true);
    // torch draws a float64 from random64() = (first << 32) | second, keeping the low 53 bits.
    const raw = new Generator(0);
    const expected = [0, 1].map(() => {
      const bits =
        ((BigInt(raw.nextUint32()) << 32n) | BigInt(raw.nextUint32())) & ((1n << 53n) - 1n);
      return Number(bits) / 2 ** 53;
    });
    expect(
      Array.from(rand([2], { dtype: 'float64', generator: new Generator(0) }).toTypedArray()),
    ).toEqual(expected);
  });

  it('uniform_ and normal_ respect ranges and moments', () => {
    const g = new Generator(1);
    const u = zeros([4000]).uniform_(-2, 3, g);
    const uv = Array.from(u.toTypedArray());
    expect(Math.min(...uv)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...uv)).toBeLessThan(3);
    expect(u.mean().item()).toBeCloseTo(0.5, 1);
    const n = zeros([4001], { dtype: 'float64' }).normal_(1, 2, g);
    expect(n.mean().item()).toBeCloseTo(1, 0);
    expect(n.sub(n.mean()).square().mean().sqrt().item()).toBeCloseTo(2, 0);
  });

  it('randint and randperm validate their arguments', () => {
    expect(() => randint(5, 5, [2])).toThrow(
      'randint: need integers low < high, got low 5, high 5',
    );
    expect(() => randperm(-1)).toThrow(/randperm: n must be a non-negative integer/);
    expect(randperm(0).shape).toEqual([0]);
    expect(
      randint(-3, -1, [100], { generator: new Generator(2) })
        .max()
        .item(),
    ).toBeLessThanOrEqual(-2);
    const p = randperm(50, { generator: new Generator(4) });
    expect([...p.toTypedArray()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(tensor([1]).shape).toEqual([1]);
  });

  it('rand/randn refuse integer dtypes', () => {
    expect(() => rand([2], { dtype: 'int32' })).toThrow(
      'rand: dtype must be float32 or float64, got int32',
    );
    expect(() => randn([2], { dtype: 'bool' })).toThrow(
      'randn: dtype must be float32 or float64, got bool',
    );
  });
});
