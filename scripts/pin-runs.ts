/**
 * npx tsx scripts/pin-runs.ts [NAME ...]: rewrite test/fixtures/runs/NAME (default: every pinned
 * experiment) from a fresh pinned run: log.txt, history.json and weights.json (digests). Only for
 * a change that is meant to move training's numbers; see scripts/lib/pinned.ts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/util/fs.ts';
import { PINNED_EXPERIMENTS, pinnedRun, weightDigests } from './lib/pinned.ts';

const names = process.argv.length > 2 ? process.argv.slice(2) : [...PINNED_EXPERIMENTS];
for (const name of names) {
  if (!(PINNED_EXPERIMENTS as readonly string[]).includes(name)) {
    throw new Error(`pin-runs: '${name}' is not pinned (${PINNED_EXPERIMENTS.join(', ')})`);
  }
  const tmp = mkdtempSync(join(tmpdir(), `sg-pin-${name}-`));
  try {
    await pinnedRun(name, tmp);
    const out = join('test', 'fixtures', 'runs', name);
    mkdirSync(out, { recursive: true });
    copyFileSync(join(tmp, 'log.txt'), join(out, 'log.txt'));
    copyFileSync(join(tmp, 'history.json'), join(out, 'history.json'));
    writeFileAtomic(join(out, 'weights.json'), JSON.stringify(weightDigests(tmp), null, 1) + '\n');
    console.log(`pinned ${name} in ${out}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
