// `evaluate` of the committed trained baseline on N test images (default 2,000; batch 1000 in
// slices of 64, as each epoch's test pass), TH threads, after a warm-up on 256. PROFILE=1 also
// profiles the calling thread (node:inspector) and prints the functions with the most self time.
// Two CPUs side by side: `TH=1 taskset -c 0 npx tsx bench/trials/evaltime.ts & TH=1 taskset -c 1 …`.
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { evaluate, loadMnist } from '../../scripts/lib/trainer.ts';
import { profileSelf, trainedBaseline } from './common.ts';

setNumThreads(Number(process.env.TH ?? 1));
const { test } = await loadMnist();
const { m } = await trainedBaseline(0);
evaluate(m, test.subset(256), 1000);
const sub = test.subset(Number(process.env.N ?? 2000));
const run = () => {
  const t0 = performance.now();
  const r = evaluate(m, sub, 1000);
  console.log(r, ((performance.now() - t0) / 1000).toFixed(2), 's');
};
if (process.env.PROFILE === '1') await profileSelf(run);
else run();
