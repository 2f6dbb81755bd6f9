// The shortcuts for uniform windows, on and off alternately, on the first N test images (default
// 64) with the committed trained baseline's weights, TH threads (default 1: the switches and the
// counter are per thread), as `evaluate` runs the layers (conv2dReluPoolForward):
//   - conv1 + ReLU, with and without the row spans of background windows (conv2d.ts
//     setUniformSpans);
//   - conv2 + ReLU + max-pool on conv1's output, with and without F(6×6)'s reuse of uniform tiles
//     (winograd6.ts setUniformTileReuse), and the share of conv2's tiles reused.
// Checks that each pair of outputs agrees bit for bit.
import { noGrad } from '../../src/index.ts';
import * as F from '../../src/nn/functional.ts';
import {
  conv2dParams,
  conv2dReluPoolForward,
  setUniformSpans,
} from '../../src/tensor/kernels/conv2d.ts';
import { maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { setUniformTileReuse, uniformTileReuses } from '../../src/tensor/kernels/winograd6.ts';
import { alternateOutputs, trainedBaseline } from './common.ts';

setNumThreads(Number(process.env.TH ?? 1));
const n = Number(process.env.N ?? 64);
const { m, images } = await trainedBaseline(n);
const x = noGrad(() => F.relu(m.conv1.forward(images)))._flat() as Float32Array;
const reps = Number(process.env.REPS ?? 41);
const w1 = m.conv1.weight._flat() as Float32Array;
const b1 = m.conv1.bias!._flat() as Float32Array;
const p1 = conv2dParams([n, 1, 28, 28], [32, 1, 3, 3], {});
const c1 = alternateOutputs(
  n * 32 * 676,
  (y, on) => {
    setUniformSpans(on);
    conv2dReluPoolForward(y, images._flat() as Float32Array, w1, b1, p1, null);
  },
  reps,
);
console.log(`conv1 + ReLU of ${n} images, row spans: ${c1}`);

const w = m.conv2.weight._flat() as Float32Array;
const b = m.conv2.bias!._flat() as Float32Array;
const p = conv2dParams([n, 32, 26, 26], [64, 32, 3, 3], {});
const pool = maxPool2dParams([n, 64, 24, 24], 2, 2, 0, 1, false);
const r0 = uniformTileReuses();
const c2 = alternateOutputs(
  n * 64 * 144,
  (y, on) => {
    setUniformTileReuse(on);
    conv2dReluPoolForward(y, x, w, b, p, pool);
  },
  reps,
);
console.log(
  `conv2 + ReLU + pool of ${n} images, uniform tiles: ${c2};`,
  `tiles reused per image ${((uniformTileReuses() - r0) / (reps * n)).toFixed(2)} of 16`,
);
