// fc1 of the committed trained baseline on the first N test images' activations (default 64, as
// one evaluation slice), linearForward with and without the weight frozen (gemm.ts freezeWeight,
// as an inference plan runs it), alternately, TH threads (default 2). Checks the bits agree.
import { noGrad } from '../../src/index.ts';
import * as F from '../../src/nn/functional.ts';
import { freezeWeight, linearForward } from '../../src/tensor/kernels/gemm.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { trainedBaseline } from './common.ts';
import { alternateMs } from './conv2-grad.ts';

setNumThreads(Number(process.env.TH ?? 2));
const n = Number(process.env.N ?? 64);
const { m, images } = await trainedBaseline(n);
const x = noGrad(() => {
  const h = F.relu(m.conv2.forward(F.relu(m.conv1.forward(images))));
  return F.flatten(F.maxPool2d(h, 2), 1);
})._flat() as Float32Array;
const w = m.fc1.weight._flat() as Float32Array;
const b = m.fc1.bias!._flat() as Float32Array;
const frozen = freezeWeight(w, 128, 9216);
const ys = { on: new Float32Array(n * 128), off: new Float32Array(n * 128) };
let on = true;
const t = alternateMs(
  (o) => (on = o),
  () => linearForward(on ? ys.on : ys.off, x, w, b, n, 9216, 128, on ? frozen : null),
  Number(process.env.REPS ?? 41),
);
const bits = (a: Float32Array) => new Int32Array(a.buffer);
if (bits(ys.on).some((v, i) => v !== bits(ys.off)[i])) throw new Error('outputs differ');
console.log(
  `fc1 of ${n} images: frozen ${t.on.toFixed(2)} ms, not ${t.off.toFixed(2)} ms,`,
  `frozen/not ${(t.on / t.off).toFixed(3)}`,
);
