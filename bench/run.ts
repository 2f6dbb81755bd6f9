/**
 * npm run bench [-- dense|pool|train-step|shift|asm ...] [--out FILE]: the benchmark suites, medians of
 * repeated runs measured side by side in one process, printed as tables and written as JSON
 * (default runs/bench/latest.json). Run alone on the machine (and pinned, e.g.
 * `taskset -c 0 npm run bench`): other load doubles times.
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { writeFileAtomic } from '../src/util/fs.ts';
import { benchDense } from './kernels-dense.ts';
import { benchPool } from './kernels-pool.ts';
import { benchTrainStep } from './train-step.ts';
import { benchShift } from './shift.ts';
import { benchAsm } from './asm.ts';

const suites: Record<string, () => Promise<object[]>> = {
  dense: () => benchDense(),
  pool: () => benchPool(),
  'train-step': () => benchTrainStep(),
  shift: () => benchShift(),
  asm: () => benchAsm(),
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' } },
});
const chosen = positionals.length ? positionals : Object.keys(suites);
const results: Record<string, object[]> = {};
for (const name of chosen) {
  const run = suites[name];
  if (!run)
    throw new Error(`bench: unknown suite '${name}' (known: ${Object.keys(suites).join(', ')})`);
  console.log(`\n## ${name}`);
  results[name] = await run();
  console.table(results[name]);
}
const out = values.out ?? 'runs/bench/latest.json';
const record = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model,
  results,
};
writeFileAtomic(out, JSON.stringify(record, null, 1) + '\n');
console.log(`\nwrote ${out}`);
