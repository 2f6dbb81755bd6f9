// Dense-kernel benchmark: tuned vs naive GEMM/linear and conv2d at the MNIST net's shapes
// (batch 64, float32). Run: npx tsx bench/kernels-dense.ts
// Reports the median wall time over several repetitions after warm-up, and GFLOP/s.

import { pathToFileURL } from 'node:url';
import { medianMs, randomArray as rand } from './util.ts';
import {
  conv2dBackwardInput,
  conv2dBackwardInputNaive,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dForward,
  conv2dForwardNaive,
  conv2dParams,
} from '../src/tensor/kernels/conv2d.ts';
import {
  linearBackward,
  linearBackwardNaive,
  linearForward,
  linearForwardNaive,
} from '../src/tensor/kernels/gemm.ts';

export interface DenseBenchRow {
  kernel: string;
  shape: string;
  mflop: number;
  tunedMs: number;
  tunedGflops: number;
  naiveMs: number;
  naiveGflops: number;
  speedup: number;
}

const BATCH = 64;

interface Case {
  kernel: string;
  shape: string;
  flop: number;
  tuned: () => void;
  naive: () => void;
  naiveReps: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [name, cIn, hw, cOut] of [
    ['conv1', 1, 28, 32],
    ['conv2', 32, 26, 64],
  ] as const) {
    const p = conv2dParams([BATCH, cIn, hw, hw], [cOut, cIn, 3, 3]);
    const x = rand(BATCH * cIn * hw * hw, 1);
    const w = rand(cOut * cIn * 9, 2);
    const b = rand(cOut, 3);
    const ySize = BATCH * cOut * p.outH * p.outW;
    const y = new Float32Array(ySize);
    const gy = rand(ySize, 4);
    const gx = new Float32Array(x.length);
    const gw = new Float32Array(w.length);
    const flop = 2 * BATCH * cOut * p.outH * p.outW * cIn * 9;
    const shape = `[${BATCH},${cIn},${hw},${hw}] * [${cOut},${cIn},3,3]`;
    const reps = name === 'conv2' ? 3 : 7;
    out.push(
      {
        kernel: `${name} fwd`,
        shape,
        flop,
        tuned: () => conv2dForward(y, x, w, b, p),
        naive: () => conv2dForwardNaive(y, x, w, b, p),
        naiveReps: reps,
      },
      {
        // no backward follows: Winograd F(6×6) where it does fewer multiplies (conv2)
        kernel: `${name} fwd, inference`,
        shape,
        flop,
        tuned: () => conv2dForward(y, x, w, b, p, true),
        naive: () => conv2dForwardNaive(y, x, w, b, p),
        naiveReps: name === 'conv2' ? 1 : reps,
      },
      {
        kernel: `${name} bwd-input`,
        shape,
        flop,
        tuned: () => conv2dBackwardInput(gx, gy, w, p),
        naive: () => conv2dBackwardInputNaive(gx, gy, w, p),
        naiveReps: reps,
      },
      {
        kernel: `${name} bwd-weight`,
        shape,
        flop,
        tuned: () => conv2dBackwardWeight(gw, gy, x, p),
        naive: () => conv2dBackwardWeightNaive(gw, gy, x, p),
        naiveReps: reps,
      },
    );
  }
  for (const [name, inF, outF] of [
    ['fc1', 9216, 128],
    ['fc2', 128, 10],
  ] as const) {
    const x = rand(BATCH * inF, 5);
    const w = rand(outF * inF, 6);
    const b = rand(outF, 7);
    const y = new Float32Array(BATCH * outF);
    const gy = rand(BATCH * outF, 8);
    const gx = new Float32Array(x.length);
    const gw = new Float32Array(w.length);
    const gb = new Float32Array(outF);
    const flop = 2 * BATCH * inF * outF;
    const shape = `[${BATCH},${inF}] -> ${outF}`;
    const naiveReps = name === 'fc1' ? 5 : 21;
    out.push(
      {
        kernel: `${name} fwd`,
        shape,
        flop,
        tuned: () => linearForward(y, x, w, b, BATCH, inF, outF),
        naive: () => linearForwardNaive(y, x, w, b, BATCH, inF, outF),
        naiveReps,
      },
      {
        kernel: `${name} bwd (gx+gw+gb)`,
        shape,
        flop: 2 * flop,
        tuned: () => linearBackward(gx, gw, gb, gy, x, w, BATCH, inF, outF),
        naive: () => linearBackwardNaive(gx, gw, gb, gy, x, w, BATCH, inF, outF),
        naiveReps,
      },
    );
    if (name === 'fc1') {
      // what fc1 gets in training: ~90 % zeros after ReLU, max-pool and dropout (89.6 % on a
      // batch of a trained baseline); the sparse-input kernels skip them, with the same bits.
      // GFLOP/s counts the dense FLOPs.
      const xs = x.map((v, i) => ((Math.imul(i + 1, 2654435761) >>> 0) % 10 === 0 ? v : 0));
      out.push(
        {
          kernel: `fc1 fwd, input 90 % zeros`,
          shape,
          flop,
          tuned: () => linearForward(y, xs, w, b, BATCH, inF, outF),
          naive: () => linearForwardNaive(y, xs, w, b, BATCH, inF, outF),
          naiveReps,
        },
        {
          kernel: `fc1 bwd (gx+gw+gb), input 90 % zeros`,
          shape,
          flop: 2 * flop,
          tuned: () => linearBackward(gx, gw, gb, gy, xs, w, BATCH, inF, outF),
          naive: () => linearBackwardNaive(gx, gw, gb, gy, xs, w, BATCH, inF, outF),
          naiveReps,
        },
      );
    }
  }
  return out;
}

/** Run every case; rows are tuned vs naive, median ms and GFLOP/s. */
export async function benchDense(
  opts: { reps?: number; warmup?: number } = {},
): Promise<DenseBenchRow[]> {
  const reps = opts.reps ?? 11;
  const warmup = opts.warmup ?? 3;
  const rows: DenseBenchRow[] = [];
  for (const c of cases()) {
    const tunedMs = medianMs(c.tuned, c.flop > 1e8 ? reps : reps * 3, warmup);
    const naiveMs = medianMs(c.naive, c.naiveReps, 1);
    rows.push({
      kernel: c.kernel,
      shape: c.shape,
      mflop: +(c.flop / 1e6).toFixed(1),
      tunedMs: +tunedMs.toFixed(3),
      tunedGflops: +(c.flop / tunedMs / 1e6).toFixed(2),
      naiveMs: +naiveMs.toFixed(3),
      naiveGflops: +(c.flop / naiveMs / 1e6).toFixed(2),
      speedup: +(naiveMs / tunedMs).toFixed(1),
    });
    await new Promise((r) => setImmediate(r));
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchDense();
  console.log(`dense kernels, batch ${BATCH}, float32, node ${process.version}`);
  console.table(rows);
}
