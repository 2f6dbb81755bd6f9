/**
 * npm run report -- runs/NAME [runs/NAME2 ...]: copies each run's log, per-epoch JSON and final
 * weights into docs/results/NAME/ and draws its test accuracy and loss per epoch as SVG beside them.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/util/fs.ts';
import { barChartSvg, lineChartSvg } from '../src/util/svg.ts';
import { load } from '../src/nn/serialization.ts';
import { shiftStatistics, type ShiftLayerStats } from '../src/nn/shift-stats.ts';
import { CrudeNet } from '../src/models/deepshift.ts';
import { getExperiment } from './lib/experiments.ts';
import type { EpochRecord } from './lib/trainer.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string', default: 'docs/results' } },
});
if (positionals.length === 0)
  throw new Error('report: give one or more run directories, e.g. runs/baseline');
for (const dir of positionals) {
  const name = basename(dir);
  const history = JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as EpochRecord[];
  const out = join(values.out!, name);
  mkdirSync(out, { recursive: true });
  copyFileSync(join(dir, 'history.json'), join(out, 'history.json'));
  copyFileSync(join(dir, 'log.txt'), join(out, 'log.txt'));
  // The trained weights (safetensors, loadable by PyTorch too): the tuned DeepShift runs start from the baseline's.
  const { weights, experiment } = JSON.parse(
    readFileSync(join(dir, 'checkpoint.json'), 'utf8'),
  ) as { weights: string; experiment: string };
  copyFileSync(join(dir, weights), join(out, 'model.safetensors'));
  writeShiftReport(experiment, join(dir, weights), out);
  writeFileAtomic(
    join(out, 'accuracy.svg'),
    lineChartSvg({
      title: `${name}: test accuracy per epoch`,
      xLabel: 'epoch',
      yLabel: 'test accuracy (%)',
      series: [
        { name: 'test accuracy', points: history.map((h) => [h.epoch, h.accuracy] as const) },
      ],
    }),
  );
  writeFileAtomic(
    join(out, 'loss.svg'),
    lineChartSvg({
      title: `${name}: loss per epoch`,
      xLabel: 'epoch',
      yLabel: 'average NLL loss',
      series: [
        {
          name: 'train (running mean over the epoch)',
          points: history.map((h) => [h.epoch, h.trainLoss] as const),
        },
        { name: 'test', points: history.map((h) => [h.epoch, h.testLoss] as const) },
      ],
    }),
  );
  const last = history[history.length - 1]!;
  console.log(
    `${name}: ${history.length} epochs, final accuracy ${last.accuracy.toFixed(2)} % → ${out}`,
  );
}

/**
 * Per-layer shift histograms (SVG), zero-sign fractions and a markdown table of a DeepShift run
 * (shift layers, or CrudeNet's crude rounding); nothing for a float net, whose weights would only
 * be crude-rounded for the table.
 */
function writeShiftReport(experiment: string, weightsPath: string, out: string): void {
  const model = getExperiment(experiment).model({ init: null });
  model.loadStateDict(load(weightsPath).tensors);
  const stats = shiftStatistics(model);
  if (!(model instanceof CrudeNet) && stats.every((s) => s.kind === 'crude')) return;
  writeFileAtomic(join(out, 'shifts.json'), JSON.stringify(stats, null, 1) + '\n');
  for (const s of stats) {
    const pct = (n: number) => Number(((100 * n) / s.count).toFixed(3));
    writeFileAtomic(
      join(out, `shifts-${s.name}.svg`),
      barChartSvg({
        title: `${experiment} ${s.name} (${s.kind}): ${s.count} weights, sign 0 for ${pct(s.zeros)} %`,
        xLabel: 'weight = ±2^k: k (sign 0 = weight 0)',
        yLabel: "% of the layer's weights",
        bars: [
          { label: 'sign 0', value: pct(s.zeros), color: '#7f7f7f' },
          ...s.histogram.map((n, i) => ({ label: String(s.shiftMin + i), value: pct(n) })),
        ],
        showValues: false,
      }),
    );
  }
  const table = shiftTable(stats);
  writeFileAtomic(join(out, 'shifts.md'), table);
  console.log(table);
}

function shiftTable(stats: ShiftLayerStats[]): string {
  const rows = stats.map((s) => {
    const used = s.histogram
      .map((n, i) => [s.shiftMin + i, n] as const)
      .filter(([, n]) => n > 0)
      .map(([k]) => k);
    const mode = s.histogram.indexOf(Math.max(...s.histogram)) + s.shiftMin;
    const nz = s.histogram.reduce((a, b) => a + b, 0);
    const mean = s.histogram.reduce((a, n, i) => a + n * (s.shiftMin + i), 0) / (nz || 1);
    return `| ${s.name} | ${s.kind} | ${s.count} | ${(100 * s.zeroFraction).toFixed(2)} % | ${used.length ? `${Math.min(...used)} … ${Math.max(...used)}` : '—'} | ${mode} | ${mean.toFixed(2)} |`;
  });
  return [
    '| layer | type | weights | sign 0 | shifts used | most common shift | mean shift |',
    '| ----- | ---- | ------: | -----: | ----------- | ----------------: | ---------: |',
    ...rows,
    '',
  ].join('\n');
}
