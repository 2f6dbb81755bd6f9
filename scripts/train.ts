/**
 * npm run train -- --experiment baseline [--epochs 5 --batch-size 64 --test-batch-size 1000
 *   --lr 1.0 --gamma 0.7 --seed 1 --train-limit N --test-limit N --out runs/NAME --resume
 *   --init WEIGHTS.safetensors (ps-tuned / q-tuned: the BaselineNet weights to convert)
 *   --use-kernel (shift experiments: forward through the integer shift kernels in training)]
 */
import { parseArgs } from 'node:util';
import { getExperiment } from './lib/experiments.ts';
import { train } from './lib/trainer.ts';

const { values } = parseArgs({
  options: {
    experiment: { type: 'string', default: 'baseline' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'test-batch-size': { type: 'string' },
    lr: { type: 'string' },
    gamma: { type: 'string' },
    seed: { type: 'string' },
    'train-limit': { type: 'string' },
    'test-limit': { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean', default: false },
    init: { type: 'string' },
    'use-kernel': { type: 'boolean', default: false },
    'log-interval': { type: 'string' },
  },
});

function num(name: string, v: string | undefined, fallback: number): number;
function num(name: string, v: string | undefined): number | undefined;
function num(name: string, v: string | undefined, fallback?: number): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, got '${v}'`);
  return n;
}

const exp = getExperiment(values.experiment!);
const d = exp.defaults;
await train(exp, {
  epochs: num('epochs', values.epochs, d.epochs),
  batchSize: num('batch-size', values['batch-size'], d.batchSize),
  testBatchSize: num('test-batch-size', values['test-batch-size'], d.testBatchSize),
  lr: num('lr', values.lr, d.lr),
  gamma: num('gamma', values.gamma, d.gamma),
  seed: num('seed', values.seed, d.seed),
  trainLimit: num('train-limit', values['train-limit']),
  testLimit: num('test-limit', values['test-limit']),
  outDir: values.out ?? `runs/${exp.name}`,
  resume: values.resume,
  init: values.init,
  useKernel: values['use-kernel'],
  logInterval: num('log-interval', values['log-interval']),
});
