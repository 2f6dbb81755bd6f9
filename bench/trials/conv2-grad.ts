// Shared by the trials: conv2's input, weight and output gradient on the first MNIST training
// batch (64 images, train mode, seed 0), with the committed trained baseline's weights, or fresh
// ones (`fresh`); and the median of alternating timings.
import { BaselineNet } from '../../src/models/baseline.ts';
import * as F from '../../src/nn/functional.ts';
import { conv2dParams, type Conv2dParams } from '../../src/tensor/kernels/conv2d.ts';
import { firstBatch, withWeights } from '../train-step.ts';
import { manualSeed } from '../../src/index.ts';

export interface Conv2Grad {
  x: Float32Array; // conv2's input, ReLU(conv1) [64, 32, 26, 26]
  w: Float32Array; // conv2's weight [64, 32, 3, 3]
  gy: Float32Array; // ∂loss/∂conv2's output [64, 64, 24, 24]
  p: Conv2dParams;
}

export async function conv2Grad(fresh = false): Promise<Conv2Grad> {
  const { model } = withWeights(fresh ? 'none' : 'baseline', () => new BaselineNet());
  const net = model as BaselineNet;
  const b = await firstBatch();
  manualSeed(0);
  net.train();
  const a1 = F.relu(net.conv1.forward(b.x)).detach();
  const a2 = net.conv2.forward(a1);
  a2.retainGrad();
  let h = F.relu(a2);
  h = F.maxPool2d(h, 2);
  h = net.dropout1.forward(h);
  h = F.flatten(h, 1);
  h = net.fc1.forward(h);
  h = F.relu(h);
  h = net.dropout2.forward(h);
  h = net.fc2.forward(h);
  F.nllLoss(F.logSoftmax(h, 1), b.y).backward();
  return {
    x: a1._flat() as Float32Array,
    w: net.conv2.weight._flat() as Float32Array,
    gy: a2.grad!._flat() as Float32Array,
    p: conv2dParams([64, 32, 26, 26], [64, 32, 3, 3], {}),
  };
}

/**
 * Median ms of `run` with `set(true)` and with `set(false)`, `reps` pairs run alternately (the
 * order flips each pair); `check` sees every result after each run (e.g. to compare bits).
 */
export function alternateMs(
  set: (on: boolean) => void,
  run: () => void,
  reps: number,
  check: () => void = () => {},
): { on: number; off: number } {
  const T: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (let r = 0; r < reps; r++) {
    for (const on of r % 2 ? [false, true] : [true, false]) {
      set(on);
      const t0 = performance.now();
      run();
      T[on ? 'on' : 'off'].push(performance.now() - t0);
      check();
    }
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  return { on: med(T.on), off: med(T.off) };
}
