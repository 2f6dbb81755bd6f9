/**
 * npm run evaluate -- --experiment NAME [--weights FILE.safetensors | --init FILE.safetensors]
 *   [--test-batch-size 1000]
 *   the experiment's model on the MNIST test set, in eval mode: with --weights, a trained run
 *   (e.g. docs/results/ps-tuned/model.safetensors); without, the model as the experiment builds it
 *   (for ps-tuned / q-tuned: the trained baseline just converted to shift layers, before any
 *   fine-tuning; --init converts another BaselineNet state dict). Prints the notebook's test line.
 */
import { parseArgs } from 'node:util';
import { manualSeed, nn } from '../src/index.ts';
import { getExperiment } from './lib/experiments.ts';
import { evaluate, loadMnist } from './lib/trainer.ts';

const { values } = parseArgs({
  options: {
    experiment: { type: 'string' },
    weights: { type: 'string' },
    init: { type: 'string' },
    'test-batch-size': { type: 'string', default: '1000' },
  },
});
if (!values.experiment) throw new Error('evaluate: --experiment NAME is required');
const batch = Number(values['test-batch-size']);
if (!Number.isInteger(batch) || batch < 1) {
  throw new Error(
    `evaluate: --test-batch-size must be a positive integer, got '${values['test-batch-size']}'`,
  );
}
manualSeed(1);
const exp = getExperiment(values.experiment);
if (values.init !== undefined && (values.weights || exp.init === undefined)) {
  throw new Error(
    values.weights
      ? 'evaluate: --init and --weights go separately (--weights loads a trained run as it is)'
      : `evaluate: --init: experiment '${exp.name}' does not start from trained weights`,
  );
}
const model = exp.model({ init: values.weights ? null : values.init });
if (values.weights) model.loadStateDict(nn.load(values.weights).tensors);
const { test } = await loadMnist();
const r = evaluate(model, test, batch);
console.log(
  `${exp.name}${values.weights ? ` (${values.weights})` : ' (as built, no training)'}: ` +
    `Test set: Average loss: ${r.loss.toFixed(4)}, Accuracy: ${r.correct}/${r.total} (${((100 * r.correct) / r.total).toFixed(2)}%)`,
);
process.exit(0);
