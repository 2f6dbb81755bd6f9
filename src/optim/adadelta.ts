/**
 * `torch.optim.Adadelta` (PyTorch 1.13 `_single_tensor_adadelta`), per element, in this order:
 *
 *     g = maximize ? −grad : grad
 *     g = g + weightDecay·p                                  (if weightDecay ≠ 0)
 *     squareAvg = rho·squareAvg + (1 − rho)·g²               (first: the current gradient is in std)
 *     std = sqrt(squareAvg + eps)
 *     delta = sqrt(accDelta + eps) / std · g
 *     accDelta = rho·accDelta + (1 − rho)·delta²
 *     p = p − lr·delta
 *
 * (TensorFlow.js updates the accumulators in a different order and makes much smaller first steps.)
 */
import type { Tensor } from '../tensor/tensor.ts';
import { Optimizer, checkHyperparam, type ParamsInput, type StateBuffer } from './optimizer.ts';
import { adadeltaUpdate } from '../tensor/kernels/optim.ts';

export interface AdadeltaOptions {
  /** Scale applied to delta (default 1.0). */
  lr?: number;
  /** Decay of the running averages (default 0.9). */
  rho?: number;
  /** Added inside both square roots (default 1e-6). */
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}

export type AdadeltaHyperparams = Required<AdadeltaOptions>;

export class Adadelta extends Optimizer<AdadeltaHyperparams> {
  constructor(params: ParamsInput<AdadeltaHyperparams>, options: AdadeltaOptions = {}) {
    const { lr = 1.0, rho = 0.9, eps = 1e-6, weightDecay = 0, maximize = false } = options;
    super(params, { lr, rho, eps, weightDecay, maximize });
  }

  protected override validate(h: AdadeltaHyperparams): void {
    checkHyperparam('learning rate', h.lr, (v) => v >= 0);
    checkHyperparam('rho value', h.rho, (v) => v >= 0 && v <= 1);
    checkHyperparam('epsilon value', h.eps, (v) => v >= 0);
    checkHyperparam('weight_decay value', h.weightDecay, (v) => v >= 0);
  }

  override step(closure?: () => number | Tensor): number | Tensor | undefined {
    const loss = this.evalClosure(closure);
    for (const group of this.paramGroups) {
      const { lr, rho, eps, weightDecay, maximize } = group;
      const sgn = maximize ? -1 : 1;
      for (const p of group.params) {
        if (p.grad === null) continue;
        const st = this.stateOf(p);
        if (st.step === undefined) {
          st.step = 0;
          st.squareAvg = this.zerosLike(p);
          st.accDelta = this.zerosLike(p);
        }
        st.step = (st.step as number) + 1;
        const sq = st.squareAvg as StateBuffer;
        const acc = st.accDelta as StateBuffer;
        this.updateParam(p, (x, g) =>
          adadeltaUpdate(x, g, sq, acc, x.length, { lr, rho, eps, weightDecay, sgn }),
        );
      }
    }
    return loss;
  }
}
