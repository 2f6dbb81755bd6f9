import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';

// The README's results tables quote committed runs; these tests read each quoted figure back
// from the run's history.json, so a table cannot drift from the runs it links to.

interface Epoch {
  accuracy: number;
  seconds: number;
}

const readme = readFileSync('README.md', 'utf8');
const results = readme.slice(readme.indexOf('## Results'), readme.indexOf('## Performance'));

function history(run: string): Epoch[] {
  return JSON.parse(readFileSync(`docs/results/${run}/history.json`, 'utf8')) as Epoch[];
}

/** Table rows of the Results section that link to a run in docs/results. */
function runRows(): { run: string; cells: string[]; row: string }[] {
  const rows = [];
  for (const row of results.split('\n')) {
    if (!row.startsWith('|')) continue;
    const run = /\(docs\/results\/([\w-]+)\//.exec(row)?.[1];
    if (run === undefined) continue;
    rows.push({
      run,
      row,
      cells: row
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    });
  }
  return rows;
}

describe('README results', () => {
  it('quotes each run’s final accuracy, per-epoch accuracies and minutes per epoch', () => {
    const rows = runRows();
    expect(rows.length).toBeGreaterThanOrEqual(17);
    for (const { run, cells, row } of rows) {
      const h = history(run);
      const acc = h.map((e) => e.accuracy.toFixed(2));
      expect(/\*\*(\d+\.\d+) %\*\*/.exec(row)?.[1], run).toBe(acc.at(-1));

      const perEpoch = cells.find((c) => /^(… )?\d+\.\d\d(, \d+\.\d\d)*$/.test(c));
      expect(perEpoch, `${run}: per-epoch column`).toBeDefined();
      const listed = perEpoch!.replace('… ', '').split(', ');
      if (perEpoch!.startsWith('…')) expect(acc.slice(-listed.length), run).toEqual(listed);
      else expect(acc, run).toEqual(listed);

      const minutes = cells.map((c) => /^(\d+)–(\d+)$/.exec(c)).find((m) => m !== null);
      if (minutes) {
        const mins = h.map((e) => e.seconds / 60);
        expect(Number(minutes[1]), run).toBe(Math.round(Math.min(...mins)));
        expect(Number(minutes[2]), run).toBe(Math.round(Math.max(...mins)));
      }
    }
  });

  // "seeds 1–N end at a, b, … and z %, mean M % (standard deviation S)": every seed's final
  // accuracy, their mean and sample standard deviation, to the digits the README prints
  const seedRuns = {
    'experiment 1': ['baseline', 'baseline-seed2', 'baseline-seed3', 'baseline-seed4'],
    'experiment 3': ['ps', 'ps-seed2', 'ps-seed3', 'ps-seed4', 'ps-seed5', 'ps-seed6', 'ps-seed7'],
  };
  for (const [name, runs] of Object.entries(seedRuns)) {
    it(`gives ${name}’s seed mean and standard deviation over every seed run`, () => {
      const finals = runs.map((r) => history(r).at(-1)!.accuracy);
      const mean = finals.reduce((a, b) => a + b) / finals.length;
      const sd = Math.sqrt(finals.reduce((a, f) => a + (f - mean) ** 2, 0) / (finals.length - 1));
      const text = results.replace(/\s+/g, ' ');
      const re = new RegExp(
        `seeds 1–${runs.length} end at ([\\d., and]+) %, mean (\\d+\\.(\\d+)) % \\(standard deviation (\\d\\.(\\d+))\\)`,
      );
      const m = re.exec(text);
      expect(m, name).not.toBeNull();
      expect(m![1]!.split(/, | and /)).toEqual(finals.map((f) => f.toFixed(2)));
      expect(m![2]).toBe(mean.toFixed(m![3]!.length));
      expect(m![4]).toBe(sd.toFixed(m![5]!.length));
    });
  }
});
