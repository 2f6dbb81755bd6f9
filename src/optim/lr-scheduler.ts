/**
 * Learning-rate schedulers (`torch.optim.lr_scheduler`). Call `scheduler.step()` once per epoch,
 * after the epoch's `optimizer.step()` calls. The constructor performs the initial step (epoch 0).
 */
import type { Optimizer } from './optimizer.ts';
import { powInt } from './pow.ts';

/** `scheduler.stateDict()`: everything but the optimizer. */
export interface LRSchedulerStateDict {
  baseLrs: number[];
  lastEpoch: number;
  _stepCount: number;
  _lastLr: number[];
  [key: string]: unknown;
}

/** The scheduler base (`_LRScheduler` in PyTorch 1.13, `LRScheduler` in 2.x). */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** Each group's `initialLr`. */
  baseLrs: number[];
  /** The epoch count; -1 before the constructor's initial step. */
  lastEpoch: number;
  _stepCount = 0;
  protected _lastLr: number[] = [];

  constructor(optimizer: Optimizer, lastEpoch = -1) {
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1)
      throw new Error(`Invalid lastEpoch: ${lastEpoch}`);
    this.optimizer = optimizer;
    if (lastEpoch === -1) {
      for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      for (const [i, g] of optimizer.paramGroups.entries()) {
        if (g.initialLr === undefined) {
          throw new Error(
            `param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer (lastEpoch ${lastEpoch})`,
          );
        }
      }
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** The learning rates for `this.lastEpoch`, computed from the groups' current lrs (chainable form). */
  protected abstract getLr(): number[];

  /** The learning rates for `this.lastEpoch` in closed form (used by `step(epoch)`). */
  protected getClosedFormLr(): number[] {
    return this.getLr();
  }

  /**
   * Advances one epoch and writes the new lrs into the optimizer's groups. `step(epoch)` jumps to
   * an epoch using the closed form (deprecated in PyTorch; kept for loading old loops).
   */
  step(epoch?: number): void {
    this._stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.getClosedFormLr();
    }
    for (const [i, g] of this.optimizer.paramGroups.entries()) g.lr = values[i]!;
    this._lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The lrs set by the last `step()` (one per group). */
  getLastLr(): number[] {
    return [...this._lastLr];
  }

  /** The scheduler's own state (JSON-serialisable as is). */
  stateDict(): LRSchedulerStateDict {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === 'optimizer') continue;
      out[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
    }
    return out as LRSchedulerStateDict;
  }

  /** Restores `stateDict()`; the optimizer's lrs come from the optimizer's own state dict. */
  loadStateDict(sd: LRSchedulerStateDict): void {
    const own = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(sd)) {
      if (k === 'optimizer') continue;
      if (!(k in this))
        throw new Error(`loadStateDict: unexpected key ${k} in the scheduler state dict`);
      if (typeof own[k] !== typeof v) {
        throw new Error(`loadStateDict: ${k} should be a ${typeof own[k]}, got ${typeof v}`);
      }
      own[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
    }
  }
}

export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Multiplicative decay (default 0.1). */
  gamma?: number;
  /** The index of the last epoch when resuming (default -1: start). */
  lastEpoch?: number;
}

/**
 * Multiplies each group's lr by gamma every `stepSize` epochs. The multiplication is done in place
 * on the current lr (as PyTorch's chainable form does), so after k decays the lr is
 * ((lr·gamma)·gamma)…, which can differ in the last bit from lr·gamma^k.
 */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    const { stepSize, gamma = 0.1, lastEpoch = -1 } = options ?? ({} as StepLROptions);
    if (!Number.isInteger(stepSize) || stepSize < 1)
      throw new Error(`Invalid stepSize: ${String(stepSize)} (a positive integer)`);
    if (typeof gamma !== 'number' || Number.isNaN(gamma))
      throw new Error(`Invalid gamma: ${String(gamma)}`);
    super(optimizer, lastEpoch);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.step();
  }

  protected override getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0)
      return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected override getClosedFormLr(): number[] {
    return this.baseLrs.map(
      (lr) => lr * powInt(this.gamma, Math.floor(this.lastEpoch / this.stepSize)),
    );
  }
}
