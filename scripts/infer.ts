/**
 * npm run infer -- --model FILE [--limit N --batch-size 100 --threads 1]
 *   classifies the MNIST test set with a packed shift model (src/nn/shift-export.ts) on integer
 *   kernels only, and prints accuracy, agreement with the float simulation (the float PS model with
 *   DeepShift's fixed-point rounding of activations) and with the plain float PS model, and
 *   images/s of the integer runner vs the float PS model.
 * npm run infer -- --model FILE --image IMG [--image IMG2 ...] [--invert]
 *   classifies single images instead: 28×28 PNGs (8-bit gray/RGB/RGBA) or unsigned-byte IDX image
 *   files (every image in them), printing the integer-kernel and float predictions for each.
 * npm run infer -- --experiment ps|ps-tuned|q-tuned --weights FILE.safetensors --model FILE [...]
 *   first exports a trained DeepShift run (e.g. docs/results/ps-tuned/model.safetensors) to FILE.
 * npm run infer -- --convert BASELINE.safetensors|random --model FILE [...]
 *   first converts a BaselineNet (trained weights, or a seed-1 random init) with
 *   convertToShift(model, {shiftType: 'PS'}), exports it to FILE and prints the size ratio.
 */
import { parseArgs } from 'node:util';
import { BaselineNet, manualSeed, nn, noGrad } from '../src/index.ts';
import { DataLoader, mnist, Compose, Normalize, ToTensor } from '../src/data/index.ts';
import {
  IntegerShiftNet,
  exportShiftModel,
  floatShiftNet,
  loadShiftModel,
} from '../src/nn/shift-export.ts';
import { setNumThreads } from '../src/tensor/kernels/parallel.ts';
import { loadImages } from '../src/data/image.ts';
import { normalizeMnistPixels } from '../src/data/mnist.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { getExperiment } from './lib/experiments.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    convert: { type: 'string' },
    experiment: { type: 'string' },
    weights: { type: 'string' },
    limit: { type: 'string' },
    'batch-size': { type: 'string', default: '100' },
    threads: { type: 'string', default: '1' },
    image: { type: 'string', multiple: true },
    invert: { type: 'boolean', default: false },
  },
});
if (!values.model) throw new Error('infer: --model FILE is required');
setNumThreads(Number(values.threads));

if (values.convert) {
  manualSeed(1);
  const base = new BaselineNet();
  if (values.convert !== 'random') base.loadStateDict(nn.load(values.convert).tensors);
  const { model } = nn.convertToShift(base, { shiftType: 'PS' });
  const r = exportShiftModel(model, values.model);
  console.log(
    `exported ${values.convert} as PS to ${r.path}: ${r.bytes} bytes; float32 safetensors of the PS model ${r.safetensorsBytes} bytes (${r.ratio.toFixed(1)}× larger); dense float32 weights ${r.denseFloat32Bytes} bytes (${(r.denseFloat32Bytes / r.bytes).toFixed(1)}× larger)`,
  );
}

if (values.experiment || values.weights) {
  if (!values.experiment || !values.weights) {
    throw new Error('infer: --experiment and --weights go together');
  }
  manualSeed(1);
  const model = getExperiment(values.experiment).model({ init: null });
  model.loadStateDict(nn.load(values.weights).tensors);
  const r = exportShiftModel(model, values.model);
  console.log(
    `exported ${values.experiment} weights ${values.weights} to ${r.path}: ${r.bytes} bytes; float32 safetensors ${r.safetensorsBytes} bytes (${r.ratio.toFixed(1)}× larger); dense float32 weights ${r.denseFloat32Bytes} bytes (${(r.denseFloat32Bytes / r.bytes).toFixed(1)}× larger)`,
  );
}

const packed = loadShiftModel(values.model);
const bits = packed.layers.map((l) => `${l.name} ${l.bits}b [${l.shiftMin}, ${l.shiftMax}]`);
console.log(
  `model ${values.model}: ${bits.join(', ')}; activations Q${packed.fixedPoint.integerBits}.${packed.fixedPoint.fractionBits}`,
);

if (values.image) {
  const int = new IntegerShiftNet(packed);
  const flt = floatShiftNet(packed);
  noGrad(() => {
    for (const path of values.image!) {
      const images = loadImages(path, { invert: values.invert });
      const x = Tensor.fromData(
        normalizeMnistPixels(Uint8Array.from(images.flatMap((im) => Array.from(im)))),
        [images.length, 1, 28, 28],
      );
      const pi = int.forward(x).argmax(1).toTypedArray();
      const prob = flt.forward(x).exp(); // the nets end in logSoftmax
      const pf = prob.argmax(1).toTypedArray();
      const p = prob.toTypedArray();
      images.forEach((_, i) => {
        const name = images.length > 1 ? `${path}[${i}]` : path;
        const conf = (100 * p[i * 10 + pf[i]!]!).toFixed(1);
        console.log(`${name}: ${pi[i]} (integer kernels); float PS model ${pf[i]} (p = ${conf} %)`);
      });
    }
  });
  process.exit(0);
}

const transform = new Compose([new ToTensor(), new Normalize(0.1307, 0.3081)]);
let test = await mnist('test', { transform });
if (values.limit) test = test.subset(Number(values.limit));
const int = new IntegerShiftNet(packed);
const sim = floatShiftNet(packed, { simulateFixedPoint: true });
const flt = floatShiftNet(packed);

let n = 0;
const correct = { int: 0, sim: 0, flt: 0 };
const agree = { sim: 0, flt: 0 };
const ms = { int: 0, sim: 0, flt: 0 };
noGrad(() => {
  for (const [x, y] of new DataLoader(test, { batchSize: Number(values['batch-size']) })) {
    const labels = y.toTypedArray();
    const time = (k: keyof typeof ms, f: () => ArrayLike<number>) => {
      const t0 = performance.now();
      const p = f();
      ms[k] += performance.now() - t0;
      return p;
    };
    const pi = time('int', () => int.forward(x).argmax(1).toTypedArray());
    const ps = time('sim', () => sim.forward(x).argmax(1).toTypedArray());
    const pf = time('flt', () => flt.forward(x).argmax(1).toTypedArray());
    for (let i = 0; i < labels.length; i++) {
      correct.int += +(pi[i] === labels[i]);
      correct.sim += +(ps[i] === labels[i]);
      correct.flt += +(pf[i] === labels[i]);
      agree.sim += +(pi[i] === ps[i]);
      agree.flt += +(pi[i] === pf[i]);
    }
    n += labels.length;
    process.stdout.write(`\r${n}/${test.length} images`);
  }
});
const pct = (c: number) => `${((100 * c) / n).toFixed(2)} %`;
const ips = (t: number) => ((1000 * n) / t).toFixed(1);
console.log(`\n
| model                                  | accuracy | agrees with integer | images/s |
| -------------------------------------- | -------: | ------------------: | -------: |
| integer shift kernels (int32 only)     | ${pct(correct.int)} |                   — | ${ips(ms.int)} |
| float simulation (fixed-point acts)    | ${pct(correct.sim)} | ${agree.sim}/${n} (${pct(agree.sim)}) | ${ips(ms.sim)} |
| float PS model (float32 multiply)      | ${pct(correct.flt)} | ${agree.flt}/${n} (${pct(agree.flt)}) | ${ips(ms.flt)} |

${n} MNIST test images, batch ${values['batch-size']}, ${values.threads} kernel thread(s), node ${process.version}`);
