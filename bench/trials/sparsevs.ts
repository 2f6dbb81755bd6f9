// conv2 backward on the trained net gradient: opt-in sparse scatter kernels vs Winograd with zero-tile lists, alternating.
import { BaselineNet } from '../../src/models/baseline.ts';
import * as F from '../../src/nn/functional.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { firstBatch, withWeights } from '../../bench/train-step.ts';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dParams,
} from '../../src/tensor/kernels/conv2d.ts';
import { setConvSparseBackward } from '../../src/tensor/kernels/conv2d.ts';
import { manualSeed } from '../../src/index.ts';
setNumThreads(Number(process.env.TH ?? 1));
const { model } = withWeights('baseline', () => new BaselineNet());
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
const gy = a2.grad!._flat() as Float32Array;
const x = a1._flat() as Float32Array;
const w = net.conv2.weight._flat() as Float32Array;
const p = conv2dParams([64, 32, 26, 26], [64, 32, 3, 3], {});
const gx = new Float32Array(x.length),
  gw = new Float32Array(w.length);
for (const [name, f] of [
  ['bwd-input', () => conv2dBackwardInput(gx, gy, w, p)],
  ['bwd-weight', () => conv2dBackwardWeight(gw, gy, x, p)],
] as const) {
  const T: Record<string, number[]> = { on: [], off: [] };
  for (let rep = 0; rep < 10; rep++)
    for (const on of rep % 2 ? [false, true] : [true, false]) {
      setConvSparseBackward(on);
      const t0 = performance.now();
      f();
      T[on ? 'on' : 'off']!.push(performance.now() - t0);
    }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  console.log(
    `${name}: sparse ${med(T.on!).toFixed(1)} ms, winograd+lists ${med(T.off!).toFixed(1)} ms, ratio ${(med(T.on!) / med(T.off!)).toFixed(3)}`,
  );
}
