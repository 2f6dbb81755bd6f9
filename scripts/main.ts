/**
 * npm start: the notebook's experiments at its settings, one after another, resuming where a
 * previous run stopped (each epoch is checkpointed), then a table beside the notebook's figures.
 * `npm start -- --quick` runs a few-minute version (a subset of MNIST, one epoch) into runs/quick-*.
 * A full run is also compared with the committed one (docs/results/NAME, `npm run compare`): the
 * table says whether this machine reproduced it bit for bit.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compareRuns } from './lib/compare.ts';
import { experiments } from './lib/experiments.ts';
import { train } from './lib/trainer.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = values.quick;
const rows: string[] = [];
for (const exp of Object.values(experiments).filter((e) => e.inMain !== false)) {
  const d = exp.defaults;
  const outDir = quick ? `runs/quick-${exp.name}` : `runs/${exp.name}`;
  console.log(`\n=== ${exp.title} → ${outDir} ===`);
  const history = await train(exp, {
    ...d,
    ...(quick ? { epochs: 1, trainLimit: 3000, testLimit: 1000 } : {}),
    outDir,
    resume: true,
  });
  const last = history[history.length - 1]!;
  const committed = join('docs', 'results', exp.name);
  let same = '—';
  if (!quick && existsSync(join(committed, 'history.json'))) {
    same = compareRuns(committed, outDir).verdict;
  }
  rows.push(
    `| ${exp.name.padEnd(10)} | ${exp.notebook.toFixed(2).padStart(8)} % | ${last.accuracy.toFixed(2).padStart(9)} % | ${String(history.length).padStart(6)} | ${last.seconds.toFixed(0).padStart(7)} s | ${same.padEnd(20)} |`,
  );
}
console.log(
  `\n| experiment | notebook   | shiftgrad   | epochs | s/epoch   | same as committed?   |`,
);
console.log(
  `|------------|------------|-------------|--------|-----------|----------------------|`,
);
for (const r of rows) console.log(r);
console.log(
  quick
    ? '\n(--quick: 3,000 training images, 1 epoch, 1,000 test images; not comparable with the notebook)'
    : '\n"same as committed?" (npm run compare -- docs/results/NAME runs/NAME): identical = every logged loss, test result and trained weight equal to the committed run\'s, bit for bit; same printed numbers = every log line equal, a stored loss or weight apart in its last bits',
);
