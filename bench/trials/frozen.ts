// The inference plan's frozen weights against the per-call preparation, alternately, on the first
// N test images (default 64, as one evaluation slice) through the committed trained baseline, TH
// threads (default 2); checks the bits agree:
//   - fc1: linearForward with and without the weight frozen (gemm.ts freezeWeight);
//   - conv2 + ReLU + max-pool on conv1's output: conv2dReluPoolForward with and without the
//     weight frozen (conv2d.ts freezeConvWeight: F(6×6)'s U made once).
// "on" is frozen, "off" the per-call preparation.
import { noGrad } from '../../src/index.ts';
import * as F from '../../src/nn/functional.ts';
import {
  conv2dParams,
  conv2dReluPoolForward,
  freezeConvWeight,
} from '../../src/tensor/kernels/conv2d.ts';
import { freezeWeight, linearForward } from '../../src/tensor/kernels/gemm.ts';
import { maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { alternateOutputs, trainedBaseline } from './common.ts';

setNumThreads(Number(process.env.TH ?? 2));
const n = Number(process.env.N ?? 64);
const { m, images } = await trainedBaseline(n);
const reps = Number(process.env.REPS ?? 41);
const f = (t: { _flat(): unknown }) => t._flat() as Float32Array;
const h1 = noGrad(() => F.relu(m.conv1.forward(images)));
const a1 = f(h1);
const w2 = f(m.conv2.weight);
const b2 = f(m.conv2.bias!);
const p2 = conv2dParams([n, 32, 26, 26], [64, 32, 3, 3], {});
const pool = maxPool2dParams([n, 64, 24, 24], 2, 2, 0, 1, false);
const c2 = freezeConvWeight(w2, p2);
const conv = alternateOutputs(
  n * 64 * 144,
  (y, on) => conv2dReluPoolForward(y, a1, w2, b2, p2, pool, on ? c2 : null),
  reps,
);
console.log(`conv2 + ReLU + pool of ${n} images: ${conv}`);

const x = f(noGrad(() => F.flatten(F.maxPool2d(F.relu(m.conv2.forward(h1)), 2), 1)));
const w = f(m.fc1.weight);
const b = f(m.fc1.bias!);
const fc1 = freezeWeight(w, 128, 9216);
const lin = alternateOutputs(
  n * 128,
  (y, on) => linearForward(y, x, w, b, n, 9216, 128, on ? fc1 : null),
  reps,
);
console.log(`fc1 of ${n} images: ${lin}`);
