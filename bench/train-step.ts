/**
 * Training-step benchmark at batch 64 (float32), every thread count side by side in one process:
 *   - `step`: median ms of one full step (trainer.ts's `trainStep`: zeroGrad, forward, NLL,
 *     backward, Adadelta, in a BufferArena) per net
 *     (baseline, and the DeepShift nets Crude / PS / Q when src/models/deepshift.ts has them),
 *     and each DeepShift net's step over the baseline's as the median of alternating pairs;
 *   - `op`: the baseline's per-op breakdown, forward and backward of each layer measured on
 *     their own (fresh graph each repetition), the optimizer step and loading one MNIST batch;
 *   - `evaluate`: `evaluate` over the 10,000-image test set (batch 1000, as each epoch's test pass)
 *     of the baseline at every thread count and of PS and Q at the last one, each traced (the
 *     default: a fused, frozen inference plan) and eager (`trace: false`) side by side, and the
 *     baseline's plan again with its 3×3 convolution on Winograd F(4×4) instead of F(6×6). The
 *     baseline's plan runs EVAL_REPS times (median, fastest, slowest; once until session 15).
 * Inputs are what training sees: the first 64 MNIST training images (normalised) and, for every
 * net with a committed result, its trained weights (docs/results/<run>/model.safetensors): the
 * activations of a trained net are mostly zeros after ReLU + max-pool (fc1's input: ~90 %), which
 * the sparse-input linear kernels use. Without the files: random inputs and fresh weights.
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
import { evaluate, loadMnist, trainStep } from '../scripts/lib/trainer.ts';
import { existsSync } from 'node:fs';
import { load } from '../src/nn/serialization.ts';
import { noGrad } from '../src/autograd/grad-mode.ts';
import { traceInference } from '../src/nn/trace.ts';
import { BufferArena } from '../src/tensor/arena.ts';
import { setConvWinograd6 } from '../src/tensor/kernels/conv2d.ts';

const BATCH = 64;
/** Runs of the baseline's traced test-set evaluation (its median is the figure the target uses). */
const EVAL_REPS = 3;

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

/** Trained weights per net (committed results), used when present. */
const TRAINED: Record<string, string> = {
  baseline: 'docs/results/baseline/model.safetensors',
  crude: 'docs/results/crude-q/model.safetensors',
  ps: 'docs/results/ps/model.safetensors',
  q: 'docs/results/q-tuned/model.safetensors',
};

/** `make()` with the net's trained weights loaded when the file exists; the weights used. */
export function withWeights(name: string, make: () => Module): { model: Module; weights: string } {
  const model = make();
  const file = TRAINED[name];
  if (file === undefined || !existsSync(file)) return { model, weights: 'fresh' };
  model.loadStateDict(load(file).tensors);
  return { model, weights: file };
}

/** The first 64 normalised MNIST training images and labels, or random ones without the files. */
export async function firstBatch(): Promise<{ x: Tensor; y: Tensor; source: string }> {
  try {
    const { train } = await loadMnist();
    const [x, y] = new DataLoader(train.subset(BATCH), { batchSize: BATCH })
      [Symbol.iterator]()
      .next().value as [Tensor, Tensor];
    return { x, y, source: 'MNIST' };
  } catch {
    manualSeed(0);
    return { x: randn([BATCH, 1, 28, 28]), y: randint(0, 10, [BATCH]), source: 'random' };
  }
}

function threadCounts(): number[] {
  const env = process.env.BENCH_THREADS;
  if (env) return env.split(',').map(Number);
  const cores = availableParallelism();
  return cores > 1 ? [1, cores] : [1];
}

function stepMs(model: Module, x: Tensor, y: Tensor): number {
  manualSeed(0);
  model.train();
  const opt = new Adadelta(model.parameters(), { lr: 1.0 });
  const arena = new BufferArena();
  return medianMs(() => trainStep(model, opt, x, y, arena), 7, 2);
}

/**
 * Median of the per-pair ratios step(model) / step(baseline), the two stepping alternately (a
 * baseline step, then the net's, then the other order), so that the machine's speed drift falls
 * on both: the PS-step target is a ratio to the baseline step.
 */
function stepRatio(base: Module, model: Module, x: Tensor, y: Tensor, pairs = 9): number {
  const make = (m: Module) => {
    m.train();
    const opt = new Adadelta(m.parameters(), { lr: 1.0 });
    const arena = new BufferArena();
    return () => {
      const t0 = performance.now();
      trainStep(m, opt, x, y, arena);
      return performance.now() - t0;
    };
  };
  manualSeed(0);
  const a = make(base);
  const b = make(model);
  a();
  b(); // warm-up
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      const ta = a();
      ratios.push(b() / ta);
    } else {
      const tb = b();
      ratios.push(tb / a());
    }
  }
  return ratios.sort((p, q) => p - q)[pairs >> 1]!;
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

function opBreakdown(net: BaselineNet, x: Tensor, y: Tensor): Record<string, number> {
  manualSeed(1);
  net.train();
  // each op's input: the activation it gets in the net's forward on the batch
  const acts = noGrad(() => {
    const a1 = net.conv1.forward(x);
    const r1 = F.relu(a1);
    const a2 = net.conv2.forward(r1);
    const r2 = F.relu(a2);
    const p = F.maxPool2d(r2, 2);
    const d1 = F.flatten(net.dropout1.forward(p), 1);
    const h = net.fc1.forward(d1);
    const d2 = net.dropout2.forward(F.relu(h));
    return { a1, r1, a2, p, d1, h, d2, out: net.fc2.forward(d2) };
  });
  const leaf = (t: Tensor, grad = true) => t.detach().requiresGrad_(grad);
  const rows: Record<string, number> = {};
  const add = (name: string, [f, b]: [number, number]) => {
    rows[`${name} fwd`] = +f.toFixed(1);
    rows[`${name} bwd`] = +b.toFixed(1);
  };
  add(
    'conv1',
    opMs(([v]) => net.conv1.forward(v!), [leaf(x, false)]),
  );
  add(
    'relu1',
    opMs(([v]) => F.relu(v!), [leaf(acts.a1)]),
  );
  add(
    'conv2',
    opMs(([v]) => net.conv2.forward(v!), [leaf(acts.r1)]),
  );
  add(
    'relu2',
    opMs(([v]) => F.relu(v!), [leaf(acts.a2)]),
  );
  add(
    'maxpool',
    opMs(([v]) => F.maxPool2d(v!, 2), [leaf(F.relu(acts.a2))]),
  );
  add(
    'dropout1',
    opMs(([v]) => F.dropout2d(v!, 0.25), [leaf(acts.p)]),
  );
  add(
    'fc1',
    opMs(([v]) => net.fc1.forward(v!), [leaf(acts.d1)]),
  );
  add(
    'relu3+dropout2',
    opMs(([v]) => F.dropout2d(F.relu(v!), 0.5), [leaf(acts.h)]),
  );
  add(
    'fc2',
    opMs(([v]) => net.fc2.forward(v!), [leaf(acts.d2)]),
  );
  add(
    'logSoftmax+nll',
    opMs(([v]) => F.nllLoss(F.logSoftmax(v!, 1), y), [leaf(acts.out)]),
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

/**
 * `evaluate` of one net's committed weights over the 10,000 test images (batch 1000, as every
 * epoch's test pass), traced (the default: fused, frozen plan) or eager (`trace: false`).
 */
async function inferenceMs(name: string, trace: boolean): Promise<number | null> {
  let test;
  try {
    test = (await loadMnist()).test;
  } catch {
    return null; // no MNIST files available
  }
  const make = nets().find(([n]) => n === name)?.[1];
  if (make === undefined) return null;
  manualSeed(0);
  const { model: net } = withWeights(name, make);
  const t0 = performance.now();
  evaluate(net, test, 1000, { trace });
  return performance.now() - t0;
}

/**
 * One evaluation slice (the 64 images `x`) through the baseline in eval mode, eager and through
 * its traced plan, and the plan again with conv2 on Winograd F(4×4) instead of F(6×6), in turn in
 * BufferArenas as `evaluate` runs them: medians of each and the medians of the per-round ratios
 * plan / eager and plan / plan on F(4×4).
 */
function evalSliceMs(
  x: Tensor,
  reps = 31,
): { eager: number; plan: number; plan4: number; ratio: number; ratio4: number } {
  manualSeed(0);
  const net = withWeights('baseline', () => new BaselineNet()).model;
  net.eval();
  const plan = traceInference((v) => net.forward(v), x, net.parameters()).plan;
  if (plan === null) throw new Error('bench: the baseline did not trace');
  const arenas = [new BufferArena(), new BufferArena(), new BufferArena()];
  const eager: number[] = [];
  const traced: number[] = [];
  const traced4: number[] = [];
  noGrad(() => {
    for (let i = 0; i < reps + 3; i++) {
      let t0 = performance.now();
      arenas[0]!.run(() => net.forward(x));
      const e = performance.now() - t0;
      t0 = performance.now();
      arenas[1]!.run(() => plan.run(x));
      const p = performance.now() - t0;
      setConvWinograd6(false);
      t0 = performance.now();
      arenas[2]!.run(() => plan.run(x));
      const p4 = performance.now() - t0;
      setConvWinograd6(true);
      if (i >= 3) {
        eager.push(e);
        traced.push(p);
        traced4.push(p4);
      }
    }
  });
  const med = (a: number[]) => [...a].sort((u, v) => u - v)[a.length >> 1]!;
  return {
    eager: med(eager),
    plan: med(traced),
    plan4: med(traced4),
    ratio: med(traced.map((p, i) => p / eager[i]!)),
    ratio4: med(traced.map((p, i) => p / traced4[i]!)),
  };
}

export async function benchTrainStep(): Promise<object[]> {
  const before = getNumThreads();
  const rows: Record<string, string | number | null>[] = [];
  const counts = threadCounts();
  const byThreads: Record<number, Record<string, number | null>> = {};
  const { x, y, source } = await firstBatch();
  const used: Record<string, string> = {};
  try {
    for (const t of counts) {
      setNumThreads(t);
      const r: Record<string, number | null> = {};
      for (const [name, make] of nets()) {
        manualSeed(0);
        const { model, weights } = withWeights(name, make);
        used[name] = weights;
        r[`step ${name}`] = +stepMs(model, x, y).toFixed(1);
      }
      // each DeepShift net's step over the baseline's, alternating pairs
      for (const [name, make] of nets().slice(1)) {
        const base = withWeights('baseline', () => new BaselineNet()).model;
        const { model } = withWeights(name, make);
        r[`… step ${name} / step baseline, pairs run alternately`] = +stepRatio(
          base,
          model,
          x,
          y,
        ).toFixed(3);
      }
      manualSeed(0);
      Object.assign(
        r,
        opBreakdown(withWeights('baseline', () => new BaselineNet()).model as BaselineNet, x, y),
      );
      const load = await loadBatchMs();
      r['load batch (MNIST)'] = load === null ? null : +load.toFixed(2);
      const slice = evalSliceMs(x);
      r['eval-mode forward of the 64 images (baseline, eager)'] = +slice.eager.toFixed(1);
      r['… through the traced plan (fused conv → relu → pool)'] = +slice.plan.toFixed(1);
      r['… median ratio plan / eager, pairs run alternately'] = +slice.ratio.toFixed(3);
      r['… the plan with conv2 on Winograd F(4×4) (SHIFTGRAD_WINOGRAD6=0)'] =
        +slice.plan4.toFixed(1);
      r['… median ratio plan / plan on F(4×4), run alternately'] = +slice.ratio4.toFixed(3);
      // the baseline at every thread count, the DeepShift nets at the last one (time)
      const last = t === counts[counts.length - 1];
      for (const name of ['baseline', 'ps', 'q']) {
        for (const trace of [true, false]) {
          const main = name === 'baseline' && trace;
          // the target's measure: the median of EVAL_REPS runs (the host's speed moves between
          // runs of ~10 s), and the spread of those runs
          const runs: number[] = [];
          for (let i = 0; i < (main ? EVAL_REPS : 1); i++) {
            const ms = name === 'baseline' || last ? await inferenceMs(name, trace) : null;
            if (ms !== null) runs.push(ms);
          }
          runs.sort((a, b) => a - b);
          const ms = runs.length === 0 ? null : runs[runs.length >> 1]!;
          const key = main
            ? `evaluate test set 10k (baseline, batch 1000 in slices of 64), median of ${EVAL_REPS}`
            : `evaluate test set 10k (${name}${trace ? '' : ', eager: trace false'})`;
          r[key] = ms === null ? null : +ms.toFixed(0);
          if (main) {
            r[`… fastest of the ${EVAL_REPS}`] = ms === null ? null : +runs[0]!.toFixed(0);
            r[`… slowest of the ${EVAL_REPS}`] =
              ms === null ? null : +runs[runs.length - 1]!.toFixed(0);
          }
        }
      }
      setConvWinograd6(false);
      const ms4 = await inferenceMs('baseline', true);
      setConvWinograd6(true);
      r['evaluate test set 10k (baseline, conv2 on F(4×4): SHIFTGRAD_WINOGRAD6=0)'] =
        ms4 === null ? null : +ms4.toFixed(0);
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
  rows.push({
    measure: `input: first ${BATCH} ${source} training images; weights: ${JSON.stringify(used)}`,
  });
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
