/**
 * `torch.optim.SGD` (PyTorch 1.13 `_single_tensor_sgd`), per element:
 *
 *     g = maximize ? −grad : grad
 *     g = g + weightDecay·p                                   (if weightDecay ≠ 0)
 *     buf = g (first step) | momentum·buf + (1 − dampening)·g  (if momentum ≠ 0)
 *     g = nesterov ? g + momentum·buf : buf                   (if momentum ≠ 0)
 *     p = p − lr·g
 */
import type { Tensor } from '../tensor/tensor.ts';
import { Optimizer, checkHyperparam, type ParamsInput, type StateBuffer } from './optimizer.ts';

export interface SGDOptions {
  /** Learning rate (required, as in PyTorch). */
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize?: boolean;
}

export type SGDHyperparams = Required<SGDOptions>;

export class SGD extends Optimizer<SGDHyperparams> {
  constructor(params: ParamsInput<SGDHyperparams>, options: SGDOptions) {
    const {
      lr,
      momentum = 0,
      dampening = 0,
      weightDecay = 0,
      nesterov = false,
      maximize = false,
    } = options ?? ({} as SGDOptions);
    super(params, { lr, momentum, dampening, weightDecay, nesterov, maximize });
  }

  protected override validate(h: SGDHyperparams): void {
    // lr may be left out of the defaults when every group sets its own (addParamGroup checks that)
    if (h.lr !== undefined) checkHyperparam('learning rate', h.lr, (v) => v >= 0);
    checkHyperparam('momentum value', h.momentum, (v) => v >= 0);
    checkHyperparam('dampening value', h.dampening, () => true);
    checkHyperparam('weight_decay value', h.weightDecay, (v) => v >= 0);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new Error(
        `Nesterov momentum requires a momentum and zero dampening (got momentum ${h.momentum}, dampening ${h.dampening})`,
      );
    }
  }

  override step(closure?: () => number | Tensor): number | Tensor | undefined {
    const loss = this.evalClosure(closure);
    for (const group of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
      const sgn = maximize ? -1 : 1;
      for (const p of group.params) {
        if (p.grad === null) continue;
        const st = this.stateOf(p);
        let buf = st.momentumBuffer as StateBuffer | undefined;
        const first = buf === undefined;
        if (momentum !== 0 && first) {
          buf = this.zerosLike(p);
          st.momentumBuffer = buf;
        }
        this.updateParam(p, (x, g) =>
          sgdKernel(
            x,
            g,
            momentum !== 0 ? buf! : null,
            first,
            lr,
            momentum,
            dampening,
            weightDecay,
            nesterov,
            sgn,
          ),
        );
      }
    }
    return loss;
  }
}

/** One SGD update of x (n) in place, reading g (n) and updating buf (n, null without momentum). */
function sgdKernel(
  x: StateBuffer,
  grad: StateBuffer,
  buf: StateBuffer | null,
  first: boolean,
  lr: number,
  momentum: number,
  dampening: number,
  weightDecay: number,
  nesterov: boolean,
  sgn: number,
): void {
  const n = x.length;
  for (let i = 0; i < n; i++) {
    let g = sgn * grad[i]!;
    if (weightDecay !== 0) g = g + weightDecay * x[i]!;
    if (buf !== null) {
      buf[i] = first ? g : buf[i]! * momentum + (1 - dampening) * g;
      const b = buf[i]!; // the stored (float32-rounded for float32 params) value, as PyTorch uses it
      g = nesterov ? g + momentum * b : b;
    }
    x[i] = x[i]! + -lr * g;
  }
}
