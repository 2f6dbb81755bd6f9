// PS step / baseline step (trainStep, arenas), median of alternating pairs; TH threads.
import { BufferArena } from '../../src/tensor/arena.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { PSNet } from '../../src/models/deepshift.ts';
import { Adadelta } from '../../src/optim/index.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { firstBatch, withWeights } from '../../bench/train-step.ts';
import { trainStep } from '../../scripts/lib/trainer.ts';
import type { Module } from '../../src/nn/module.ts';
setNumThreads(Number(process.env.TH ?? 2));
const b = await firstBatch();
const mk = (m: Module) => {
  m.train();
  const o = new Adadelta(m.parameters(), { lr: 1 });
  const a = new BufferArena();
  return () => {
    const t0 = performance.now();
    trainStep(m, o, b.x, b.y, a);
    return performance.now() - t0;
  };
};
const base = mk(withWeights('baseline', () => new BaselineNet()).model);
const ps = mk(withWeights('ps', () => new PSNet({ weightBits: 5 })).model);
base();
ps();
base();
ps();
const r: number[] = [],
  tb: number[] = [],
  tp: number[] = [];
for (let i = 0; i < 11; i++) {
  let a: number, c: number;
  if (i % 2) {
    a = base();
    c = ps();
  } else {
    c = ps();
    a = base();
  }
  r.push(c / a);
  tb.push(a);
  tp.push(c);
}
const med = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1]!;
console.log('baseline', med(tb).toFixed(1), 'ps', med(tp).toFixed(1), 'ratio', med(r).toFixed(3));
