/**
 * Shift vs multiply benchmark (`npm run bench -- shift`; re-run on a quiet machine with
 * `taskset -c 0 npm run bench -- shift`). Single thread for every kernel.
 *   multiply: our best float32 kernels (linearForward: packed GEMM; conv2dForward: Winograd for
 *             conv2, im2col + GEMM for conv1), weights already float;
 *   shift:    shiftLinear / shiftConv2d on Int32 Q16.16 inputs, weights already planned (the
 *             grouped index lists), bias in fixed point;
 *   naive:    the per-element shift references (shiftLinearNaive / shiftConv2dNaive), measured on
 *             min(batch, 2) images and scaled to the batch.
 * GOP/s counts 2 ops per multiply-accumulate of the dense layer for both (so they compare), and
 * `weight bytes` what one call reads of the weight: float32 values vs the plan's Int32 index
 * lists + group tables. Weights: sign ±1, shift = clamp(round(log2|u|), −14, 0) with u from the
 * layer's default init U(±1/√fanIn), as convertToShift makes them from a fresh BaselineNet
 * (no zero weights); the `50 % zeros` rows zero half the signs, as a fresh PSNet has.
 * Last row: one PSNet training step (batch 64, Adadelta) with useKernel off (multiplyMs) and on
 * (shiftMs): integer forward of every shift layer, float backward.
 */
import { conv2dForward, conv2dParams } from '../src/tensor/kernels/conv2d.ts';
import { linearForward } from '../src/tensor/kernels/gemm.ts';
import { getNumThreads, setNumThreads } from '../src/tensor/kernels/parallel.ts';
import {
  shiftConv2d,
  shiftConv2dNaive,
  shiftLinear,
  shiftLinearNaive,
  shiftPlan,
  shiftPlanBytes,
  toFixedPoint,
  type ShiftCodes,
} from '../src/tensor/kernels/shift.ts';
import { manualSeed, randint, randn } from '../src/index.ts';
import { PSNet } from '../src/models/deepshift.ts';
import * as F from '../src/nn/functional.ts';
import { Adadelta } from '../src/optim/index.ts';
import { medianMs, randomArray } from './util.ts';

export interface ShiftBenchRow {
  case: string;
  batch: number;
  mmac: number;
  multiplyMs: number;
  shiftMs: number;
  naiveMs: number | null;
  multiplyGops: number;
  shiftGops: number;
  'shift/multiply': number;
  multiplyWeightBytes: number;
  shiftWeightBytes: number;
}

function codes(n: number, fanIn: number, seed: number, zeroFrac = 0): ShiftCodes {
  const u = randomArray(n, seed); // [−0.5, 0.5)
  const z = randomArray(n, seed + 99);
  const sign = new Int8Array(n);
  const shift = new Int8Array(n);
  const bound = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < n; i++) {
    const v = 2 * u[i]! * bound;
    const k = Math.round(Math.log2(Math.abs(v)));
    shift[i] = Math.max(-14, Math.min(0, Number.isFinite(k) ? k : -14));
    sign[i] = z[i]! + 0.5 < zeroFrac ? 0 : v < 0 ? -1 : 1;
  }
  return { sign, shift };
}

const toFloat = (c: ShiftCodes): Float32Array =>
  Float32Array.from(c.sign, (s, i) => s * 2 ** c.shift[i]!);

function fixed(x: Float32Array, scale: number): Int32Array {
  const q = new Int32Array(x.length);
  const s = Float32Array.from(x, (v) => v * scale);
  toFixedPoint(q, s, q.length);
  return q;
}

const tick = () => new Promise((r) => setImmediate(r));

function row(
  name: string,
  batch: number,
  macs: number,
  mul: number,
  sh: number,
  naive: number | null,
  wFloat: number,
  wShift: number,
): ShiftBenchRow {
  return {
    case: name,
    batch,
    mmac: +(macs / 1e6).toFixed(2),
    multiplyMs: +mul.toFixed(3),
    shiftMs: +sh.toFixed(3),
    naiveMs: naive === null ? null : +naive.toFixed(1),
    multiplyGops: +((2 * macs) / mul / 1e6).toFixed(2),
    shiftGops: +((2 * macs) / sh / 1e6).toFixed(2),
    'shift/multiply': +(sh / mul).toFixed(2),
    multiplyWeightBytes: wFloat,
    shiftWeightBytes: wShift,
  };
}

function reps(macs: number): [number, number] {
  return macs > 2e8 ? [5, 1] : macs > 2e7 ? [9, 2] : [21, 3];
}

function linearCase(name: string, batch: number, inF: number, outF: number, zeroFrac = 0) {
  const c = codes(inF * outF, inF, inF + outF, zeroFrac);
  const w = toFloat(c);
  const x = randomArray(batch * inF, 1);
  const b = randomArray(outF, 2);
  const y = new Float32Array(batch * outF);
  const plan = shiftPlan(c, outF, inF);
  const xq = fixed(x, 4); // activations of a few units, like the net's
  const bq = fixed(b, 1);
  const yq = new Int32Array(batch * outF);
  const macs = batch * inF * outF;
  const [r, wu] = reps(macs);
  const mul = medianMs(() => linearForward(y, x, w, b, batch, inF, outF), r, wu);
  const sh = medianMs(() => shiftLinear(yq, xq, plan, bq, batch), r, wu);
  const nb = Math.min(batch, 2);
  const naive = medianMs(() => shiftLinearNaive(yq, xq, c, bq, nb, inF, outF), 3, 1) * (batch / nb);
  return row(name, batch, macs, mul, sh, naive, 4 * w.length, shiftPlanBytes(plan));
}

function convCase(
  name: string,
  batch: number,
  cIn: number,
  hw: number,
  cOut: number,
  zeroFrac = 0,
) {
  const p = conv2dParams([batch, cIn, hw, hw], [cOut, cIn, 3, 3]);
  const c = codes(cOut * cIn * 9, cIn * 9, cIn + cOut, zeroFrac);
  const w = toFloat(c);
  const x = randomArray(batch * cIn * hw * hw, 3);
  const b = randomArray(cOut, 4);
  const y = new Float32Array(batch * cOut * p.outH * p.outW);
  const plan = shiftPlan(c, cOut, cIn * 9);
  const xq = fixed(x, 4);
  const bq = fixed(b, 1);
  const yq = new Int32Array(y.length);
  const macs = batch * cOut * p.outH * p.outW * cIn * 9;
  const [r, wu] = reps(macs);
  const mul = medianMs(() => conv2dForward(y, x, w, b, p), r, wu);
  const sh = medianMs(() => shiftConv2d(yq, xq, plan, bq, p), r, wu);
  const nb = Math.min(batch, 2);
  const pn = conv2dParams([nb, cIn, hw, hw], [cOut, cIn, 3, 3]);
  const naive = medianMs(() => shiftConv2dNaive(yq, xq, c, bq, pn), 3, 1) * (batch / nb);
  return row(name, batch, macs, mul, sh, naive, 4 * w.length, shiftPlanBytes(plan));
}

/** Median ms of one PSNet training step (batch 64) with the layers' useKernel off or on. */
function psStepMs(useKernel: boolean): number {
  manualSeed(0);
  const net = new PSNet();
  for (const l of [net.conv1, net.conv2, net.fc1, net.fc2]) l.useKernel = useKernel;
  const opt = new Adadelta(net.parameters(), { lr: 1.0 });
  const x = randn([64, 1, 28, 28]);
  const y = randint(0, 10, [64]);
  return medianMs(
    () => {
      opt.zeroGrad();
      F.nllLoss(net.forward(x), y).backward();
      opt.step();
    },
    3,
    1,
  );
}

/** The notebook's four layers at batch 1 and 64, the 50 %-zeros variants, and a size sweep. */
export async function benchShift(): Promise<ShiftBenchRow[]> {
  const before = getNumThreads();
  setNumThreads(1);
  const rows: ShiftBenchRow[] = [];
  try {
    for (const batch of [1, 64]) {
      rows.push(convCase('conv1 1→32 3×3 @28', batch, 1, 28, 32));
      await tick();
      rows.push(convCase('conv2 32→64 3×3 @26', batch, 32, 26, 64));
      await tick();
      rows.push(linearCase('fc1 9216→128', batch, 9216, 128));
      await tick();
      rows.push(linearCase('fc2 128→10', batch, 128, 10));
      await tick();
    }
    rows.push(convCase('conv2, 50 % zeros', 64, 32, 26, 64, 0.5));
    await tick();
    rows.push(linearCase('fc1, 50 % zeros', 64, 9216, 128, 0.5));
    await tick();
    for (const inF of [256, 1024, 4096, 16384]) {
      rows.push(linearCase(`sweep linear ${inF}→256`, 64, inF, 256));
      await tick();
    }
    for (const ch of [8, 16, 64]) {
      rows.push(convCase(`sweep conv ${ch}→${ch} 3×3 @16`, 16, ch, 16, ch));
      await tick();
    }
    // useKernel in training: integer forward + float backward vs the float PS step
    const off = psStepMs(false);
    const on = psStepMs(true);
    rows.push({
      case: 'PSNet train step (useKernel off → on)',
      batch: 64,
      mmac: 0,
      multiplyMs: +off.toFixed(1),
      shiftMs: +on.toFixed(1),
      naiveMs: null,
      multiplyGops: 0,
      shiftGops: 0,
      'shift/multiply': +(on / off).toFixed(2),
      multiplyWeightBytes: 0,
      shiftWeightBytes: 0,
    });
  } finally {
    setNumThreads(before);
  }
  return rows;
}
