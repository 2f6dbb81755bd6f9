import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareRuns } from '../../scripts/lib/compare.ts';
import {
  PINNED_EXPERIMENTS,
  pinnedDigests,
  pinnedRun,
  weightDigests,
} from '../../scripts/lib/pinned.ts';

// A short run of each notebook experiment gives exactly its committed numbers (every batch loss,
// each epoch's test loss and accuracy, the trained weights' digests): see scripts/lib/pinned.ts.
describe('pinned runs', () => {
  for (const name of PINNED_EXPERIMENTS) {
    it(`${name}: a rerun gives the committed numbers bit for bit`, async () => {
      const fixture = join('test', 'fixtures', 'runs', name);
      const out = mkdtempSync(join(tmpdir(), `sg-pinned-${name}-`));
      try {
        await pinnedRun(name, out);
        const c = compareRuns(fixture, out);
        expect(c.firstBatchDiff).toBeNull();
        expect(c.batchLines).toBe(2 * 4);
        expect(c.epochs.map((e) => e.same)).toEqual([true, true]);
        expect(c.identical).toBe(true);
        expect(weightDigests(out)).toEqual(pinnedDigests(fixture));
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 180_000); // four training steps and a 500-image test pass per epoch, two epochs
  }
});
