/** `DataLoader`: batches of a dataset, optionally shuffled by a seeded generator. */
import { Tensor } from '../tensor/tensor.ts';
import { stack } from '../autograd/ops/index.ts';
import { defaultGenerator, Generator, randpermArray } from '../tensor/random.ts';
import type { Dataset } from './dataset.ts';

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /**
   * Drives the shuffle. Without one, each epoch's order comes from a generator seeded by a draw
   * from the global generator (as PyTorch's RandomSampler does), so `manualSeed` fixes it.
   */
  generator?: Generator;
}

export class DataLoader implements Iterable<[Tensor, Tensor]> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator | undefined;

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 1;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of one epoch (draws from the generator when shuffling). */
  order(): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    const g = defaultGenerator;
    const gen = this.generator ?? new Generator(g.nextUint32() * 2097152 + (g.nextUint32() >>> 11));
    return randpermArray(n, gen);
  }

  *[Symbol.iterator](): Iterator<[Tensor, Tensor]> {
    const order = this.order();
    const ds = this.dataset;
    for (let b = 0; b < this.length; b++) {
      const idx = order.subarray(
        b * this.batchSize,
        Math.min((b + 1) * this.batchSize, order.length),
      );
      if (ds.getBatch) {
        yield ds.getBatch(idx);
      } else {
        const items = Array.from(idx, (i) => ds.getItem(i));
        yield [
          stack(items.map(([x]) => x)),
          Tensor.fromData(
            Int32Array.from(items, ([, y]) => y),
            [items.length],
          ),
        ];
      }
    }
  }
}
