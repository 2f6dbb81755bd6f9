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
import { trainedBaseline } from './common.ts';
import { alternateMs } from './conv2-grad.ts';

setNumThreads(Number(process.env.TH ?? 1));
const n = Number(process.env.N ?? 64);
const { m, images } = await trainedBaseline(n);
const x = noGrad(() => F.relu(m.conv1.forward(images)))._flat() as Float32Array;
const reps = Number(process.env.REPS ?? 41);
const bits = (a: Float32Array) => new Int32Array(a.buffer);

/** Medians of `run(y)` with the switch on and off, alternately; the two outputs' bits agree. */
function onOff(set: (on: boolean) => void, size: number, run: (y: Float32Array) => void) {
  const ys = { on: new Float32Array(size), off: new Float32Array(size) };
  let cur = ys.on;
  const t = alternateMs(
    (on) => {
      set(on);
      cur = on ? ys.on : ys.off;
    },
    () => run(cur),
    reps,
  );
  if (bits(ys.on).some((v, i) => v !== bits(ys.off)[i])) throw new Error('outputs differ');
  return `on ${t.on.toFixed(2)} ms, off ${t.off.toFixed(2)} ms, on/off ${(t.on / t.off).toFixed(3)}`;
}

const w1 = m.conv1.weight._flat() as Float32Array;
const b1 = m.conv1.bias!._flat() as Float32Array;
const p1 = conv2dParams([n, 1, 28, 28], [32, 1, 3, 3], {});
const c1 = onOff(setUniformSpans, n * 32 * 676, (y) =>
  conv2dReluPoolForward(y, images._flat() as Float32Array, w1, b1, p1, null),
);
console.log(`conv1 + ReLU of ${n} images, row spans: ${c1}`);

const w = m.conv2.weight._flat() as Float32Array;
const b = m.conv2.bias!._flat() as Float32Array;
const p = conv2dParams([n, 32, 26, 26], [64, 32, 3, 3], {});
const pool = maxPool2dParams([n, 64, 24, 24], 2, 2, 0, 1, false);
const r0 = uniformTileReuses();
const c2 = onOff(setUniformTileReuse, n * 64 * 144, (y) =>
  conv2dReluPoolForward(y, x, w, b, p, pool),
);
console.log(
  `conv2 + ReLU + pool of ${n} images, uniform tiles: ${c2};`,
  `tiles reused per image ${((uniformTileReuses() - r0) / (reps * n)).toFixed(2)} of 16`,
);
