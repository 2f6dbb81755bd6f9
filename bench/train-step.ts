/** One training step of the baseline net at batch 64 (forward + backward + Adadelta), median ms. */
import { manualSeed, randn, randint } from '../src/index.ts';
import { BaselineNet } from '../src/models/baseline.ts';
import { nllLoss } from '../src/nn/functional.ts';
import { Adadelta } from '../src/optim/index.ts';
import { medianMs } from './util.ts';

export async function benchTrainStep(): Promise<object[]> {
  manualSeed(0);
  const model = new BaselineNet();
  const opt = new Adadelta(model.parameters(), { lr: 1.0 });
  const x = randn([64, 1, 28, 28]);
  const y = randint(0, 10, [64]);
  const step = () => {
    opt.zeroGrad();
    nllLoss(model.forward(x), y).backward();
    opt.step();
  };
  const ms = medianMs(step, 7, 2);
  return [
    {
      net: 'baseline',
      batch: 64,
      stepMs: +ms.toFixed(1),
      imagesPerSecond: +((64 * 1000) / ms).toFixed(0),
    },
  ];
}
