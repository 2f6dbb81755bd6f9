/** The notebook's experiments: model, optimizer and schedule at the notebook's settings. */
import { BaselineNet, ExampleNet } from '../../src/models/baseline.ts';
import { CrudeNet, PSNet } from '../../src/models/deepshift.ts';
import type { Module } from '../../src/nn/index.ts';
import { Adadelta, Adam, SGD, type Optimizer } from '../../src/optim/index.ts';
import { convertToShift } from '../../src/nn/convert.ts';
import { load } from '../../src/nn/serialization.ts';
import { existsSync } from 'node:fs';

export interface RunConfig {
  epochs: number;
  batchSize: number;
  testBatchSize: number;
  lr: number;
  gamma: number;
  seed: number;
}

export interface ModelOptions {
  init?: string | null;
}

export interface Experiment {
  name: string;
  title: string;
  /** Accuracy the notebook reports, in percent. */
  notebook: number;
  defaults: RunConfig;
  /**
   * The network. Experiments that start from trained weights (ps-tuned, q-tuned) convert the
   * file `init` (default: the experiment's `init`); `init: null` builds the same architecture
   * from a freshly initialised network, for callers that load trained weights afterwards.
   */
  model(opts?: ModelOptions): Module;
  /** Weights file (BaselineNet state dict) the model is converted from; `--init` overrides. */
  init?: string;
  optimizer(model: Module, cfg: RunConfig): Optimizer;
  /**
   * Random translation of every training batch (torchvision's RandomAffine(0, translate)), for
   * recipes beyond the notebook's; the notebook's experiments train on the images as they are.
   */
  augment?: { translate: [number, number] };
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
    optimizer: (model, cfg) => new Adadelta(model.parameters(), { lr: cfg.lr }),
  },
  'crude-q': {
    name: 'crude-q',
    title:
      'Crude DeepShift-Q (weights and biases rounded to ±2^k before every forward; SGD lr 0.1, momentum 0.9)',
    notebook: 96.14,
    defaults: { ...notebookDefaults, lr: 0.1 },
    model: () => new CrudeNet(),
    optimizer: (model, cfg) => new SGD(model.parameters(), { lr: cfg.lr, momentum: 0.9 }),
  },
  'baseline-long': {
    name: 'baseline-long',
    title: 'Baseline CNN, 14 epochs (the PyTorch MNIST example: Adadelta, lr 1.0, StepLR 0.7)',
    notebook: 99.04,
    defaults: { ...notebookDefaults, epochs: 14 },
    model: () => new BaselineNet(),
    optimizer: (model, cfg) => new Adadelta(model.parameters(), { lr: cfg.lr }),
    inMain: false,
  },
  example: {
    name: 'example',
    title:
      'PyTorch MNIST example (the baseline net with Dropout instead of Dropout2d, Adadelta lr 1.0, StepLR 0.7, 14 epochs)',
    notebook: 99.04,
    defaults: { ...notebookDefaults, epochs: 14 },
    model: () => new ExampleNet(),
    optimizer: (model, cfg) => new Adadelta(model.parameters(), { lr: cfg.lr }),
    inMain: false,
  },
  ps: {
    name: 'ps',
    title: 'DeepShift-PS (LinearShift/Conv2dShift, 5-bit shifts, notebook init; Adadelta lr 1.0)',
    notebook: 94.8,
    defaults: notebookDefaults,
    model: () => new PSNet({ weightBits: 5 }),
    optimizer: (model, cfg) => new Adadelta(model.parameters(), { lr: cfg.lr }),
  },
};

/** Experiment 1's trained weights (written by `npm run report -- runs/baseline`). */
export const BASELINE_WEIGHTS = 'docs/results/baseline/model.safetensors';

/**
 * A BaselineNet converted to DeepShift layers: with the weights of `init` (a BaselineNet state
 * dict: a trained baseline, or a DeepShift-Q run, whose float weights have the same names), or
 * freshly initialised when `init` is null (architecture only).
 */
export function convertedBaseline(shiftType: 'PS' | 'Q', init: string | null): Module {
  return convertToShift(trainedBaseline(init), { shiftType, weightBits: 5 }).model;
}

/** A BaselineNet with the weights of `init` (see convertedBaseline), or fresh when null. */
export function trainedBaseline(init: string | null): BaselineNet {
  const model = new BaselineNet();
  if (init !== null) {
    if (!existsSync(init)) {
      throw new Error(
        init === BASELINE_WEIGHTS
          ? `${init} is missing: train the baseline first (npm run train -- --experiment baseline; npm run report -- runs/baseline)`
          : `--init ${init}: no such file`,
      );
    }
    model.loadStateDict(load(init).tensors);
  }
  return model;
}

/**
 * A network started from trained weights (converted to DeepShift layers, or kept float) and
 * fine-tuned with Adam, by default for 3 epochs.
 */
function tunedExperiment(
  name: string,
  shiftType: 'PS' | 'Q' | 'float',
  init: string,
  lr: number,
  title: string,
  notebook: number,
  augment?: Experiment['augment'],
  epochs = 3,
): Experiment {
  const build = (file: string | null): Module =>
    shiftType === 'float' ? trainedBaseline(file) : convertedBaseline(shiftType, file);
  return {
    name,
    title,
    notebook,
    // Fine-tuning a trained network: three epochs (lr, 0.7·lr, 0.49·lr) instead of five.
    defaults: { ...notebookDefaults, epochs, lr },
    init,
    model: (o) => build(o?.init === undefined ? init : o.init),
    optimizer: (model, cfg) => new Adam(model.parameters(), { lr: cfg.lr }),
    augment,
    inMain: false,
  };
}

experiments['ps-tuned'] = tunedExperiment(
  'ps-tuned',
  'PS',
  BASELINE_WEIGHTS,
  1e-3,
  'DeepShift-PS from the trained baseline (P = round(log2|W|), S = sign(W)), 5-bit shifts, Adam lr 1e-3',
  94.8,
);

// Q keeps float weights (fc1's are ~0.01): Adam's ~lr-sized steps at 1e-3 would be 10 % moves.
experiments['q-tuned'] = tunedExperiment(
  'q-tuned',
  'Q',
  BASELINE_WEIGHTS,
  3e-4,
  'DeepShift-Q from the trained baseline (weights rounded to ±2^k in every forward, STE), 5-bit shifts, Adam lr 3e-4',
  96.14,
);

/** torchvision's RandomAffine(degrees=0, translate=(0.1, 0.1)): shifts of up to ±3 pixels. */
const TRANSLATE: Experiment['augment'] = { translate: [0.1, 0.1] };

experiments['q-tuned-aug'] = tunedExperiment(
  'q-tuned-aug',
  'Q',
  BASELINE_WEIGHTS,
  3e-4,
  'DeepShift-Q from the trained baseline, 5-bit shifts, Adam lr 3e-4, training images shifted by up to ±3 pixels',
  96.14,
  TRANSLATE,
);

// A stronger float start for the DeepShift fine-tunes: the baseline trained on, with translations.
experiments['baseline-aug'] = tunedExperiment(
  'baseline-aug',
  'float',
  BASELINE_WEIGHTS,
  3e-4,
  'Baseline CNN from the trained baseline, Adam lr 3e-4, 5 more epochs on images shifted by up to ±3 pixels',
  99.04,
  TRANSLATE,
  5,
);

export function getExperiment(name: string): Experiment {
  const e = experiments[name];
  if (!e)
    throw new Error(`unknown experiment '${name}' (known: ${Object.keys(experiments).join(', ')})`);
  return e;
}
