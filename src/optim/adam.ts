/**
 * `torch.optim.Adam` and `torch.optim.AdamW` (PyTorch 1.13 `_single_tensor_adam(w)`), per element,
 * with t the step count after incrementing:
 *
 *     g = maximize ? −grad : grad
 *     Adam:  g = g + weightDecay·p            AdamW: p = p·(1 − lr·weightDecay)
 *     expAvg   = beta1·expAvg + (1 − beta1)·g
 *     expAvgSq = beta2·expAvgSq + (1 − beta2)·g²
 *     v = amsgrad ? (maxExpAvgSq = max(maxExpAvgSq, expAvgSq)) : expAvgSq
 *     denom = sqrt(v) / sqrt(1 − beta2^t) + eps
 *     p = p − lr / (1 − beta1^t) · expAvg / denom
 */
import type { Tensor } from '../tensor/tensor.ts';
import { powInt } from './pow.ts';
import { Optimizer, checkHyperparam, type ParamsInput, type StateBuffer } from './optimizer.ts';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient for Adam (default 0); decoupled decay for AdamW (default 1e-2). */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad). */
  amsgrad?: boolean;
  maximize?: boolean;
}

export interface AdamHyperparams {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

function validateAdam(h: AdamHyperparams): void {
  checkHyperparam('learning rate', h.lr, (v) => v >= 0);
  checkHyperparam('epsilon value', h.eps, (v) => v >= 0);
  if (!Array.isArray(h.betas) || h.betas.length !== 2)
    throw new Error(`Invalid betas: ${String(h.betas)} (expected [beta1, beta2])`);
  checkHyperparam('beta parameter at index 0', h.betas[0], (v) => v >= 0 && v < 1);
  checkHyperparam('beta parameter at index 1', h.betas[1], (v) => v >= 0 && v < 1);
  checkHyperparam('weight_decay value', h.weightDecay, (v) => v >= 0);
}

/** The shared Adam/AdamW update; subclasses choose the kind of weight decay. */
export abstract class AdamBase extends Optimizer<AdamHyperparams> {
  /** AdamW's decoupled weight decay (true) or Adam's L2 term in the gradient (false). */
  protected abstract readonly decoupled: boolean;

  protected override validate(h: AdamHyperparams): void {
    validateAdam(h);
  }

  override step(closure?: () => number | Tensor): number | Tensor | undefined {
    const loss = this.evalClosure(closure);
    const decoupled = this.decoupled;
    for (const group of this.paramGroups) {
      const { lr, betas, eps, weightDecay, amsgrad, maximize } = group;
      const [beta1, beta2] = betas;
      const sgn = maximize ? -1 : 1;
      const decay = 1 - lr * weightDecay;
      for (const p of group.params) {
        if (p.grad === null) continue;
        const st = this.stateOf(p);
        if (st.step === undefined) {
          st.step = 0;
          st.expAvg = this.zerosLike(p);
          st.expAvgSq = this.zerosLike(p);
        }
        if (amsgrad && st.maxExpAvgSq === undefined) st.maxExpAvgSq = this.zerosLike(p);
        const step = (st.step as number) + 1;
        st.step = step;
        const m = st.expAvg as StateBuffer;
        const v = st.expAvgSq as StateBuffer;
        const vmax = st.maxExpAvgSq as StateBuffer;
        const biasCorrection1 = 1 - powInt(beta1, step);
        const biasCorrection2Sqrt = Math.sqrt(1 - powInt(beta2, step));
        const stepSize = lr / biasCorrection1;
        this.updateParam(p, (x, g) =>
          adamKernel(
            x,
            g,
            m,
            v,
            amsgrad ? vmax : null,
            stepSize,
            biasCorrection2Sqrt,
            beta1,
            beta2,
            eps,
            decoupled ? 0 : weightDecay,
            decoupled ? decay : 1,
            sgn,
          ),
        );
      }
    }
    return loss;
  }
}

/** Adam with L2 weight decay added to the gradient (`torch.optim.Adam`). */
export class Adam extends AdamBase {
  protected override readonly decoupled = false;
  constructor(params: ParamsInput<AdamHyperparams>, options: AdamOptions = {}) {
    const {
      lr = 1e-3,
      betas = [0.9, 0.999],
      eps = 1e-8,
      weightDecay = 0,
      amsgrad = false,
      maximize = false,
    } = options;
    super(params, { lr, betas: [betas[0], betas[1]], eps, weightDecay, amsgrad, maximize });
  }
}

/** Adam with decoupled weight decay, p ← p·(1 − lr·weightDecay) before the update (`torch.optim.AdamW`). */
export class AdamW extends AdamBase {
  protected override readonly decoupled = true;
  constructor(params: ParamsInput<AdamHyperparams>, options: AdamOptions = {}) {
    const {
      lr = 1e-3,
      betas = [0.9, 0.999],
      eps = 1e-8,
      weightDecay = 1e-2,
      amsgrad = false,
      maximize = false,
    } = options;
    super(params, { lr, betas: [betas[0], betas[1]], eps, weightDecay, amsgrad, maximize });
  }
}

/**
 * One Adam/AdamW update of x (n) in place, reading g (n), updating expAvg, expAvgSq and (amsgrad)
 * maxExpAvgSq (n). `l2` is Adam's weight decay, `decay` AdamW's factor 1 − lr·weightDecay.
 */
function adamKernel(
  x: StateBuffer,
  grad: StateBuffer,
  m: StateBuffer,
  v: StateBuffer,
  vmax: StateBuffer | null,
  stepSize: number,
  biasCorrection2Sqrt: number,
  beta1: number,
  beta2: number,
  eps: number,
  l2: number,
  decay: number,
  sgn: number,
): void {
  const n = x.length;
  for (let i = 0; i < n; i++) {
    let g = sgn * grad[i]!;
    if (decay !== 1) x[i] = x[i]! * decay;
    if (l2 !== 0) g = g + l2 * x[i]!;
    m[i] = m[i]! * beta1 + (1 - beta1) * g;
    v[i] = v[i]! * beta2 + (1 - beta2) * g * g;
    let vi = v[i]!;
    if (vmax !== null) {
      if (vi > vmax[i]!) vmax[i] = vi;
      vi = vmax[i]!;
    }
    const denom = Math.sqrt(vi) / biasCorrection2Sqrt + eps;
    x[i] = x[i]! + (-stepSize * m[i]!) / denom;
  }
}
