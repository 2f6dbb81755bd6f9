/**
 * Whether two training runs give the same numbers: their logs' loss lines, their per-epoch JSON
 * and, when both have them, their trained weights (bit for bit). Used by `npm run compare` to
 * check a rerun against a committed result (docs/results/NAME).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from '../../src/nn/serialization.ts';
import type { EpochRecord } from './trainer.ts';

/** The numbers of a run's log.txt: batch losses by "epoch/seen", test lines by epoch. */
export interface LogNumbers {
  /** "epoch/seen" → the printed loss (as printed, 6 decimals). */
  batches: Map<string, string>;
  /** epoch → "loss correct/total". */
  tests: Map<number, string>;
}

const TRAIN_LINE = /^Train Epoch: (\d+) \[(\d+)\/\d+ \(\d+%\)\]\tLoss: (\S+)/;
const TEST_LINE = /^Test set: Average loss: (\S+), Accuracy: (\d+\/\d+)/;

/**
 * Parse a log's training and test lines (the progress line's rate and ETA are ignored, as is the
 * first line with the config and commit). Test lines belong to the epoch of the training lines
 * before them.
 */
export function parseLog(text: string): LogNumbers {
  const batches = new Map<string, string>();
  const tests = new Map<number, string>();
  let epoch = 0;
  for (const raw of text.split(/\r?\n|\r/)) {
    const line = raw.trim();
    const t = TRAIN_LINE.exec(line);
    if (t !== null) {
      epoch = Number(t[1]);
      batches.set(`${t[1]}/${t[2]}`, t[3]!);
      continue;
    }
    const s = TEST_LINE.exec(line);
    if (s !== null) tests.set(epoch, `${s[1]} ${s[2]}`);
  }
  return { batches, tests };
}

export interface EpochComparison {
  epoch: number;
  a: EpochRecord | undefined;
  b: EpochRecord | undefined;
  /** train loss, test loss and correct count all equal (both present). */
  same: boolean;
}

export interface RunComparison {
  epochs: EpochComparison[];
  /** Batch-loss lines present in both logs, and how many of them differ. */
  batchLines: number;
  batchDiffs: number;
  /** The first differing batch line, "epoch/seen: a vs b". */
  firstBatchDiff: string | null;
  /** Test lines present in both logs that differ. */
  testDiffs: number;
  /** Weights: null when either run has none; else the differing values out of the total. */
  weights: { differing: number; total: number; mismatch: string | null } | null;
  /** Everything both runs have is equal, and they cover the same epochs. */
  identical: boolean;
  /**
   * 'identical'; 'same printed numbers' when every log line (at least one in common) and each
   * epoch's correct count agree but a stored loss or a weight differs in its last bits; else
   * 'different'.
   */
  verdict: 'identical' | 'same printed numbers' | 'different';
}

/** The weights file of a run directory: model.safetensors, or the checkpoint's. */
export function weightsFile(dir: string): string | null {
  const model = join(dir, 'model.safetensors');
  if (existsSync(model)) return model;
  const meta = join(dir, 'checkpoint.json');
  if (!existsSync(meta)) return null;
  const { weights } = JSON.parse(readFileSync(meta, 'utf8')) as { weights?: string };
  return weights !== undefined && existsSync(join(dir, weights)) ? join(dir, weights) : null;
}

function readRun(dir: string): { history: EpochRecord[]; log: LogNumbers } {
  for (const f of ['history.json', 'log.txt']) {
    if (!existsSync(join(dir, f))) throw new Error(`compare: ${dir} has no ${f}`);
  }
  const history = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as EpochRecord[];
  if (!Array.isArray(history)) throw new Error(`compare: ${dir}/history.json is not an array`);
  return { history, log: parseLog(readFileSync(join(dir, 'log.txt'), 'utf8')) };
}

/** Count the differing values of two safetensors files (same names, shapes and bits). */
function compareWeights(fa: string, fb: string): NonNullable<RunComparison['weights']> {
  const ta = load(fa).tensors;
  const tb = load(fb).tensors;
  const names = Object.keys(ta).sort();
  const namesB = Object.keys(tb).sort();
  if (names.join() !== namesB.join()) {
    return { differing: 0, total: 0, mismatch: `tensor names differ: ${names} vs ${namesB}` };
  }
  let differing = 0;
  let total = 0;
  for (const name of names) {
    const a = ta[name]!;
    const b = tb[name]!;
    if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) {
      return {
        differing: 0,
        total: 0,
        mismatch: `${name}: ${a.dtype} [${a.shape}] vs ${b.dtype} [${b.shape}]`,
      };
    }
    const da = a.contiguous()._flat();
    const db = b.contiguous()._flat();
    total += da.length;
    for (let i = 0; i < da.length; i++) if (!Object.is(da[i], db[i])) differing++;
  }
  return { differing, total, mismatch: null };
}

/** Compare run directories a and b (each with log.txt and history.json). */
export function compareRuns(dirA: string, dirB: string): RunComparison {
  const a = readRun(dirA);
  const b = readRun(dirB);
  const byEpoch = (h: EpochRecord[]) => new Map(h.map((r) => [r.epoch, r]));
  const ha = byEpoch(a.history);
  const hb = byEpoch(b.history);
  const all = [...new Set([...ha.keys(), ...hb.keys()])].sort((p, q) => p - q);
  const epochs = all.map((epoch): EpochComparison => {
    const ra = ha.get(epoch);
    const rb = hb.get(epoch);
    const same =
      ra !== undefined &&
      rb !== undefined &&
      ra.trainLoss === rb.trainLoss &&
      ra.testLoss === rb.testLoss &&
      ra.correct === rb.correct &&
      ra.total === rb.total;
    return { epoch, a: ra, b: rb, same };
  });
  let batchLines = 0;
  let batchDiffs = 0;
  let firstBatchDiff: string | null = null;
  for (const [key, la] of a.log.batches) {
    const lb = b.log.batches.get(key);
    if (lb === undefined) continue;
    batchLines++;
    if (la !== lb) {
      batchDiffs++;
      firstBatchDiff ??= `${key}: ${la} vs ${lb}`;
    }
  }
  let testDiffs = 0;
  for (const [epoch, la] of a.log.tests) {
    const lb = b.log.tests.get(epoch);
    if (lb !== undefined && lb !== la) testDiffs++;
  }
  const fa = weightsFile(dirA);
  const fb = weightsFile(dirB);
  const weights = fa !== null && fb !== null ? compareWeights(fa, fb) : null;
  const identical =
    epochs.every((e) => e.same) &&
    batchDiffs === 0 &&
    testDiffs === 0 &&
    (weights === null || (weights.mismatch === null && weights.differing === 0));
  const printedSame =
    batchLines > 0 &&
    batchDiffs === 0 &&
    testDiffs === 0 &&
    epochs.every((e) => e.a !== undefined && e.b !== undefined && e.a.correct === e.b.correct);
  const verdict = identical ? 'identical' : printedSame ? 'same printed numbers' : 'different';
  return { epochs, batchLines, batchDiffs, firstBatchDiff, testDiffs, weights, identical, verdict };
}
