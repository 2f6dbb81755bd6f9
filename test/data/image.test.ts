/** PNG / IDX single-image loading for `npm run infer -- --image`. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, loadImages } from '../../src/data/image.ts';
import { loadMnistRaw } from '../../src/data/mnist.ts';

const dir = 'test/fixtures/images';
const pngPath = join(dir, 'mnist-test0-rgba-filters.png');
const ref = JSON.parse(readFileSync(join(dir, 'mnist-test0-rgba-filters.json'), 'utf8')) as {
  width: number;
  height: number;
  lumaTimesAlpha: number[];
};

describe('decodePng', () => {
  it('decodes an RGBA PNG written by an independent encoder (all five row filters, extra chunk)', () => {
    const img = decodePng(new Uint8Array(readFileSync(pngPath)), pngPath);
    expect([img.width, img.height]).toEqual([ref.width, ref.height]);
    expect(Array.from(img.pixels)).toEqual(ref.lumaTimesAlpha.map((v) => Math.round(v / 255)));
  });

  it('round-trips gray images through encodePng', () => {
    const pixels = Uint8Array.from({ length: 5 * 3 }, (_, i) => (i * 37) % 256);
    const img = decodePng(encodePng({ width: 5, height: 3, pixels }));
    expect(img).toEqual({ width: 5, height: 3, pixels });
  });

  it('rejects broken files with the source and the reason', () => {
    const good = new Uint8Array(readFileSync(pngPath));
    expect(() => decodePng(good.subarray(0, 4), 'a.png')).toThrow(/a\.png: not a PNG file/);
    expect(() => decodePng(good.subarray(0, 200), 'a.png')).toThrow(/a\.png: truncated: chunk/);
    const flipped = good.slice();
    flipped[50] ^= 0xff; // inside the tEXt chunk's data → CRC mismatch
    expect(() => decodePng(flipped, 'a.png')).toThrow(
      /a\.png: chunk \w+ at byte \d+: CRC mismatch/,
    );
    const g16 = encodePng({ width: 1, height: 1, pixels: Uint8Array.of(0) });
    g16[8 + 8 + 8] = 16; // IHDR bit depth (CRC now wrong too, but the CRC check comes first)
    expect(() => decodePng(g16, 'b.png')).toThrow(/b\.png: chunk IHDR at byte 8: CRC mismatch/);
  });

  it('rejects unsupported formats by name', () => {
    // rebuild IHDR with a valid CRC for bit depth 16 and for interlacing
    const base = encodePng({ width: 1, height: 1, pixels: Uint8Array.of(0) });
    const patch = (offset: number, value: number): Uint8Array => {
      const b = base.slice();
      b[16 + offset] = value;
      const dv = new DataView(b.buffer);
      let c = 0xffffffff;
      for (let i = 12; i < 29; i++) {
        c ^= b[i]!;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      dv.setUint32(29, (c ^ 0xffffffff) >>> 0);
      return b;
    };
    expect(() => decodePng(patch(8, 16), 'c.png')).toThrow(/bit depth 16 is not supported/);
    expect(() => decodePng(patch(9, 3), 'c.png')).toThrow(/colour type 3 is not supported/);
    expect(() => decodePng(patch(12, 1), 'c.png')).toThrow(/interlaced PNGs are not supported/);
  });
});

describe('loadImages', () => {
  it('reads every image of an IDX file, equal to the MNIST loader', async () => {
    const imgs = loadImages(join(dir, 'mnist-test-first3.idx3-ubyte'));
    const raw = await loadMnistRaw('test');
    expect(imgs).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      expect(Array.from(imgs[i]!)).toEqual(Array.from(raw.images.subarray(i * 784, (i + 1) * 784)));
    }
  });

  it('reads one PNG, inverts on request, and refuses other sizes', () => {
    const [img] = loadImages(pngPath);
    const [inv] = loadImages(pngPath, { invert: true });
    expect(Array.from(inv!)).toEqual(Array.from(img!, (v) => 255 - v));
    const tmp = mkdtempSync(join(tmpdir(), 'shiftgrad-img-'));
    const small = join(tmp, 'small.png');
    writeFileSync(small, encodePng({ width: 4, height: 2, pixels: new Uint8Array(8) }));
    expect(() => loadImages(small)).toThrow(/small\.png: image is 4×2; the model needs 28×28/);
    const bad = join(tmp, 'bad.idx');
    writeFileSync(bad, Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 1, 5));
    expect(() => loadImages(bad)).toThrow(/bad\.idx/);
  });
});
