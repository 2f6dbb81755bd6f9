/**
 * npm run compare -- RUN_A RUN_B: do two runs give the same numbers? Compares the per-epoch JSON
 * (train loss, test loss, correct), every batch-loss and test line of the logs, and the trained
 * weights bit for bit when both directories have them. Prints 'identical', 'same printed numbers'
 * (every log line and correct count agree, a stored loss or weight differs in its last bits) or
 * 'different'. Exit code 0 when identical, 1 when not, 2 when a file is missing or unreadable.
 *
 *   npm run train -- --experiment baseline --out runs/baseline
 *   npm run compare -- docs/results/baseline runs/baseline
 */
import { compareRuns } from './lib/compare.ts';
import type { EpochRecord } from './lib/trainer.ts';

const [dirA, dirB, ...rest] = process.argv.slice(2);
if (dirA === undefined || dirB === undefined || rest.length > 0) {
  throw new Error('compare: give two run directories, e.g. docs/results/baseline runs/baseline');
}
let c: ReturnType<typeof compareRuns>;
try {
  c = compareRuns(dirA, dirB);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const fmt = (v: number | undefined, d: number) => (v === undefined ? '—' : v.toFixed(d));
// of the train loss, test loss and correct count: how far apart two epochs that differ are
const relDiff = (a: EpochRecord, b: EpochRecord) =>
  Math.max(
    ...(['trainLoss', 'testLoss', 'correct'] as const).map(
      (k) => Math.abs(a[k] - b[k]) / Math.max(Math.abs(a[k]), Math.abs(b[k]), Number.MIN_VALUE),
    ),
  );
console.log(`A: ${dirA}\nB: ${dirB}`);
console.table(
  c.epochs.map((e) => ({
    epoch: e.epoch,
    'accuracy A': fmt(e.a?.accuracy, 2),
    'accuracy B': fmt(e.b?.accuracy, 2),
    'test loss A': fmt(e.a?.testLoss, 6),
    'test loss B': fmt(e.b?.testLoss, 6),
    same: e.same ? 'yes' : 'no',
    'largest relative difference': e.same || !e.a || !e.b ? '' : relDiff(e.a, e.b).toExponential(1),
  })),
);
console.log(
  `batch-loss lines in both logs: ${c.batchLines}, differing: ${c.batchDiffs}` +
    (c.firstBatchDiff === null ? '' : ` (first: epoch/images ${c.firstBatchDiff})`),
);
console.log(`test lines differing: ${c.testDiffs}`);
if (c.weights === null) console.log('weights: not compared (a run has none)');
else if (c.weights.mismatch !== null) console.log(`weights: ${c.weights.mismatch}`);
else console.log(`weights: ${c.weights.differing} of ${c.weights.total} values differ`);
console.log(c.verdict);
process.exitCode = c.identical ? 0 : 1;
