// Where a training step's time goes on the calling thread: NET (baseline | crude | ps | q,
// default ps) with its committed weights, TH threads (default 2), 10 steps of trainStep on the
// first MNIST batch after 3 warm-up steps, profiled with node:inspector; prints ms per step of
// the functions with the most self time. On two threads, what does not halve from TH=1 runs on
// the caller only (or waits for the other thread: `parallelFor`).
import { BufferArena } from '../../src/tensor/arena.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { CrudeNet, PSNet, QNet } from '../../src/models/deepshift.ts';
import { Adadelta, SGD } from '../../src/optim/index.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { firstBatch, withWeights } from '../train-step.ts';
import { trainStep } from '../../scripts/lib/trainer.ts';
import type { Module } from '../../src/nn/module.ts';
import { profileSelf } from './common.ts';

setNumThreads(Number(process.env.TH ?? 2));
const b = await firstBatch();
const net = process.env.NET ?? 'ps';
const make: Record<string, () => Module> = {
  baseline: () => withWeights('baseline', () => new BaselineNet()).model,
  crude: () => withWeights('crude', () => new CrudeNet()).model,
  ps: () => withWeights('ps', () => new PSNet({ weightBits: 5 })).model,
  q: () => withWeights('q', () => new QNet({ weightBits: 5 })).model,
};
const m = make[net]!();
m.train();
const o =
  net === 'crude'
    ? new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 })
    : new Adadelta(m.parameters(), { lr: 1 });
const a = new BufferArena();
for (let i = 0; i < 3; i++) trainStep(m, o, b.x, b.y, a);
const steps = 10;
await profileSelf(
  () => {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) trainStep(m, o, b.x, b.y, a);
    console.log(net, ((performance.now() - t0) / steps).toFixed(1), 'ms per step');
  },
  steps,
  Number(process.env.TOP ?? 25),
);
