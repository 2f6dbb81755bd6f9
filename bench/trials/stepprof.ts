// Where a training step's time goes on the calling thread: NET (baseline | crude | ps | q,
// default ps) with its committed weights, TH threads (default 2), 10 steps of trainStep on the
// first MNIST batch after 3 warm-up steps, profiled with node:inspector; prints ms per step of
// the functions with the most self time. On two threads, what does not halve from TH=1 runs on
// the caller only (or waits for the other thread: `parallelFor`).
import { Session } from 'node:inspector/promises';
import { BufferArena } from '../../src/tensor/arena.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { CrudeNet, PSNet, QNet } from '../../src/models/deepshift.ts';
import { Adadelta, SGD } from '../../src/optim/index.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { firstBatch, withWeights } from '../train-step.ts';
import { trainStep } from '../../scripts/lib/trainer.ts';
import type { Module } from '../../src/nn/module.ts';

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
const s = new Session();
s.connect();
await s.post('Profiler.enable');
await s.post('Profiler.start');
const steps = 10;
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainStep(m, o, b.x, b.y, a);
console.log(net, ((performance.now() - t0) / steps).toFixed(1), 'ms per step');
const { profile: p } = await s.post('Profiler.stop');
const self = new Map<string, number>();
const byId = new Map(p.nodes.map((n) => [n.id, n]));
p.samples!.forEach((id, i) => {
  const f = byId.get(id)!.callFrame;
  const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
  self.set(k, (self.get(k) ?? 0) + (p.timeDeltas![i] ?? 0));
});
const total = [...self.values()].reduce((x, y) => x + y, 0);
for (const [k, t] of [...self].sort((x, y) => y[1] - x[1]).slice(0, Number(process.env.TOP ?? 25)))
  console.log(
    `${(t / 1000 / steps).toFixed(1).padStart(7)} ms ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`,
  );
