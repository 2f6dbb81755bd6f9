/**
 * npm run report -- runs/NAME [runs/NAME2 ...]: copies each run's log, per-epoch JSON and final
 * weights into docs/results/NAME/ and draws its test accuracy and loss per epoch as SVG beside them.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/util/fs.ts';
import { lineChartSvg } from '../src/util/svg.ts';
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
  const { weights } = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as {
    weights: string;
  };
  copyFileSync(join(dir, weights), join(out, 'model.safetensors'));
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
