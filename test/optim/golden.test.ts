/**
 * PyTorch 1.13 golden vectors: 5 optimizer steps on loss(x) = ½·xᵀAx − bᵀx (float64), and the
 * StepLR learning rate per epoch.
 */
import { describe, it, expect } from 'vitest';
import { tensor, type Tensor } from '../../src/index.ts';
import { Parameter } from '../../src/nn/module.ts';
import { Optimizer, SGD, Adadelta, Adam, AdamW, lrScheduler } from '../../src/optim/index.ts';
import { powInt } from '../../src/optim/pow.ts';
import { readFixture } from '../helpers/fixtures.ts';

interface Step {
  step: number;
  params_before: number[];
  loss: number;
  grad: number[];
  params_after: number[];
  state_after: Record<string, number[] | number | null>;
}
interface Case {
  name: string;
  optimizer: 'SGD' | 'Adadelta' | 'Adam' | 'AdamW';
  hyperparams: Record<string, number | boolean | number[]>;
  steps: Step[];
}
const fixture = readFixture<{
  problem: { A: number[][]; b: number[]; x0: number[] };
  cases: Case[];
}>('optimizers');
const steplr = readFixture<{
  cases: {
    description: string;
    initial_lr: number;
    step_size: number;
    gamma: number;
    lr_per_epoch: number[];
    closed_form_lr0_times_gamma_pow_floor_e_div_step: number[];
  }[];
}>('steplr');

const { A, b, x0 } = fixture.problem;
const RTOL = 1e-12;

/** The PyTorch state keys in camelCase. */
const camel = (k: string): string => k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

function makeOptimizer(c: Case, params: Parameter[]): Optimizer {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the fixture's hyperparameters, per optimizer
  const h = Object.fromEntries(Object.entries(c.hyperparams).map(([k, v]) => [camel(k), v])) as any;
  switch (c.optimizer) {
    case 'SGD':
      return new SGD(params, h);
    case 'Adadelta':
      return new Adadelta(params, h);
    case 'Adam':
      return new Adam(params, h);
    case 'AdamW':
      return new AdamW(params, h);
  }
}

/** loss = ½·xᵀAx − bᵀx through autograd, as golden.py computes it. */
function quadratic(x: Tensor): Tensor {
  const At = tensor(A, { dtype: 'float64' });
  const bt = tensor(b, { dtype: 'float64' });
  return x.mul(0.5).matmul(At).matmul(x).sub(bt.matmul(x));
}

describe('optimizers match PyTorch 1.13 (optimizers.json)', () => {
  it('has every case', () => {
    expect(fixture.cases.map((c) => c.optimizer).sort()).toEqual(
      ['Adadelta', 'Adadelta', 'Adam', 'Adam', 'AdamW', 'SGD', 'SGD', 'SGD', 'SGD'].sort(),
    );
  });

  for (const c of fixture.cases) {
    it(`${c.name}: gradients from autograd`, () => {
      const x = new Parameter(tensor(x0, { dtype: 'float64' }));
      const opt = makeOptimizer(c, [x]);
      for (const s of c.steps) {
        opt.zeroGrad();
        const loss = quadratic(x);
        loss.backward();
        expect(loss.item()).toBeAllClose(s.loss, { atol: 0, rtol: RTOL });
        expect(x.grad!).toBeAllClose(s.grad, { atol: 1e-15, rtol: RTOL });
        opt.step();
        expect(x).toBeAllClose(s.params_after, { atol: 0, rtol: RTOL });
      }
    });

    it(`${c.name}: gradients from the fixture, params and state after each step`, () => {
      const x = new Parameter(tensor(x0, { dtype: 'float64' }));
      const opt = makeOptimizer(c, [x]);
      for (const s of c.steps) {
        expect(x).toBeAllClose(s.params_before, { atol: 0, rtol: RTOL });
        x.grad = tensor(s.grad, { dtype: 'float64' });
        opt.step();
        expect(x).toBeAllClose(s.params_after, { atol: 0, rtol: RTOL });
        const st = opt.state.get(x)!;
        for (const [k, v] of Object.entries(s.state_after)) {
          if (v === null) {
            expect(st[camel(k)]).toBeUndefined(); // SGD without momentum keeps no buffer
          } else if (typeof v === 'number') {
            expect(st[camel(k)]).toBe(v);
          } else {
            expect(st[camel(k)] as Float64Array).toBeAllClose(v, { atol: 0, rtol: RTOL });
          }
        }
      }
    });
  }
});

describe('StepLR matches PyTorch 1.13 bit for bit (steplr.json)', () => {
  for (const c of steplr.cases) {
    it(c.description, () => {
      const p = new Parameter(tensor([0]));
      const opt = new SGD([p], { lr: c.initial_lr });
      const sched = new lrScheduler.StepLR(opt, { stepSize: c.step_size, gamma: c.gamma });
      const lrs: number[] = [];
      for (let ep = 0; ep < c.lr_per_epoch.length; ep++) {
        lrs.push(opt.paramGroups[0]!.lr);
        expect(sched.getLastLr()).toEqual([opt.paramGroups[0]!.lr]);
        opt.step();
        sched.step();
      }
      for (let ep = 0; ep < lrs.length; ep++) expect(lrs[ep]).toBe(c.lr_per_epoch[ep]);
    });
  }

  it('notebook config: epoch 5 uses 0.24009999999999992 (in-place products), not 1.0·0.7⁴', () => {
    const opt = new Adadelta([new Parameter(tensor([0]))], { lr: 1.0 });
    const sched = new lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.7 });
    for (let i = 0; i < 4; i++) sched.step();
    expect(opt.paramGroups[0]!.lr).toBe(0.24009999999999992);
    expect(powInt(0.7, 4)).toBe(0.24009999999999995); // Python's 0.7 ** 4 (V8's ** happens to give ...92)
  });

  for (const c of steplr.cases) {
    it(`step(epoch) uses the closed form lr·gamma^⌊epoch/stepSize⌋ like Python: ${c.description}`, () => {
      const opt = new SGD([new Parameter(tensor([0]))], { lr: c.initial_lr });
      const sched = new lrScheduler.StepLR(opt, { stepSize: c.step_size, gamma: c.gamma });
      c.closed_form_lr0_times_gamma_pow_floor_e_div_step.forEach((lr, ep) => {
        sched.step(ep);
        expect(opt.paramGroups[0]!.lr).toBe(lr);
      });
    });
  }
});
