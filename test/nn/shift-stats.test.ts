/** shiftStatistics: per-layer shift histograms and zero-sign fractions. */
import { describe, expect, it } from 'vitest';
import { Tensor, manualSeed, noGrad, tensor } from '../../src/index.ts';
import { Linear, Module, Sequential } from '../../src/nn/index.ts';
import { Conv2dShift, LinearShift } from '../../src/nn/shift.ts';
import { LinearShiftQ } from '../../src/nn/shift-q.ts';
import { shiftStatistics } from '../../src/nn/shift-stats.ts';

describe('shiftStatistics', () => {
  it('counts PS weights by their rounded, clamped shift and sign', () => {
    manualSeed(0);
    const fc = new LinearShift(3, 2, { weightBits: 5 }); // range [-14, 0]
    noGrad(() => {
      // shift −2.4 → −2; −20 → clamped −14; 0.7 → clamped 0; sign rounds 0.4 → 0, −0.6 → −1, 0.5 → 0 (half-even)
      fc.shift.copy_(
        tensor([
          [-2.4, -20, 0.7],
          [-2.6, -1.5, -3.5],
        ]),
      );
      fc.sign.copy_(
        tensor([
          [0.4, -0.6, 1],
          [0.5, 1, -1],
        ]),
      );
    });
    const [s] = shiftStatistics(new Sequential(fc));
    expect(s).toMatchObject({
      name: '0',
      kind: 'PS',
      count: 6,
      zeros: 2,
      shiftMin: -14,
      shiftMax: 0,
    });
    expect(s!.zeroFraction).toBeCloseTo(2 / 6, 12);
    const h = s!.histogram;
    expect(h).toHaveLength(15);
    // non-zero weights: −2^−14, +2^0, +2^−2 (−1.5 → −2 half-even), −2^−4 (−3.5 → −4)
    expect(h[-14 + 14]).toBe(1);
    expect(h[0 + 14]).toBe(1);
    expect(h[-2 + 14]).toBe(1);
    expect(h[-4 + 14]).toBe(1);
    expect(h.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('reports Q layers, crude-rounded float layers and nested names in registration order', () => {
    manualSeed(1);
    class Net extends Module {
      conv = new Conv2dShift(1, 2, 3);
      head = new Sequential(new LinearShiftQ(4, 3));
      fc = new Linear(3, 2);
      forward(x: Tensor): Tensor {
        return this.fc.forward(this.head.forward(x));
      }
    }
    const net = new Net();
    noGrad(() =>
      net.fc.weight.copy_(
        tensor([
          [0.3, -0.7, 0],
          [1.5, 0.2, -0.05],
        ]),
      ),
    );
    const stats = shiftStatistics(net);
    expect(stats.map((s) => [s.name, s.kind, s.count])).toEqual([
      ['conv', 'PS', 18],
      ['head.0', 'Q', 12],
      ['fc', 'crude', 6],
    ]);
    const crude = stats[2]!;
    // 0.3 → 2^−2, −0.7 → −2^−1, 0 → zero, 1.5 → 2^1, 0.2 → 2^−2, −0.05 → −2^−4
    expect(crude).toMatchObject({
      zeros: 1,
      shiftMin: -4,
      shiftMax: 1,
      histogram: [1, 0, 2, 1, 0, 1],
    });
    for (const s of stats) {
      expect(s.histogram.reduce((a, b) => a + b, 0) + s.zeros).toBe(s.count);
    }
  });
});
