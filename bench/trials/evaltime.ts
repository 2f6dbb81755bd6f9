// `evaluate` of the committed trained baseline on N test images (default 2,000; batch 1000 in
// slices of 64, as each epoch's test pass), TH threads, after a warm-up on 256. PROFILE=1 also
// profiles the calling thread (node:inspector) and prints the functions with the most self time.
// Two CPUs side by side, timing from the same instant: START_AT (ms since the epoch) holds the
// timed run until then, e.g. `S=$(( $(date +%s%3N) + 6000 )); START_AT=$S N=3000 taskset -c 0 npx
// tsx bench/trials/evaltime.ts & START_AT=$S N=3000 taskset -c 1 npx tsx …; wait`, against
// `TH=2 N=6000`.
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { evaluate, loadMnist } from '../../scripts/lib/trainer.ts';
import { profileSelf, trainedBaseline } from './common.ts';

setNumThreads(Number(process.env.TH ?? 1));
const { test } = await loadMnist();
const { m } = await trainedBaseline(0);
evaluate(m, test.subset(256), 1000);
const sub = test.subset(Number(process.env.N ?? 2000));
const startAt = Number(process.env.START_AT ?? 0);
while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 5));
const run = () => {
  const t0 = performance.now();
  const r = evaluate(m, sub, 1000);
  console.log(r, ((performance.now() - t0) / 1000).toFixed(2), 's');
};
if (process.env.PROFILE === '1') await profileSelf(run, 1, Number(process.env.TOP ?? 12));
else run();
