// Training step (trainStep, arena) with the Winograd GEMMs' zero-tile lists on / off, alternating (one thread: the switch is per thread).
import { BufferArena } from '../../src/tensor/arena.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { Adadelta } from '../../src/optim/index.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { setZeroTileLists } from '../../src/tensor/kernels/winograd.ts';
import { firstBatch, withWeights } from '../../bench/train-step.ts';
import { trainStep } from '../../scripts/lib/trainer.ts';
setNumThreads(1);
const { model } = withWeights('baseline', () => new BaselineNet());
const b = await firstBatch();
const opt = new Adadelta(model.parameters(), { lr: 1 });
model.train();
const arena = new BufferArena();
const timed = (on: boolean) => {
  setZeroTileLists(on);
  const t0 = performance.now();
  trainStep(model, opt, b.x, b.y, arena);
  return performance.now() - t0;
};
for (let i = 0; i < 2; i++) {
  timed(true);
  timed(false);
}
const A: number[] = [],
  B: number[] = [];
for (let r = 0; r < 8; r++)
  for (const on of r % 2 ? [false, true] : [true, false]) (on ? A : B).push(timed(on));
const med = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1]!;
console.log(
  'lists',
  med(A).toFixed(1),
  'dense',
  med(B).toFixed(1),
  'ratio',
  (med(A) / med(B)).toFixed(3),
);
