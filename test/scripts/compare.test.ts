import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareRuns, parseLog } from '../../scripts/lib/compare.ts';
import { train, type EpochRecord } from '../../scripts/lib/trainer.ts';
import { getExperiment } from '../../scripts/lib/experiments.ts';
import { save } from '../../src/nn/serialization.ts';
import { tensor } from '../../src/index.ts';

const LOG = [
  'Baseline CNN: {"epochs":2}, commit abc, 2 kernel thread(s), node v20',
  'Train Epoch: 1 [64/128 (50%)]\tLoss: 2.310688  37 img/s  ETA 0:01',
  'Train Epoch: 1 [128/128 (100%)]\tLoss: 1.500000  40 img/s  ETA 0:00',
  '',
  'Test set: Average loss: 0.9000, Accuracy: 700/1000 (70.00%)',
  '',
  'Train Epoch: 2 [64/128 (50%)]\tLoss: 1.000000  52 img/s  ETA 0:01',
  'Train Epoch: 2 [128/128 (100%)]\tLoss: 0.800000  50 img/s  ETA 0:00',
  '',
  'Test set: Average loss: 0.7000, Accuracy: 800/1000 (80.00%)',
  '',
].join('\n');

const record = (epoch: number, trainLoss: number, testLoss: number, correct: number) =>
  ({
    epoch,
    trainLoss,
    testLoss,
    correct,
    total: 1000,
    accuracy: correct / 10,
    lr: 1,
    seconds: 10 * epoch, // timings never count
    msPerStep: 5,
  }) satisfies EpochRecord;

function runDir(log = LOG, history = [record(1, 1.9, 0.9, 700), record(2, 0.9, 0.7, 800)]) {
  const dir = mkdtempSync(join(tmpdir(), 'sg-compare-'));
  writeFileSync(join(dir, 'log.txt'), log);
  writeFileSync(join(dir, 'history.json'), JSON.stringify(history));
  return dir;
}

describe('compare (npm run compare)', () => {
  it('parses batch and test lines by epoch, ignoring rates, ETAs and the config line', () => {
    const { batches, tests } = parseLog(LOG.replace(/\n/g, '\r\n'));
    expect([...batches]).toEqual([
      ['1/64', '2.310688'],
      ['1/128', '1.500000'],
      ['2/64', '1.000000'],
      ['2/128', '0.800000'],
    ]);
    expect([...tests]).toEqual([
      [1, '0.9000 700/1000'],
      [2, '0.7000 800/1000'],
    ]);
  });

  it('finds runs identical when only timings differ, and names each kind of difference', () => {
    const a = runDir();
    const timings = runDir(
      LOG.replace(/\d+ img\/s/g, '99 img/s'),
      [record(1, 1.9, 0.9, 700), record(2, 0.9, 0.7, 800)].map((r) => ({ ...r, seconds: 1 })),
    );
    expect(compareRuns(a, timings).identical).toBe(true);
    expect(compareRuns(a, timings).verdict).toBe('identical');

    const batch = compareRuns(a, runDir(LOG.replace('Loss: 1.000000', 'Loss: 1.000001')));
    expect(batch.identical).toBe(false);
    expect([batch.batchLines, batch.batchDiffs, batch.firstBatchDiff]).toEqual([
      4,
      1,
      '2/64: 1.000000 vs 1.000001',
    ]);

    const test = compareRuns(a, runDir(LOG.replace('800/1000', '801/1000')));
    expect([test.identical, test.testDiffs]).toEqual([false, 1]);

    const hist = compareRuns(a, runDir(LOG, [record(1, 1.9, 0.9, 700), record(2, 0.9, 0.7, 801)]));
    expect(hist.identical).toBe(false);
    expect(hist.epochs.map((e) => e.same)).toEqual([true, false]);
    expect(batch.verdict).toBe('different');
    expect(hist.verdict).toBe('different');

    // a stored test loss apart in its last bits, every printed number equal
    const bits = compareRuns(
      a,
      runDir(LOG, [record(1, 1.9, 0.9000000001, 700), record(2, 0.9, 0.7, 800)]),
    );
    expect([bits.identical, bits.verdict]).toEqual([false, 'same printed numbers']);

    const shorter = compareRuns(a, runDir(LOG, [record(1, 1.9, 0.9, 700)]));
    expect(shorter.identical).toBe(false);
    expect(shorter.epochs[1]!.b).toBeUndefined();
    expect(shorter.verdict).toBe('different');
  });

  it('compares weights bit for bit, and says which file is missing', () => {
    const a = runDir();
    const b = runDir();
    const w = tensor([1, 2, 3]);
    save({ w }, join(a, 'model.safetensors'));
    save({ w }, join(b, 'model.safetensors'));
    expect(compareRuns(a, b).weights).toEqual({ differing: 0, total: 3, mismatch: null });
    save({ w: tensor([1, 2, 3.0000002]) }, join(b, 'model.safetensors'));
    const c = compareRuns(a, b);
    expect([c.weights?.differing, c.identical, c.verdict]).toEqual([
      1,
      false,
      'same printed numbers',
    ]);
    save({ v: w }, join(b, 'model.safetensors'));
    expect(compareRuns(a, b).weights?.mismatch).toMatch(/tensor names differ/);

    const empty = mkdtempSync(join(tmpdir(), 'sg-compare-'));
    expect(() => compareRuns(a, empty)).toThrow(`compare: ${empty} has no history.json`);
  });

  it('finds two training runs with the same seed identical, weights (from the checkpoint) included', async () => {
    const opts = {
      epochs: 1,
      batchSize: 32,
      testBatchSize: 50,
      lr: 1.0,
      gamma: 0.7,
      seed: 4,
      trainLimit: 64,
      testLimit: 50,
      quiet: true,
    };
    const exp = getExperiment('baseline');
    const a = mkdtempSync(join(tmpdir(), 'sg-compare-a-'));
    const b = mkdtempSync(join(tmpdir(), 'sg-compare-b-'));
    await train(exp, { ...opts, outDir: a });
    await train(exp, { ...opts, outDir: b });
    const same = compareRuns(a, b);
    expect(same.identical).toBe(true);
    expect(same.batchLines).toBeGreaterThan(0);
    expect(same.weights?.total).toBe(1199882);
  });
});
