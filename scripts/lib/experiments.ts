/** The notebook's experiments: model, optimizer and schedule at the notebook's settings. */
import { BaselineNet } from '../../src/models/baseline.ts';
import { CrudeNet, PSNet } from '../../src/models/deepshift.ts';
import type { Module, Parameter } from '../../src/nn/index.ts';
import { Adadelta, SGD, type Optimizer } from '../../src/optim/index.ts';

export interface RunConfig {
  epochs: number;
  batchSize: number;
  testBatchSize: number;
  lr: number;
  gamma: number;
  seed: number;
}

export interface Experiment {
  name: string;
  title: string;
  /** Accuracy the notebook reports, in percent. */
  notebook: number;
  defaults: RunConfig;
  model(): Module;
  optimizer(params: Parameter[], cfg: RunConfig): Optimizer;
  /** Run by `npm start` (default true). */
  inMain?: boolean;
}

const notebookDefaults: RunConfig = {
  epochs: 5,
  batchSize: 64,
  testBatchSize: 1000,
  lr: 1.0,
  gamma: 0.7,
  seed: 1,
};

export const experiments: Record<string, Experiment> = {
  baseline: {
    name: 'baseline',
    title: 'Baseline CNN (Adadelta, lr 1.0, StepLR 0.7)',
    notebook: 99.04,
    defaults: notebookDefaults,
    model: () => new BaselineNet(),
    optimizer: (params, cfg) => new Adadelta(params, { lr: cfg.lr }),
  },
  'crude-q': {
    name: 'crude-q',
    title:
      'Crude DeepShift-Q (weights and biases rounded to ±2^k before every forward; SGD lr 0.1, momentum 0.9)',
    notebook: 96.14,
    defaults: { ...notebookDefaults, lr: 0.1 },
    model: () => new CrudeNet(),
    optimizer: (params, cfg) => new SGD(params, { lr: cfg.lr, momentum: 0.9 }),
  },
  ps: {
    name: 'ps',
    title: 'DeepShift-PS (LinearShift/Conv2dShift, 5-bit shifts, notebook init; Adadelta lr 1.0)',
    notebook: 94.8,
    defaults: notebookDefaults,
    model: () => new PSNet({ weightBits: 5 }),
    optimizer: (params, cfg) => new Adadelta(params, { lr: cfg.lr }),
  },
};

export function getExperiment(name: string): Experiment {
  const e = experiments[name];
  if (!e)
    throw new Error(`unknown experiment '${name}' (known: ${Object.keys(experiments).join(', ')})`);
  return e;
}
