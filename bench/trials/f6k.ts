// conv2 + ReLU + max-pool fused inference forward (F(6×6)) on real conv1 activations: asm.js transforms on / off, alternating.
import { BaselineNet } from '../../src/models/baseline.ts';
import * as F from '../../src/nn/functional.ts';
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import { firstBatch, withWeights } from '../../bench/train-step.ts';
import { conv2dParams, conv2dReluPoolForward } from '../../src/tensor/kernels/conv2d.ts';
import { maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import { setTransformsAsm } from '../../src/tensor/kernels/winograd6.ts';
import { noGrad } from '../../src/autograd/grad-mode.ts';
setNumThreads(1);
const { model } = withWeights('baseline', () => new BaselineNet());
const net = model as BaselineNet;
const b = await firstBatch();
const x = noGrad(() => F.relu(net.conv1.forward(b.x)))._flat() as Float32Array;
const w = net.conv2.weight._flat() as Float32Array;
const bias = net.conv2.bias!._flat() as Float32Array;
const p = conv2dParams([64, 32, 26, 26], [64, 32, 3, 3], {});
const pool = maxPool2dParams([64, 64, 24, 24], 2, 2, 0, 1, false);
const y = new Float32Array(64 * 64 * 144);
const T: Record<string, number[]> = { on: [], off: [] };
for (let r = 0; r < 16; r++)
  for (const on of r % 2 ? [false, true] : [true, false]) {
    setTransformsAsm(on);
    const t0 = performance.now();
    conv2dReluPoolForward(y, x, w, bias, p, pool);
    T[on ? 'on' : 'off']!.push(performance.now() - t0);
  }
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
console.log(
  `F(6×6) pooled forward, 64 images: asm transforms ${med(T.on!).toFixed(1)} ms, JS ${med(T.off!).toFixed(1)} ms, ratio ${(med(T.on!) / med(T.off!)).toFixed(3)}`,
);
