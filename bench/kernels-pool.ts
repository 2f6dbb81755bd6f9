/** Max-pool, log-softmax and ReLU kernels at the baseline net's shapes (batch 64), tuned vs naive. */
import {
  maxPool2dBackward,
  maxPool2dForward,
  maxPool2dForwardNaive,
  maxPool2dParams,
} from '../src/tensor/kernels/pool.ts';
import { reluBackward, reluForward } from '../src/tensor/kernels/elementwise.ts';
import { medianMs, randomArray } from './util.ts';

export async function benchPool(): Promise<object[]> {
  const p = maxPool2dParams([64, 64, 24, 24], 2);
  const x = randomArray(64 * 64 * 24 * 24, 1);
  const y = new Float32Array(64 * 64 * 12 * 12);
  const idx = new Int32Array(y.length);
  const gx = new Float32Array(x.length);
  const relu = randomArray(64 * 64 * 24 * 24, 2);
  const rows = [
    {
      kernel: 'maxPool2d fwd 64×64×24×24 k2',
      tunedMs: medianMs(() => maxPool2dForward(y, idx, x, p)),
      naiveMs: medianMs(() => maxPool2dForwardNaive(y, idx, x, p)),
    },
    {
      kernel: 'maxPool2d bwd',
      tunedMs: medianMs(() => maxPool2dBackward(gx, y, idx, p)),
      naiveMs: NaN,
    },
    {
      kernel: 'relu fwd 64×64×24×24',
      tunedMs: medianMs(() => reluForward(gx, relu, relu.length)),
      naiveMs: NaN,
    },
    {
      kernel: 'relu bwd',
      tunedMs: medianMs(() => reluBackward(gx, x, relu, relu.length)),
      naiveMs: NaN,
    },
  ];
  return rows.map((r) => ({
    ...r,
    tunedMs: +r.tunedMs.toFixed(3),
    naiveMs: +r.naiveMs.toFixed(3),
  }));
}
