/**
 * The training loop of the notebook (train → test → scheduler step, per epoch) with a live progress
 * line, per-epoch JSON, and an atomic checkpoint after every epoch that `resume` continues from
 * with the same numbers as an uninterrupted run.
 */
import { existsSync, mkdirSync, appendFileSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { getNumThreads as numThreads } from '../../src/tensor/kernels/parallel.ts';
import { manualSeed, defaultGenerator, Generator } from '../../src/tensor/random.ts';
import { noGrad } from '../../src/autograd/grad-mode.ts';
import { BufferArena } from '../../src/tensor/arena.ts';
import { nllLoss } from '../../src/nn/functional.ts';
import { traceInference, type InferencePlan } from '../../src/nn/trace.ts';
import { save, load } from '../../src/nn/serialization.ts';
import type { Module, StateDict } from '../../src/nn/index.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import {
  DataLoader,
  Normalize,
  ToTensor,
  Compose,
  mnist,
  normalizedFill,
  randomTranslate,
  MNIST_MEAN,
  MNIST_STD,
  type TensorDataset,
} from '../../src/data/index.ts';
import { lrScheduler, type Optimizer, type OptimizerStateDict } from '../../src/optim/index.ts';
import { writeFileAtomic } from '../../src/util/fs.ts';
import type { Experiment, RunConfig } from './experiments.ts';

export interface TrainOptions extends RunConfig {
  outDir: string;
  trainLimit?: number;
  testLimit?: number;
  resume?: boolean;
  /** Weights file a converted experiment (ps-tuned, q-tuned) starts from; default its `init`. */
  init?: string;
  /**
   * Run the shift layers' forward through the integer shift kernels in training too (float
   * backward), so the net trains on the arithmetic it is deployed with. Shift experiments only.
   */
  useKernel?: boolean;
  logInterval?: number;
  quiet?: boolean;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  correct: number;
  total: number;
  accuracy: number;
  lr: number;
  seconds: number;
  msPerStep: number;
}

interface CheckpointMeta {
  experiment: string;
  epoch: number;
  weights: string;
  optimizerBuffers: string;
  config: RunConfig;
  optimizer: unknown;
  scheduler: unknown;
  rng: { global: ReturnType<Generator['getState']>; shuffle: ReturnType<Generator['getState']> };
  history: EpochRecord[];
}

/** Optimizer state buffers go to safetensors (they are as large as the model); the rest to JSON. */
function splitOptimizerState(sd: OptimizerStateDict): [OptimizerStateDict, StateDict] {
  const tensors: StateDict = {};
  const state: OptimizerStateDict['state'] = {};
  for (const [idx, st] of Object.entries(sd.state)) {
    state[idx] = {};
    for (const [k, v] of Object.entries(st)) {
      if (ArrayBuffer.isView(v))
        tensors[`${idx}.${k}`] = Tensor.fromData(v as Float32Array | Float64Array, [v.length]);
      else state[idx][k] = v;
    }
  }
  return [{ state, paramGroups: sd.paramGroups }, tensors];
}

function joinOptimizerState(meta: OptimizerStateDict, tensors: StateDict): OptimizerStateDict {
  const state: OptimizerStateDict['state'] = {};
  for (const [idx, st] of Object.entries(meta.state)) state[idx] = { ...st };
  for (const [key, t] of Object.entries(tensors)) {
    const [idx, k] = key.split('.') as [string, string];
    (state[idx] ??= {})[k] = t._flat() as Float32Array | Float64Array;
  }
  return { state, paramGroups: meta.paramGroups };
}

function commitId(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

let cached: { train: TensorDataset; test: TensorDataset } | null = null;

/** MNIST with `ToTensor()` + `Normalize((0.1307,), (0.3081,))`, loaded once per process. */
export async function loadMnist(): Promise<{ train: TensorDataset; test: TensorDataset }> {
  if (!cached) {
    const transform = new Compose([new ToTensor(), new Normalize(0.1307, 0.3081)]);
    cached = {
      train: await mnist('train', { transform }),
      test: await mnist('test', { transform }),
    };
  }
  return cached;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return m >= 60
    ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

/**
 * Images per forward pass in evaluation. The test loader's batches (the notebook's 1000) are
 * forwarded in slices of this many: predictions do not depend on the batch (every kernel reduces
 * within one image), and slices keep each activation array small enough (≤ 9.4 MB) for the
 * allocator to reuse freed memory instead of paging in fresh 86–147 MB arrays per batch, which
 * cost more than the arithmetic on this VM. Only the float rounding of the summed loss changes.
 */
export const EVAL_CHUNK = 64;

/** A black (0) pixel after the loader's ToTensor + Normalize: the border of a translated image. */
const AUGMENT_FILL = normalizedFill(MNIST_MEAN, MNIST_STD);

/**
 * Average NLL and accuracy on a dataset, in eval mode without a graph. Each input shape's first
 * slice is traced (`traceInference`) and the later ones replay the plan: the same values as the
 * eager forward, with conv → ReLU → max-pool fused; a forward that cannot be traced runs eagerly,
 * as it does with `{ trace: false }`.
 */
export function evaluate(
  model: Module,
  data: TensorDataset,
  batchSize: number,
  opts: { trace?: boolean } = {},
): { loss: number; correct: number; total: number } {
  model.eval();
  let loss = 0;
  let correct = 0;
  const arena = new BufferArena();
  const plans = new Map<string, InferencePlan | null>();
  const constants = [...model.parameters(), ...model.buffers()];
  const score = (out: Tensor, y: Tensor): void => {
    loss += nllLoss(out, y, { reduction: 'sum' }).item();
    const pred = out.argmax(1)._flat();
    const t = y._flat();
    for (let i = 0; i < t.length; i++) if (pred[i] === t[i]) correct++;
  };
  noGrad(() => {
    for (const [xb, yb] of new DataLoader(data, { batchSize })) {
      const n = xb.shape[0]!;
      for (let s = 0; s < n; s += EVAL_CHUNK) {
        const len = Math.min(EVAL_CHUNK, n - s);
        const x = len === n ? xb : xb.narrow(0, s, len);
        const y = len === n ? yb : yb.narrow(0, s, len);
        const key = x.shape.join(',');
        const plan = plans.get(key);
        if (opts.trace !== false && plan === undefined) {
          // outside the arena: a plan keeps the results it froze while tracing
          const t = traceInference((v) => model.forward(v), x, constants);
          plans.set(key, t.plan);
          score(t.output, y);
          continue;
        }
        // every slice runs the same forward: its activations reuse the previous slice's buffers
        arena.run(() => score(plan ? plan.run(x) : model.forward(x), y));
      }
    }
  });
  return { loss: loss / data.length, correct, total: data.length };
}

/**
 * One training step: zeroGrad, forward, NLL loss, backward, optimizer step; returns the loss.
 * It runs inside `arena` (src/tensor/arena.ts), so each large tensor of the step (activations,
 * gradients, masks) reuses the buffer of the previous step's allocation at the same position: no
 * fresh memory and no garbage per step, and the buffers are shared, so the threaded kernels read
 * and write them in place (ReLU, max-pool and dropout split across the threads instead of running
 * on the caller's). The gradients live in those buffers too, so the step ends by setting them to
 * null: nothing made inside the step outlives it.
 */
export function trainStep(
  model: Module,
  optimizer: Optimizer,
  x: Tensor,
  y: Tensor,
  arena: BufferArena,
): number {
  return arena.run(() => {
    optimizer.zeroGrad();
    const loss = nllLoss(model.forward(x), y);
    loss.backward();
    optimizer.step();
    const l = loss.item();
    optimizer.zeroGrad();
    return l;
  });
}

export async function train(exp: Experiment, opts: TrainOptions): Promise<EpochRecord[]> {
  const log = (line: string) => {
    if (!opts.quiet) console.log(line);
    appendFileSync(join(opts.outDir, 'log.txt'), line + '\n');
  };
  mkdirSync(opts.outDir, { recursive: true });
  const { train: fullTrain, test: fullTest } = await loadMnist();
  const trainSet = opts.trainLimit ? fullTrain.subset(opts.trainLimit) : fullTrain;
  const testSet = opts.testLimit ? fullTest.subset(opts.testLimit) : fullTest;

  log(
    `${exp.title}: ${JSON.stringify({ ...opts, quiet: undefined })}, commit ${commitId()}, ${numThreads()} kernel thread(s), node ${process.version}`,
  );
  manualSeed(opts.seed);
  if (opts.init !== undefined && exp.init === undefined) {
    throw new Error(`--init: experiment '${exp.name}' does not start from trained weights`);
  }
  const model = exp.model({ init: opts.init });
  if (opts.useKernel) {
    const shiftLayers = [...model.modules()].filter((m) => 'useKernel' in m);
    if (shiftLayers.length === 0) {
      throw new Error(`--use-kernel: experiment '${exp.name}' has no shift layers`);
    }
    for (const m of shiftLayers) (m as Module & { useKernel: boolean }).useKernel = true;
  }
  const optimizer: Optimizer = exp.optimizer(model, opts);
  const scheduler = new lrScheduler.StepLR(optimizer, { stepSize: 1, gamma: opts.gamma });
  const shuffle = new Generator(opts.seed + 1);
  const loader = new DataLoader(trainSet, {
    batchSize: opts.batchSize,
    shuffle: true,
    generator: shuffle,
  });
  let history: EpochRecord[] = [];

  const metaPath = join(opts.outDir, 'checkpoint.json');
  if (opts.resume && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CheckpointMeta;
    if (meta.experiment !== exp.name)
      throw new Error(
        `resume: ${metaPath} belongs to experiment '${meta.experiment}', not '${exp.name}'`,
      );
    model.loadStateDict(load(join(opts.outDir, meta.weights)).tensors);
    optimizer.loadStateDict(
      joinOptimizerState(
        meta.optimizer as OptimizerStateDict,
        load(join(opts.outDir, meta.optimizerBuffers)).tensors,
      ),
    );
    scheduler.loadStateDict(meta.scheduler as never);
    defaultGenerator.setState(meta.rng.global);
    shuffle.setState(meta.rng.shuffle);
    history = meta.history;
    log(`Resumed ${exp.name} from epoch ${meta.epoch} (${metaPath})`);
  }

  const steps = loader.length;
  const arena = new BufferArena();
  const interval = opts.logInterval ?? 100;
  const tty = process.stdout.isTTY && !opts.quiet;
  for (let epoch = history.length + 1; epoch <= opts.epochs; epoch++) {
    model.train();
    const lr = optimizer.paramGroups[0]!.lr as number;
    const t0 = performance.now();
    let seen = 0;
    let lossSum = 0;
    let step = 0;
    for (const [batch, y] of loader) {
      // augmentation draws from the global generator, whose state every checkpoint keeps
      const x = exp.augment
        ? randomTranslate(batch, exp.augment.translate, AUGMENT_FILL, defaultGenerator)
        : batch;
      const l = trainStep(model, optimizer, x, y, arena);
      if (!Number.isFinite(l))
        throw new Error(`train: loss became ${l} at epoch ${epoch}, step ${step}`);
      lossSum += l * y.size(0);
      seen += y.size(0);
      step++;
      const elapsed = (performance.now() - t0) / 1000;
      const line =
        `Train Epoch: ${epoch} [${seen}/${trainSet.length} (${((100 * step) / steps).toFixed(0)}%)]\tLoss: ${l.toFixed(6)}` +
        `  ${(seen / elapsed).toFixed(0)} img/s  ETA ${fmtTime((elapsed / step) * (steps - step))}`;
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      // the first batch too: its loss shows the initialisation (the notebook logs batch 0)
      if (step === 1 || step % interval === 0 || step === steps) {
        if (tty) process.stdout.write('\n');
        if (tty) appendFileSync(join(opts.outDir, 'log.txt'), line + '\n');
        else log(line);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const ev = evaluate(model, testSet, opts.testBatchSize);
    const accuracy = (100 * ev.correct) / ev.total;
    log(
      `\nTest set: Average loss: ${ev.loss.toFixed(4)}, Accuracy: ${ev.correct}/${ev.total} (${accuracy.toFixed(2)}%)\n`,
    );
    scheduler.step();
    history.push({
      epoch,
      trainLoss: lossSum / seen,
      testLoss: ev.loss,
      correct: ev.correct,
      total: ev.total,
      accuracy,
      lr,
      seconds,
      msPerStep: (1000 * seconds) / steps,
    });
    // Weights first under a new name, then the JSON that points at them: the JSON is the commit.
    const weights = `weights-epoch${epoch}.safetensors`;
    const optimizerBuffers = `optimizer-epoch${epoch}.safetensors`;
    save(model.stateDict(), join(opts.outDir, weights), {
      experiment: exp.name,
      epoch: String(epoch),
    });
    const [optimizerMeta, optimizerTensors] = splitOptimizerState(optimizer.stateDict());
    save(optimizerTensors, join(opts.outDir, optimizerBuffers), {
      experiment: exp.name,
      epoch: String(epoch),
    });
    const meta: CheckpointMeta = {
      experiment: exp.name,
      epoch,
      weights,
      optimizerBuffers,
      config: {
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        testBatchSize: opts.testBatchSize,
        lr: opts.lr,
        gamma: opts.gamma,
        seed: opts.seed,
      },
      optimizer: optimizerMeta,
      scheduler: scheduler.stateDict(),
      rng: { global: defaultGenerator.getState(), shuffle: shuffle.getState() },
      history,
    };
    writeFileAtomic(metaPath, JSON.stringify(meta));
    writeFileAtomic(join(opts.outDir, 'history.json'), JSON.stringify(history, null, 1) + '\n');
    for (const f of readdirSync(opts.outDir)) {
      const stale =
        (f.startsWith('weights-epoch') && f !== weights) ||
        (f.startsWith('optimizer-epoch') && f !== optimizerBuffers);
      if (stale) rmSync(join(opts.outDir, f));
    }
  }
  return history;
}
