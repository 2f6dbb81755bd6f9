// Training step with and without a BufferArena around it, alternating in one process (TH threads).
import { BufferArena } from '../../src/tensor/arena.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { Adadelta } from '../../src/optim/index.ts';
import * as F from '../../src/nn/functional.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { firstBatch, withWeights } from '../../bench/train-step.ts';
import type { Tensor } from '../../src/index.ts';
setNumThreads(Number(process.env.TH ?? 2));
const { model } = withWeights('baseline', () => new BaselineNet());
const b = await firstBatch();
const opt = new Adadelta(model.parameters(), { lr: 1 });
model.train();
const arena = new BufferArena();
const step0 = () => {
  opt.zeroGrad();
  const l = F.nllLoss(model.forward(b.x) as Tensor, b.y);
  l.backward();
  opt.step();
  return l.item();
};
const timed = (f: () => unknown) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
for (let i = 0; i < 3; i++) {
  step0();
  arena.run(step0);
}
const A: number[] = [],
  B: number[] = [];
for (let r = 0; r < Number(process.env.R ?? 8); r++) {
  for (let i = 0; i < 2; i++) A.push(timed(step0));
  for (let i = 0; i < 2; i++) B.push(timed(() => arena.run(step0)));
}
const med = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1]!;
console.log(
  'plain',
  med(A).toFixed(1),
  'arena',
  med(B).toFixed(1),
  'ratio',
  (med(B) / med(A)).toFixed(3),
);
