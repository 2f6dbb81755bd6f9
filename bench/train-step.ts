/**
 * Training-step benchmark at batch 64 (float32), every thread count side by side in one process:
 *   - `step`: median ms of one full step (zeroGrad, forward, NLL, backward, Adadelta) per net
 *     (baseline, and the DeepShift nets Crude / PS / Q when src/models/deepshift.ts has them);
 *   - `op`: the baseline's per-op breakdown, forward and backward of each layer measured on
 *     their own (fresh graph each repetition), the optimizer step and loading one MNIST batch;
 *   - `infer`: the baseline's eval-mode forward over the 10,000-image test set (batch 1000).
 * Thread counts: `BENCH_THREADS=1,2` (default "1,<available cores>").
 */
import { availableParallelism } from 'node:os';
import { manualSeed, randint, randn, Tensor } from '../src/index.ts';
import { BaselineNet } from '../src/models/baseline.ts';
import * as deepshift from '../src/models/deepshift.ts';
import * as F from '../src/nn/functional.ts';
import type { Module } from '../src/nn/module.ts';
import { Adadelta } from '../src/optim/index.ts';
import { getNumThreads, setNumThreads } from '../src/tensor/kernels/parallel.ts';
import { DataLoader, mnist, Compose, Normalize, ToTensor } from '../src/data/index.ts';
import { medianMs } from './util.ts';
import { evaluate, loadMnist } from '../scripts/lib/trainer.ts';

const BATCH = 64;

/** Nets to time; a missing export (DeepShift nets not written yet) is skipped. */
function nets(): [string, () => Module][] {
  const out: [string, () => Module][] = [['baseline', () => new BaselineNet()]];
  // hook for the DeepShift nets: picked up automatically when their classes exist
  const ds = deepshift as Record<string, unknown>;
  for (const [name, cls] of [
    ['crude', 'CrudeNet'],
    ['ps', 'PSNet'],
    ['q', 'QNet'],
  ] as const) {
    const C = ds[cls] as (new () => Module) | undefined;
    if (typeof C === 'function') out.push([name, () => new C()]);
  }
  return out;
}

function threadCounts(): number[] {
  const env = process.env.BENCH_THREADS;
  if (env) return env.split(',').map(Number);
  const cores = availableParallelism();
  return cores > 1 ? [1, cores] : [1];
}

function stepMs(make: () => Module): number {
  manualSeed(0);
  const model = make();
  model.train();
  const opt = new Adadelta(model.parameters(), { lr: 1.0 });
  const x = randn([BATCH, 1, 28, 28]);
  const y = randint(0, 10, [BATCH]);
  return medianMs(
    () => {
      opt.zeroGrad();
      F.nllLoss(model.forward(x) as Tensor, y).backward();
      opt.step();
    },
    7,
    2,
  );
}

/** Median forward ms and median backward ms of `op` on fresh inputs (a new graph each rep). */
function opMs(op: (ins: Tensor[]) => Tensor, ins: Tensor[], reps = 7): [number, number] {
  const fwd: number[] = [];
  const bwd: number[] = [];
  let g: Tensor | null = null;
  for (let r = 0; r < reps + 2; r++) {
    const t0 = performance.now();
    const y = op(ins);
    const t1 = performance.now();
    g ??= randn(y.shape);
    y.backward(g);
    const t2 = performance.now();
    for (const t of ins) t.grad = null;
    if (r >= 2) {
      fwd.push(t1 - t0);
      bwd.push(t2 - t1);
    }
  }
  const med = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1]!;
  return [med(fwd), med(bwd)];
}

const leaf = (shape: number[], grad = true) => randn(shape).requiresGrad_(grad);

function opBreakdown(): Record<string, number> {
  manualSeed(1);
  const net = new BaselineNet();
  const rows: Record<string, number> = {};
  const add = (name: string, [f, b]: [number, number]) => {
    rows[`${name} fwd`] = +f.toFixed(1);
    rows[`${name} bwd`] = +b.toFixed(1);
  };
  add(
    'conv1',
    opMs(([x]) => net.conv1.forward(x!), [leaf([BATCH, 1, 28, 28], false)]),
  );
  add(
    'relu1',
    opMs(([x]) => F.relu(x!), [leaf([BATCH, 32, 26, 26])]),
  );
  add(
    'conv2',
    opMs(([x]) => net.conv2.forward(x!), [leaf([BATCH, 32, 26, 26])]),
  );
  add(
    'relu2',
    opMs(([x]) => F.relu(x!), [leaf([BATCH, 64, 24, 24])]),
  );
  add(
    'maxpool',
    opMs(([x]) => F.maxPool2d(x!, 2), [leaf([BATCH, 64, 24, 24])]),
  );
  add(
    'dropout1',
    opMs(([x]) => F.dropout2d(x!, 0.25), [leaf([BATCH, 64, 12, 12])]),
  );
  add(
    'fc1',
    opMs(([x]) => net.fc1.forward(x!), [leaf([BATCH, 9216])]),
  );
  add(
    'relu3+dropout2',
    opMs(([x]) => F.dropout2d(F.relu(x!), 0.5), [leaf([BATCH, 128])]),
  );
  add(
    'fc2',
    opMs(([x]) => net.fc2.forward(x!), [leaf([BATCH, 128])]),
  );
  const target = randint(0, 10, [BATCH]);
  add(
    'logSoftmax+nll',
    opMs(([x]) => F.nllLoss(F.logSoftmax(x!, 1), target), [leaf([BATCH, 10])]),
  );
  // optimizer step with gradients in place
  const opt = new Adadelta(net.parameters(), { lr: 1.0 });
  for (const p of net.parameters()) p.grad = randn(p.shape);
  rows['adadelta step'] = +medianMs(() => opt.step(), 7, 2).toFixed(1);
  const zg: number[] = [];
  for (let r = 0; r < 7; r++) {
    for (const p of net.parameters()) p.grad = randn(p.shape);
    const t0 = performance.now();
    opt.zeroGrad();
    zg.push(performance.now() - t0);
  }
  rows['zeroGrad'] = +zg.sort((a, b) => a - b)[3]!.toFixed(2);
  return rows;
}

async function loadBatchMs(): Promise<number | null> {
  try {
    const transform = new Compose([new ToTensor(), new Normalize(0.1307, 0.3081)]);
    const train = await mnist('train', { transform });
    const loader = new DataLoader(train, { batchSize: BATCH, shuffle: true });
    const times: number[] = [];
    const it = loader[Symbol.iterator]();
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      if (it.next().done) break;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[times.length >> 1] ?? null;
  } catch {
    return null; // no MNIST files available
  }
}

async function inferenceMs(): Promise<number | null> {
  let test;
  try {
    test = (await loadMnist()).test;
  } catch {
    return null; // no MNIST files available
  }
  manualSeed(0);
  const net = new BaselineNet();
  const t0 = performance.now();
  evaluate(net, test, 1000); // what every epoch's test pass runs
  return performance.now() - t0;
}

export async function benchTrainStep(): Promise<object[]> {
  const before = getNumThreads();
  const rows: Record<string, string | number | null>[] = [];
  const counts = threadCounts();
  const byThreads: Record<number, Record<string, number | null>> = {};
  try {
    for (const t of counts) {
      setNumThreads(t);
      const r: Record<string, number | null> = {};
      for (const [name, make] of nets()) r[`step ${name}`] = +stepMs(make).toFixed(1);
      Object.assign(r, opBreakdown());
      const load = await loadBatchMs();
      r['load batch (MNIST)'] = load === null ? null : +load.toFixed(2);
      const inf = await inferenceMs();
      r['evaluate test set 10k (baseline, batch 1000 in slices of 64)'] =
        inf === null ? null : +inf.toFixed(0);
      byThreads[t] = r;
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    setNumThreads(before);
  }
  for (const key of Object.keys(byThreads[counts[0]!]!)) {
    const row: Record<string, string | number | null> = { measure: key };
    for (const t of counts) row[`${t} thread${t > 1 ? 's' : ''} ms`] = byThreads[t]![key] ?? null;
    rows.push(row);
  }
  const base = byThreads[counts[0]!]!['step baseline'];
  if (typeof base === 'number') {
    rows.push({
      measure: 'baseline images/s',
      ...Object.fromEntries(
        counts.map((t) => [
          `${t} thread${t > 1 ? 's' : ''} ms`,
          +((BATCH * 1000) / byThreads[t]!['step baseline']!).toFixed(0),
        ]),
      ),
    });
  }
  return rows;
}
