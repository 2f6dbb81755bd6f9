// The asm.js micro-kernels against the plain-JavaScript ones (`SHIFTGRAD_ASM=0`), kernel by kernel
// at the MNIST net's shapes (batch 64, float32), on the caller's thread. The two run alternately
// (on/off, then off/on), so drift of the machine's speed falls on both; the table gives each side's
// median and their ratio. The last rows time whole jobs the same way: a baseline training step
// (committed trained weights, the first 64 MNIST training images) and the evaluation of 2,000 test
// images. Run: npm run bench -- asm

import { setAsm, asmOn } from '../src/tensor/kernels/asm.ts';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dParams,
  conv2dReluPoolForward,
  setConvWinograd6,
} from '../src/tensor/kernels/conv2d.ts';
import { linearBackward, linearForward } from '../src/tensor/kernels/gemm.ts';
import { getNumThreads, setNumThreads } from '../src/tensor/kernels/parallel.ts';
import { randomArray as rand } from './util.ts';
import { firstBatch, withWeights } from './train-step.ts';
import { BaselineNet } from '../src/models/baseline.ts';
import * as F from '../src/nn/functional.ts';
import { Adadelta } from '../src/optim/index.ts';
import type { Tensor } from '../src/index.ts';
import { evaluate, loadMnist } from '../scripts/lib/trainer.ts';

export interface AsmBenchRow {
  kernel: string;
  mflop: number;
  asmMs: number;
  asmGflops: number;
  jsMs: number;
  jsGflops: number;
  asmOverJs: number;
}

const BATCH = 64;
const REPS = 9;

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

export async function benchAsm(): Promise<AsmBenchRow[]> {
  const threads = getNumThreads();
  const asmBefore = asmOn;
  setNumThreads(1);
  const p = conv2dParams([BATCH, 32, 26, 26], [64, 32, 3, 3], {});
  const x = rand(BATCH * 32 * 26 * 26, 1);
  const w = rand(64 * 32 * 9, 2);
  const b = rand(64, 3);
  const y = new Float32Array(BATCH * 64 * 24 * 24);
  const gy = rand(y.length, 4);
  const gx = new Float32Array(x.length);
  const gw = new Float32Array(w.length);
  const fx = rand(BATCH * 9216, 5);
  const fw = rand(128 * 9216, 6);
  const fb = rand(128, 7);
  const fy = new Float32Array(BATCH * 128);
  const fgy = rand(BATCH * 128, 8);
  const fgx = new Float32Array(fx.length);
  const fgw = new Float32Array(fw.length);
  const fgb = new Float32Array(128);
  // fc1's input after ReLU, max-pool and dropout is mostly zeros (the sparse-input product)
  const sx = fx.map((v, i) => (i % 7 === 0 ? v : 0));
  const p1 = conv2dParams([BATCH, 1, 28, 28], [32, 1, 3, 3], {});
  const x1 = rand(BATCH * 28 * 28, 9);
  const w1 = rand(32 * 9, 10);
  const b1 = rand(32, 11);
  const y1 = new Float32Array(BATCH * 32 * 26 * 26);
  const conv = (2 * BATCH * 64 * 24 * 24 * 32 * 9) / 1e6;
  const fc = (2 * BATCH * 9216 * 128) / 1e6;
  const inference4 = () => {
    setConvWinograd6(false);
    conv2dForward(y, x, w, b, p, true);
    setConvWinograd6(true);
  };
  const cases: [string, number, () => void][] = [
    ['conv2 fwd (Winograd F(4×4), training)', conv, () => conv2dForward(y, x, w, b, p)],
    ['conv2 fwd, inference (F(6×6))', conv, () => conv2dForward(y, x, w, b, p, true)],
    ['conv2 fwd, inference on F(4×4)', conv, inference4],
    ['conv2 bwd-input', conv, () => conv2dBackwardInput(gx, gy, w, p)],
    ['conv2 bwd-weight', conv, () => conv2dBackwardWeight(gw, gy, x, p)],
    ['fc1 fwd, dense input', fc, () => linearForward(fy, fx, fw, fb, BATCH, 9216, 128)],
    [
      'fc1 fwd, sparse input (1 in 7 non-zero; multiply-adds done)',
      fc / 7,
      () => linearForward(fy, sx, fw, fb, BATCH, 9216, 128),
    ],
    [
      'conv1 fwd (direct 3×3, 1 channel)',
      (2 * BATCH * 32 * 26 * 26 * 9) / 1e6,
      () => conv2dForward(y1, x1, w1, b1, p1),
    ],
    [
      'conv1 fwd + ReLU (inference plan, fused)',
      (2 * BATCH * 32 * 26 * 26 * 9) / 1e6,
      () => conv2dReluPoolForward(y1, x1, w1, b1, p1, null),
    ],
    [
      'fc1 bwd (gx+gw+gb), dense input',
      2 * fc,
      () => linearBackward(fgx, fgw, fgb, fgy, fx, fw, BATCH, 9216, 128),
    ],
  ];
  // whole jobs (mflop 0: not counted)
  const { model } = withWeights('baseline', () => new BaselineNet());
  const batch = await firstBatch();
  const opt = new Adadelta(model.parameters(), { lr: 1.0 });
  const step = () => {
    model.train();
    opt.zeroGrad();
    F.nllLoss(model.forward(batch.x) as Tensor, batch.y).backward();
    opt.step();
  };
  const testSet = (await loadMnist()).test.subset(2000);
  cases.push(['baseline training step', 0, step]);
  cases.push(['evaluate 2,000 test images (baseline)', 0, () => evaluate(model, testSet, 1000)]);
  const rows: AsmBenchRow[] = [];
  try {
    for (const [kernel, mflop, run] of cases) {
      const on: number[] = [];
      const off: number[] = [];
      for (const mode of [true, false]) {
        setAsm(mode);
        run(); // warm-up
      }
      for (let r = 0; r < REPS; r++) {
        for (const mode of r % 2 ? [false, true] : [true, false]) {
          setAsm(mode);
          const t0 = performance.now();
          run();
          (mode ? on : off).push(performance.now() - t0);
        }
      }
      const asmMs = median(on);
      const jsMs = median(off);
      rows.push({
        kernel,
        mflop: Math.round(mflop),
        asmMs: +asmMs.toFixed(2),
        asmGflops: mflop ? +(mflop / asmMs).toFixed(2) : 0,
        jsMs: +jsMs.toFixed(2),
        jsGflops: mflop ? +(mflop / jsMs).toFixed(2) : 0,
        asmOverJs: +(asmMs / jsMs).toFixed(3),
      });
    }
  } finally {
    setAsm(asmBefore);
    setNumThreads(threads);
  }
  return rows;
}
