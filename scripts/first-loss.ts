/**
 * npx tsx scripts/first-loss.ts [--experiment ps] [--seeds 10] [--batches 20]: an experiment's
 * training loss at initialisation, per seed: the net built after manualSeed(seed), in training mode
 * (dropout on), on the first `batches` batches of 64 training images (unshuffled). Shows how far
 * the first logged loss moves with the seed alone (DeepShift-PS: docs/results/deepshift.md).
 */
import { parseArgs } from 'node:util';
import { manualSeed } from '../src/index.ts';
import { noGrad } from '../src/autograd/grad-mode.ts';
import { DataLoader } from '../src/data/index.ts';
import { nllLoss } from '../src/nn/functional.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { getExperiment } from './lib/experiments.ts';
import { loadMnist } from './lib/trainer.ts';

const { values } = parseArgs({
  options: {
    experiment: { type: 'string', default: 'ps' },
    seeds: { type: 'string', default: '10' },
    batches: { type: 'string', default: '20' },
  },
});
const exp = getExperiment(values.experiment!);
const seeds = Number(values.seeds);
const nBatches = Number(values.batches);
for (const [flag, v] of [
  ['seeds', seeds],
  ['batches', nBatches],
] as const) {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`first-loss: --${flag} must be a positive integer`);
}
const { train } = await loadMnist();
const batches = [...new DataLoader(train.subset(64 * nBatches), { batchSize: 64 })];
const rows = [];
for (let seed = 0; seed < seeds; seed++) {
  manualSeed(seed);
  const model = exp.model({});
  model.train();
  const losses = noGrad(() =>
    batches.map(([x, y]) => nllLoss(model.forward(x) as Tensor, y).item()),
  );
  const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
  rows.push({
    seed,
    'mean loss': mean.toFixed(2),
    min: Math.min(...losses).toFixed(2),
    max: Math.max(...losses).toFixed(2),
  });
}
console.log(`${exp.title}: loss at initialisation on ${nBatches} batches of 64 (dropout on)`);
console.table(rows);
