import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVAL_CHUNK, evaluate, train } from '../../scripts/lib/trainer.ts';
import { getExperiment } from '../../scripts/lib/experiments.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { CrudeNet, PSNet, QNet } from '../../src/models/deepshift.ts';
import type { Module } from '../../src/nn/index.ts';
import { TensorDataset } from '../../src/data/index.ts';
import { manualSeed, noGrad, randn, tensor } from '../../src/index.ts';
import { nllLoss } from '../../src/nn/functional.ts';
import { save } from '../../src/nn/serialization.ts';

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

describe('evaluate', () => {
  const nets: [string, () => Module][] = [
    ['BaselineNet', () => new BaselineNet()],
    ['CrudeNet', () => new CrudeNet()],
    ['PSNet', () => new PSNet({ weightBits: 5 })],
    ['QNet', () => new QNet({ weightBits: 5 })],
  ];
  for (const [name, make] of nets) {
    it(`${name}: slices of EVAL_CHUNK in a BufferArena give the predictions of one plain forward`, () => {
      manualSeed(5);
      const n = 150;
      const x = randn([n, 1, 28, 28]);
      const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
      const data = new TensorDataset(x._flat() as Float32Array, labels, [1, 28, 28]);
      const model = make();
      expect(EVAL_CHUNK).toBeLessThan(100); // the batches of 100 below are really sliced
      const r = evaluate(model, data, 100);
      // reference: the whole set in one forward
      const ref = noGrad(() => {
        const out = model.forward(x);
        const y = tensor([...labels], { dtype: 'int32' });
        const pred = out.argmax(1)._flat();
        let correct = 0;
        for (let i = 0; i < n; i++) if (pred[i] === labels[i]) correct++;
        return { loss: nllLoss(out, y, { reduction: 'sum' }).item() / n, correct };
      });
      expect(r.total).toBe(n);
      expect(r.correct).toBe(ref.correct);
      expect(r.correct).toBeGreaterThan(0);
      expect(r.loss).toBeCloseTo(ref.loss, 5);
      // the traced plan (fused, frozen) gives the eager forward's numbers exactly
      expect(evaluate(model, data, 100, { trace: false })).toEqual(r);
    });
  }
});

describe('--init (experiments converted from trained weights)', () => {
  it('ps-tuned converts the given weights; experiments without trained weights refuse --init', async () => {
    manualSeed(9);
    const dir = mkdtempSync(join(tmpdir(), 'sg-init-'));
    const file = join(dir, 'base.safetensors');
    save(new BaselineNet().stateDict(), file);
    const exp = getExperiment('ps-tuned');
    const h = await train(exp, { ...small, epochs: 1, lr: 1e-3, init: file, outDir: dir });
    expect(h).toHaveLength(1);
    expect(readFileSync(join(dir, 'log.txt'), 'utf8')).toContain(`"init":"${file}"`);
    await expect(
      train(exp, { ...small, epochs: 1, init: join(dir, 'missing.safetensors'), outDir: dir }),
    ).rejects.toThrow(/--init .*missing\.safetensors: no such file/);
    await expect(
      train(getExperiment('baseline'), { ...small, epochs: 1, init: file, outDir: dir }),
    ).rejects.toThrow(/experiment 'baseline' does not start from trained weights/);
  });

  it('init: null builds the architecture without reading any weights file', () => {
    const m = getExperiment('q-tuned').model({ init: null });
    expect([...m.namedParameters()].map(([k]) => k)).toContain('fc1.weight');
  });
});

describe('--use-kernel', () => {
  it('trains the shift layers through the integer kernels; refused for a float network', async () => {
    const exp = getExperiment('ps');
    const run = (useKernel: boolean) =>
      train(exp, {
        ...small,
        epochs: 1,
        useKernel,
        outDir: mkdtempSync(join(tmpdir(), 'sg-kernel-')),
      });
    const float = await run(false);
    const kernel = await run(true);
    // Same seed and data: the fixed-point forward changes the numbers only slightly.
    expect(kernel[0]!.trainLoss).not.toBe(float[0]!.trainLoss);
    expect(Math.abs(kernel[0]!.trainLoss - float[0]!.trainLoss)).toBeLessThan(
      0.01 * float[0]!.trainLoss,
    );
    await expect(
      train(getExperiment('baseline'), {
        ...small,
        epochs: 1,
        useKernel: true,
        outDir: mkdtempSync(join(tmpdir(), 'sg-kernel-')),
      }),
    ).rejects.toThrow(/--use-kernel: experiment 'baseline' has no shift layers/);
  });
});

describe('augmented experiments', () => {
  it('shift each training batch from the checkpointed generator: same seed, same numbers, resumable', async () => {
    manualSeed(11);
    const dir = mkdtempSync(join(tmpdir(), 'sg-aug-'));
    const file = join(dir, 'base.safetensors');
    save(new BaselineNet().stateDict(), file);
    const run = (name: string, extra: object = {}) =>
      train(getExperiment(name), {
        ...small,
        lr: 3e-4,
        init: file,
        outDir: mkdtempSync(join(tmpdir(), 'sg-aug-')),
        ...extra,
      });
    const strip = (h: Awaited<ReturnType<typeof run>>) =>
      h.map(({ seconds: _s, msPerStep: _m, ...rest }) => rest);
    const a = await run('q-tuned-aug');
    const b = await run('q-tuned-aug');
    expect(strip(b)).toEqual(strip(a));
    const plain = await run('q-tuned');
    expect(plain[0]!.trainLoss).not.toBe(a[0]!.trainLoss);
    const out = mkdtempSync(join(tmpdir(), 'sg-aug-'));
    await run('q-tuned-aug', { epochs: 1, outDir: out });
    const c = await run('q-tuned-aug', { outDir: out, resume: true });
    expect(strip(c)).toEqual(strip(a));
  });
});
