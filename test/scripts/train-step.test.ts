/**
 * trainer.ts's trainStep runs each step in a BufferArena (every large tensor of a step reuses the
 * previous step's buffer, in shared memory, so ReLU, max-pool, dropout and the bias gradient run
 * threaded). It must give the numbers of the plain loop (zeroGrad, forward, NLL, backward, step)
 * bit for bit, on every net of the experiments and at one and two threads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { manualSeed, randint, randn, type Tensor } from '../../src/index.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { CrudeNet, PSNet, QNet } from '../../src/models/deepshift.ts';
import type { Module } from '../../src/nn/module.ts';
import { nllLoss } from '../../src/nn/functional.ts';
import { Adadelta, SGD, type Optimizer } from '../../src/optim/index.ts';
import { BufferArena } from '../../src/tensor/arena.ts';
import { getNumThreads, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { trainStep } from '../../scripts/lib/trainer.ts';

const nets: [string, () => Module, (m: Module) => Optimizer][] = [
  ['baseline', () => new BaselineNet(), (m) => new Adadelta(m.parameters(), { lr: 1 })],
  ['crude', () => new CrudeNet(), (m) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 })],
  ['ps', () => new PSNet({ weightBits: 5 }), (m) => new Adadelta(m.parameters(), { lr: 1 })],
  ['q', () => new QNet({ weightBits: 5 }), (m) => new Adadelta(m.parameters(), { lr: 1 })],
];

/** Losses of `steps` steps on fixed batches, then every parameter's values. */
function run(
  make: () => Module,
  opt: (m: Module) => Optimizer,
  step: (m: Module, o: Optimizer, x: Tensor, y: Tensor) => number,
  steps = 3,
): { losses: number[]; params: number[][] } {
  manualSeed(5);
  const model = make();
  const o = opt(model);
  model.train();
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    // batch 12: conv1's and conv2's activations (1.3 MB, 1.8 MB) are above the arena's threshold
    const x = randn([12, 1, 28, 28]);
    const y = randint(0, 10, [12]);
    losses.push(step(model, o, x, y));
  }
  return { losses, params: model.parameters().map((p) => Array.from(p._flat())) };
}

const plain = (m: Module, o: Optimizer, x: Tensor, y: Tensor): number => {
  o.zeroGrad();
  const loss = nllLoss(m.forward(x), y);
  loss.backward();
  o.step();
  return loss.item();
};

describe('trainStep', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  for (const [name, make, opt] of nets) {
    it(`${name}: the numbers of the plain loop, bit for bit, on one and two threads`, () => {
      setNumThreads(1);
      const ref = run(make, opt, plain);
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const arena = new BufferArena();
        const got = run(make, opt, (m, o, x, y) => trainStep(m, o, x, y, arena));
        expect(got.losses).toEqual(ref.losses);
        got.params.forEach((p, i) => expect(p).toEqual(ref.params[i]));
        expect(arena.bytes).toBeGreaterThan(0); // the steps really ran in the arena
      }
    });
  }

  it('leaves no gradient behind: every .grad is null after the step', () => {
    manualSeed(1);
    const model = new BaselineNet();
    const o = new Adadelta(model.parameters(), { lr: 1 });
    trainStep(model, o, randn([12, 1, 28, 28]), randint(0, 10, [12]), new BufferArena());
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
  });
});
