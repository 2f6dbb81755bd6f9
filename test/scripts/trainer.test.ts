import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train } from '../../scripts/lib/trainer.ts';
import { getExperiment } from '../../scripts/lib/experiments.ts';

const small = {
  epochs: 2,
  batchSize: 32,
  testBatchSize: 50,
  lr: 1.0,
  gamma: 0.7,
  seed: 3,
  trainLimit: 96,
  testLimit: 50,
  quiet: true,
};

describe('training loop', () => {
  it('same seed, same numbers; resume continues to the numbers of an uninterrupted run', async () => {
    const exp = getExperiment('baseline');
    const dirA = mkdtempSync(join(tmpdir(), 'sg-train-a-'));
    const dirB = mkdtempSync(join(tmpdir(), 'sg-train-b-'));
    const dirC = mkdtempSync(join(tmpdir(), 'sg-train-c-'));
    const a = await train(exp, { ...small, outDir: dirA });
    const b = await train(exp, { ...small, outDir: dirB });
    const strip = (h: typeof a) => h.map(({ seconds: _s, msPerStep: _m, ...rest }) => rest);
    expect(strip(b)).toEqual(strip(a));
    expect(a[1]!.trainLoss).toBeLessThan(a[0]!.trainLoss);
    expect(a[1]!.lr).toBeCloseTo(0.7, 15);

    // Interrupted after epoch 1, then resumed to epoch 2.
    await train(exp, { ...small, epochs: 1, outDir: dirC });
    const c = await train(exp, { ...small, outDir: dirC, resume: true });
    expect(strip(c)).toEqual(strip(a));

    // A different seed gives different numbers (the comparison above can fail).
    const d = await train(exp, {
      ...small,
      seed: 4,
      epochs: 1,
      outDir: mkdtempSync(join(tmpdir(), 'sg-train-d-')),
    });
    expect(d[0]!.trainLoss).not.toBe(a[0]!.trainLoss);

    // The run directory holds the log, the history and exactly one checkpoint.
    expect(JSON.parse(readFileSync(join(dirA, 'history.json'), 'utf8'))).toHaveLength(2);
    expect(readFileSync(join(dirA, 'log.txt'), 'utf8')).toContain('Test set: Average loss:');
    expect(existsSync(join(dirA, 'checkpoint.json'))).toBe(true);
    expect(
      readdirSync(dirA)
        .filter((f) => f.endsWith('.safetensors'))
        .sort(),
    ).toEqual(['optimizer-epoch2.safetensors', 'weights-epoch2.safetensors']);
  });

  it('refuses to resume a checkpoint of another experiment', async () => {
    const exp = getExperiment('baseline');
    const dir = mkdtempSync(join(tmpdir(), 'sg-train-e-'));
    await train(exp, { ...small, epochs: 1, outDir: dir });
    const other = { ...exp, name: 'other' };
    await expect(train(other, { ...small, outDir: dir, resume: true })).rejects.toThrow(
      /belongs to experiment 'baseline'/,
    );
  });
});
