// `evaluate` of the committed trained baseline on N test images (default 2,000; batch 1000 in
// slices of 64, as each epoch's test pass), TH threads, after a warm-up on 256. PROFILE=1 also
// profiles the calling thread (node:inspector) and prints the functions with the most self time.
// Two CPUs side by side: `TH=1 taskset -c 0 npx tsx bench/trials/evaltime.ts & TH=1 taskset -c 1 …`.
import { Session } from 'node:inspector/promises';
import { manualSeed } from '../../src/index.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { load } from '../../src/nn/serialization.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { evaluate, loadMnist } from '../../scripts/lib/trainer.ts';

setNumThreads(Number(process.env.TH ?? 1));
const { test } = await loadMnist();
manualSeed(0);
const m = new BaselineNet();
m.loadStateDict(load('docs/results/baseline/model.safetensors').tensors);
evaluate(m, test.subset(256), 1000);
const sub = test.subset(Number(process.env.N ?? 2000));
const profile = process.env.PROFILE === '1';
const s = new Session();
if (profile) {
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
}
const t0 = performance.now();
const r = evaluate(m, sub, 1000);
const dt = performance.now() - t0;
console.log(r, (dt / 1000).toFixed(2), 's');
if (profile) {
  const { profile: p } = await s.post('Profiler.stop');
  const self = new Map<string, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  p.samples!.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
    self.set(k, (self.get(k) ?? 0) + (p.timeDeltas![i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(
      `${(t / 1000).toFixed(0).padStart(7)} ms ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`,
    );
  }
}
