import { describe, it, expect } from 'vitest';
import { Generator, tensor, zeros } from '../../src/index.ts';
import { Normalize, normalizedFill, randomTranslate } from '../../src/data/index.ts';
import { roundHalfEven } from '../../src/nn/ste.ts';

describe('randomTranslate (RandomAffine with translations only)', () => {
  it('moves each image by its own whole-pixel (dx, dy) and fills the border', () => {
    const n = 6;
    const x = zeros([n, 1, 28, 28]);
    const d = x._flat();
    for (let i = 0; i < n; i++) d[i * 784 + 14 * 28 + 14] = 1 + i; // one marked pixel per image
    const y = randomTranslate(x, [0.1, 0.2], -7, new Generator(3));
    // replay the draws: dx from U(±2.8), then dy from U(±5.6), rounded half to even
    const g = new Generator(3);
    const shifts = new Set<string>();
    for (let i = 0; i < n; i++) {
      const dx = roundHalfEven(-2.8 + 5.6 * g.uniform64());
      const dy = roundHalfEven(-5.6 + 11.2 * g.uniform64());
      expect(Math.abs(dx)).toBeLessThanOrEqual(3);
      expect(Math.abs(dy)).toBeLessThanOrEqual(6);
      shifts.add(`${dx},${dy}`);
      const img = Array.from(y._flat().subarray(i * 784, (i + 1) * 784));
      expect(img[(14 + dy) * 28 + 14 + dx]).toBe(1 + i);
      // the pixel is the only copy; the rest is the old zeros or the fill on the uncovered border
      expect(img.filter((v) => v === 1 + i)).toHaveLength(1);
      const fillCount = img.filter((v) => v === -7).length;
      expect(fillCount).toBe(784 - (28 - Math.abs(dx)) * (28 - Math.abs(dy)));
    }
    expect(shifts.size).toBeGreaterThan(1);
    expect(x._flat()[14 * 28 + 14]).toBe(1); // the input is not modified
  });

  it('is deterministic for a seed, the identity at translate 0, and checks its input', () => {
    const x = tensor(Array.from({ length: 2 * 3 * 5 * 4 }, (_, i) => i)).reshape([2, 3, 5, 4]);
    const a = randomTranslate(x, [0.3, 0.3], 0, new Generator(1));
    const b = randomTranslate(x, [0.3, 0.3], 0, new Generator(1));
    expect(a.toArray()).toEqual(b.toArray());
    expect(randomTranslate(x, [0, 0], 0, new Generator(1)).toArray()).toEqual(x.toArray());
    expect(() => randomTranslate(x.reshape([6, 5, 4]), [0.1, 0.1])).toThrow(
      /randomTranslate: expected an \[N, C, H, W\] batch, got shape \[6, 5, 4\]/,
    );
    expect(() => randomTranslate(x, [1.5, 0.1])).toThrow(/translate fractions must be in \[0, 1\]/);
  });

  it('normalizedFill is what Normalize makes of a black pixel', () => {
    const v = new Normalize(0.1307, 0.3081).apply(Float32Array.of(0))[0];
    expect(normalizedFill(0.1307, 0.3081)).toBe(v);
    expect(v).toBeCloseTo(-0.4242, 4);
  });
});
