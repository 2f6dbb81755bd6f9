// Share of conv1's ReLU output 8×8 tiles (F(6×6) input tiles of conv2) that are all zero, per channel; and of 4-tile panels.
import { BaselineNet } from '../../src/models/baseline.ts';
import * as F from '../../src/nn/functional.ts';
import { Tensor } from '../../src/index.ts';
import { withWeights } from '../../bench/train-step.ts';
import { loadMnist } from '../../scripts/lib/trainer.ts';
import { noGrad } from '../../src/autograd/grad-mode.ts';
const { model } = withWeights('baseline', () => new BaselineNet());
const net = model as BaselineNet;
const { test } = await loadMnist();
const N = 256;
const xs = Tensor.fromData(test.data.slice(0, N * 784), [N, 1, 28, 28]);
net.eval();
const a = noGrad(() => F.relu(net.conv1.forward(xs)))._flat() as Float32Array;
let z = 0,
  tot = 0,
  pz = 0,
  pt = 0;
for (let n = 0; n < N; n++)
  for (let c = 0; c < 32; c++) {
    const flags: boolean[] = [];
    for (let ty = 0; ty < 4; ty++)
      for (let tx = 0; tx < 4; tx++) {
        let zero = true;
        for (let r = 0; r < 8 && zero; r++)
          for (let q = 0; q < 8; q++)
            if (a[((n * 32 + c) * 26 + 6 * ty + r) * 26 + 6 * tx + q] !== 0) {
              zero = false;
              break;
            }
        flags.push(zero);
        z += +zero;
        tot++;
      }
    for (let t = 0; t < 16; t += 4) {
      pz += +(flags[t]! && flags[t + 1]! && flags[t + 2]! && flags[t + 3]!);
      pt++;
    }
  }
console.log('zero 8x8 tiles', (z / tot).toFixed(3), 'zero 4-tile panels', (pz / pt).toFixed(3));
