/**
 * Pinned runs: a short run of each notebook experiment whose numbers are committed in
 * test/fixtures/runs/NAME (log, per-epoch JSON, a digest of the trained weights). The suite reruns
 * them and compares (test/scripts/pinned-runs.test.ts), so a change that moves training's numbers —
 * a kernel summing in another order, an optimizer detail, a random draw more or less — fails
 * `npm test` instead of silently parting from the committed results. When a change is meant to
 * move them, `npx tsx scripts/pin-runs.ts` rewrites the fixtures (say so in the commit).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from '../../src/nn/serialization.ts';
import { getExperiment } from './experiments.ts';
import { train, type TrainOptions } from './trainer.ts';
import { weightsFile } from './compare.ts';

/** The notebook's three experiments, pinned. */
export const PINNED_EXPERIMENTS = ['baseline', 'crude-q', 'ps'] as const;

/** Each experiment's own settings (seed 1), on 256 training and 500 test images, every batch logged. */
export const PINNED_OPTIONS = {
  epochs: 2,
  testBatchSize: 500,
  trainLimit: 256,
  testLimit: 500,
  logInterval: 1,
  quiet: true,
} satisfies Partial<TrainOptions>;

/** Train experiment `name` with the pinned options into `outDir`. */
export async function pinnedRun(name: string, outDir: string): Promise<void> {
  const exp = getExperiment(name);
  await train(exp, { ...exp.defaults, ...PINNED_OPTIONS, outDir });
}

/** SHA-256 of each tensor's raw little-endian bytes in a run's trained weights, by name. */
export function weightDigests(dir: string): Record<string, string> {
  const file = weightsFile(dir);
  if (file === null) throw new Error(`pinned: ${dir} has no trained weights`);
  const out: Record<string, string> = {};
  const tensors = load(file).tensors;
  for (const name of Object.keys(tensors).sort()) {
    const data = tensors[name]!.contiguous()._flat();
    out[name] = createHash('sha256')
      .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      .digest('hex');
  }
  return out;
}

/** The committed digests of a pinned run (test/fixtures/runs/NAME/weights.json). */
export function pinnedDigests(fixtureDir: string): Record<string, string> {
  return JSON.parse(readFileSync(join(fixtureDir, 'weights.json'), 'utf8')) as Record<
    string,
    string
  >;
}
