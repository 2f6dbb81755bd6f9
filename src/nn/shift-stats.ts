/**
 * What a DeepShift model learned, per layer: how many weights use each shift value (the exponent k
 * of ±2^k) and what fraction of the weights have sign 0 (pruned: a PS `sign` parameter that rounds
 * to 0, or a weight that is exactly 0).
 *
 * Layers counted: `LinearShift` / `Conv2dShift` (effective weight sign(round(sign))·2^round(shift)),
 * `LinearShiftQ` / `Conv2dShiftQ` (the quantised weight of their forward pass), and plain `Linear` /
 * `Conv2d` (their weight snapped with the crude sign(w)·2^round(log2|w|), as the notebook's
 * `CrudeNet` does before each forward). Biases are not counted: they stay float in PS and Q.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import type { Module } from './module.ts';
import { Conv2d, Linear } from './layers.ts';
import { Conv2dShift, LinearShift } from './shift.ts';
import { Conv2dShiftQ, LinearShiftQ } from './shift-q.ts';
import { roundPowerOf2_ } from './ste.ts';

export interface ShiftLayerStats {
  /** Dotted module name, e.g. `conv1`. */
  name: string;
  kind: 'PS' | 'Q' | 'crude';
  /** Number of weights (biases excluded). */
  count: number;
  /** Weights whose sign is 0. */
  zeros: number;
  zeroFraction: number;
  /** Smallest and largest shift in the histogram: the layer's shift range, widened to the data. */
  shiftMin: number;
  shiftMax: number;
  /** `histogram[i]` = number of non-zero weights equal to ±2^(shiftMin + i). */
  histogram: number[];
}

/** The effective weight of a layer this module counts, or null for any other module. */
function effectiveWeight(
  m: Module,
): { kind: ShiftLayerStats['kind']; w: Tensor; range: readonly [number, number] | null } | null {
  if (m instanceof LinearShift || m instanceof Conv2dShift) {
    return { kind: 'PS', w: m.weight(), range: m.shiftRange };
  }
  if (m instanceof LinearShiftQ || m instanceof Conv2dShiftQ) {
    return { kind: 'Q', w: m.quantizedWeight(), range: m.shiftRange };
  }
  if (m instanceof Linear || m instanceof Conv2d) {
    const w = m.weight.detach().clone();
    roundPowerOf2_(w);
    return { kind: 'crude', w, range: null };
  }
  return null;
}

/**
 * Per-layer shift histogram and zero-sign fraction of every shift-like layer of `model`, in
 * registration order. Computing PS / Q weights clamps their `shift` / `weight` in place into the
 * layer's range, exactly as a forward pass does; nothing else changes.
 */
export function shiftStatistics(model: Module): ShiftLayerStats[] {
  const out: ShiftLayerStats[] = [];
  noGrad(() => {
    for (const [name, m] of model.namedModules()) {
      const e = effectiveWeight(m);
      if (!e) continue;
      const data = e.w.toTypedArray();
      let lo = e.range ? e.range[0] : Infinity;
      let hi = e.range ? e.range[1] : -Infinity;
      const shifts = new Int32Array(data.length);
      let zeros = 0;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v === 0) {
          zeros++;
          continue;
        }
        const k = Math.log2(Math.abs(v));
        if (!Number.isInteger(k)) {
          throw new Error(
            `shiftStatistics: ${name}: weight ${i} = ${v} is not ±2^k (is the layer a shift layer?)`,
          );
        }
        shifts[i] = k;
        lo = Math.min(lo, k);
        hi = Math.max(hi, k);
      }
      if (lo > hi) lo = hi = 0; // every weight is zero
      const histogram = new Array<number>(hi - lo + 1).fill(0);
      for (let i = 0; i < data.length; i++) if (data[i] !== 0) histogram[shifts[i]! - lo]!++;
      out.push({
        name,
        kind: e.kind,
        count: data.length,
        zeros,
        zeroFraction: data.length ? zeros / data.length : 0,
        shiftMin: lo,
        shiftMax: hi,
        histogram,
      });
    }
  });
  return out;
}
