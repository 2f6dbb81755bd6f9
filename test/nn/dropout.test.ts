/** Dropout and Dropout2d semantics: inverted scaling, edge probabilities, eval mode, mask shapes. */
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, manualSeed, nn, ones, rand, randn } from '../../src/index.ts';

const F = nn.functional;

/** x + 1 so that no input element is exactly zero (a zero output then means "dropped"). */
const positive = (shape: number[], seed = 0) =>
  rand(shape, { dtype: 'float64', generator: new Generator(seed) }).add(1);
const values = (t: Tensor) => Array.from(t.toTypedArray());

describe('F.dropout', () => {
  it('zeroes elements and scales the kept ones by 1/(1-p)', () => {
    for (const p of [0.25, 0.5, 0.8]) {
      const x = positive([50, 40]);
      const y = F.dropout(x, p, true, new Generator(1));
      const xs = values(x);
      const ys = values(y);
      let kept = 0;
      ys.forEach((v, i) => {
        if (v === 0) return;
        kept++;
        expect(v).toBeCloseTo(xs[i]! / (1 - p), 12);
      });
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(xs.length);
    }
  });

  it('keeps a fraction ≈ 1-p of a big tensor', () => {
    for (const p of [0.1, 0.25, 0.5, 0.9]) {
      const y = F.dropout(ones([200, 500]), p, true, new Generator(11));
      const frac = values(y).filter((v) => v !== 0).length / 1e5;
      // 1e5 Bernoulli draws: the standard deviation of the fraction is at most 0.0016
      expect(Math.abs(frac - (1 - p))).toBeLessThan(0.01);
    }
  });

  it('p = 0 and eval mode are the identity; p = 1 gives all zeros', () => {
    const x = positive([4, 6]);
    expect(F.dropout(x, 0)).toBeAllClose(x, { atol: 0, rtol: 0 });
    expect(F.dropout(x, 0.5, false)).toBeAllClose(x, { atol: 0, rtol: 0 });
    const y = F.dropout(x, 1);
    expect(y.shape).toEqual([4, 6]);
    expect(values(y).every((v) => v === 0)).toBe(true);
  });

  it('p = 1 gives zero gradients, not NaN', () => {
    const x = positive([3, 3]).requiresGrad_();
    F.dropout(x, 1).sum().backward();
    expect(values(x.grad!).every((v) => v === 0)).toBe(true);
  });

  it('the gradient uses the same mask and scale', () => {
    const x = positive([10, 10]).requiresGrad_();
    const y = F.dropout(x, 0.3, true, new Generator(4));
    y.sum().backward();
    const ys = values(y);
    values(x.grad!).forEach((g, i) => expect(g).toBeCloseTo(ys[i] === 0 ? 0 : 1 / 0.7, 12));
  });

  it('the same seed gives the same mask, another seed another mask', () => {
    const x = positive([8, 8]);
    const a = F.dropout(x, 0.5, true, new Generator(42));
    const b = F.dropout(x, 0.5, true, new Generator(42));
    const c = F.dropout(x, 0.5, true, new Generator(43));
    expect(a).toBeAllClose(b, { atol: 0, rtol: 0 });
    expect(values(a).map((v) => v === 0)).not.toEqual(values(c).map((v) => v === 0));
  });

  it('uses the global generator by default (manualSeed makes it repeatable)', () => {
    const x = positive([8, 8]);
    manualSeed(5);
    const a = F.dropout(x);
    manualSeed(5);
    const b = F.dropout(x);
    expect(a).toBeAllClose(b, { atol: 0, rtol: 0 });
  });

  it('keeps dtype: float32 in, float32 out', () => {
    expect(F.dropout(randn([3, 3]), 0.5).dtype).toBe('float32');
  });

  it('rejects p outside [0, 1]', () => {
    const x = positive([2, 2]);
    for (const p of [-0.1, 1.5, NaN]) {
      expect(() => F.dropout(x, p)).toThrow(/between 0 and 1/);
      expect(() => F.dropout2d(x, p)).toThrow(/between 0 and 1/);
      expect(() => new nn.Dropout(p)).toThrow(/between 0 and 1/);
      expect(() => new nn.Dropout2d(p)).toThrow(/between 0 and 1/);
    }
  });
});

describe('F.dropout2d', () => {
  /** For each plane, whether it is all zeros, all kept (= x/(1-p)), or mixed (a failure). */
  function planeStates(
    x: Tensor,
    y: Tensor,
    planes: number,
    p: number,
  ): ('dropped' | 'kept' | 'mixed')[] {
    const xs = values(x);
    const ys = values(y);
    const size = xs.length / planes;
    return Array.from({ length: planes }, (_, k) => {
      const seg = ys.slice(k * size, (k + 1) * size);
      if (seg.every((v) => v === 0)) return 'dropped';
      if (seg.every((v, i) => Math.abs(v - xs[k * size + i]! / (1 - p)) < 1e-12)) return 'kept';
      return 'mixed';
    });
  }

  it('zeroes whole (n, c) planes of NCHW input', () => {
    const x = positive([4, 8, 3, 5]);
    const states = planeStates(x, F.dropout2d(x, 0.5, true, new Generator(2)), 32, 0.5);
    expect(states).not.toContain('mixed');
    expect(states).toContain('dropped');
    expect(states).toContain('kept');
  });

  it('zeroes whole channels of unbatched CHW input', () => {
    const x = positive([16, 3, 4]);
    const y = F.dropout2d(x, 0.4, true, new Generator(3));
    expect(y.shape).toEqual([16, 3, 4]);
    const states = planeStates(x, y, 16, 0.4);
    expect(states).not.toContain('mixed');
    expect(states).toContain('dropped');
    expect(states).toContain('kept');
  });

  it('drops single elements of 2-D [N, F] input (PyTorch 1.13 behaviour, used on fc1 output)', () => {
    const x = positive([16, 32]);
    const y = F.dropout2d(x, 0.5, true, new Generator(4));
    const rows = planeStates(x, y, 16, 0.5);
    expect(rows).toContain('mixed'); // rows are not dropped as a whole
    expect(planeStates(x, y, 16 * 32, 0.5)).not.toContain('mixed');
  });

  it('keeps a fraction ≈ 1-p of the channels', () => {
    const y = F.dropout2d(ones([100, 100, 2, 2]), 0.3, true, new Generator(9));
    const frac = values(y).filter((v) => v !== 0).length / 40000;
    expect(Math.abs(frac - 0.7)).toBeLessThan(0.015);
  });

  it('p = 0, p = 1 and eval mode', () => {
    const x = positive([2, 3, 2, 2]);
    expect(F.dropout2d(x, 0)).toBeAllClose(x, { atol: 0, rtol: 0 });
    expect(F.dropout2d(x, 0.5, false)).toBeAllClose(x, { atol: 0, rtol: 0 });
    expect(values(F.dropout2d(x, 1)).every((v) => v === 0)).toBe(true);
  });

  it('the gradient zeroes the same planes', () => {
    const x = positive([2, 4, 2, 2]).requiresGrad_();
    const y = F.dropout2d(x, 0.5, true, new Generator(6));
    y.sum().backward();
    const ys = values(y);
    values(x.grad!).forEach((g, i) => expect(g).toBeCloseTo(ys[i] === 0 ? 0 : 2, 12));
  });

  it('same seed, same mask', () => {
    const x = positive([3, 6, 2, 2]);
    expect(F.dropout2d(x, 0.5, true, new Generator(8))).toBeAllClose(
      F.dropout2d(x, 0.5, true, new Generator(8)),
      { atol: 0, rtol: 0 },
    );
  });

  it('rejects 1-D and 5-D input', () => {
    expect(() => F.dropout2d(positive([4]), 0.5)).toThrow(/dropout2d.*\[4\]/);
    expect(() => F.dropout2d(positive([1, 1, 1, 1, 2]), 0.5)).toThrow(/dropout2d/);
  });
});

describe('Dropout / Dropout2d modules', () => {
  it('are active in train mode and the identity in eval mode', () => {
    const x = positive([4, 6, 2, 2]);
    for (const m of [new nn.Dropout(0.5), new nn.Dropout2d(0.5)]) {
      expect(m.training).toBe(true);
      manualSeed(0);
      expect(values(m.forward(x)).some((v) => v === 0)).toBe(true);
      m.eval();
      expect(m.forward(x)).toBeAllClose(x, { atol: 0, rtol: 0 });
      m.train();
      expect(values(m.forward(x)).some((v) => v === 0)).toBe(true);
    }
  });

  it('default p is 0.5', () => {
    expect(new nn.Dropout().p).toBe(0.5);
    expect(new nn.Dropout2d().p).toBe(0.5);
  });
});
