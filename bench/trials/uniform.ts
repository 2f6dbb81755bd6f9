// F(6×6)'s reuse of uniform tiles (winograd6.ts setUniformTileReuse), on and off alternately:
// conv2 + ReLU + max-pool (conv2dReluPoolForward, as `evaluate` runs it) on the first N test
// images (default 64) through the committed trained baseline's conv1 + ReLU, TH threads (default
// 1: the switch and the counter are per thread). Checks the outputs' bits agree and prints the
// share of conv2's tiles reused.
import { manualSeed, noGrad, Tensor } from '../../src/index.ts';
import * as F from '../../src/nn/functional.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { load } from '../../src/nn/serialization.ts';
import { conv2dParams, conv2dReluPoolForward } from '../../src/tensor/kernels/conv2d.ts';
import { maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { setUniformTileReuse, uniformTileReuses } from '../../src/tensor/kernels/winograd6.ts';
import { loadMnist } from '../../scripts/lib/trainer.ts';
import { alternateMs } from './conv2-grad.ts';

setNumThreads(Number(process.env.TH ?? 1));
const { test } = await loadMnist();
manualSeed(0);
const m = new BaselineNet();
m.loadStateDict(load('docs/results/baseline/model.safetensors').tensors);
m.eval();
const n = Number(process.env.N ?? 64);
const images = Tensor.fromData(test.data.slice(0, n * 784), [n, 1, 28, 28]);
const x = noGrad(() => F.relu(m.conv1.forward(images)))._flat() as Float32Array;
const w = m.conv2.weight._flat() as Float32Array;
const b = m.conv2.bias!._flat() as Float32Array;
const p = conv2dParams([n, 32, 26, 26], [64, 32, 3, 3], {});
const pool = maxPool2dParams([n, 64, 24, 24], 2, 2, 0, 1, false);
const ys = { on: new Float32Array(n * 64 * 144), off: new Float32Array(n * 64 * 144) };
let cur = ys.on;
const reps = Number(process.env.REPS ?? 41);
const r0 = uniformTileReuses();
const t = alternateMs(
  (on) => {
    setUniformTileReuse(on);
    cur = on ? ys.on : ys.off;
  },
  () => conv2dReluPoolForward(cur, x, w, b, p, pool),
  reps,
);
const bits = (a: Float32Array) => new Int32Array(a.buffer);
if (bits(ys.on).some((v, i) => v !== bits(ys.off)[i])) throw new Error('outputs differ');
console.log(
  `conv2 + ReLU + pool of ${n} images: reuse on ${t.on.toFixed(2)} ms, off ${t.off.toFixed(2)} ms,`,
  `on/off ${(t.on / t.off).toFixed(3)}; tiles reused per image`,
  `${((uniformTileReuses() - r0) / (reps * n)).toFixed(2)} of 16`,
);
