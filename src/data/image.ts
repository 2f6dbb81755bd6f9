/**
 * Single images for inference: 8-bit PNG files (decoded here, with node:zlib for the inflate) and
 * unsigned-byte IDX image files (validated by `parseIdx`), as 28×28 grayscale pixels.
 *
 * PNG support: bit depth 8, colour types gray (0), RGB (2), gray + alpha (4) and RGBA (6), no
 * interlacing (what image editors and PIL write by default). Colour is turned into gray with
 * ITU-R 601 luma (as PIL's `convert('L')`), and transparent pixels are composited onto black, the
 * MNIST background. Images are not resized: anything but 28×28 is an error naming the size.
 */
import { readFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from '../util/crc32.ts';
import { MNIST_COLS, MNIST_ROWS, parseIdx } from './mnist.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Channels per pixel of each supported colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major 8-bit gray pixels, width·height of them. */
  pixels: Uint8Array;
}

/** Decodes an 8-bit, non-interlaced PNG to gray pixels. Errors start with `source`. */
export function decodePng(bytes: Uint8Array, source = 'PNG'): GrayImage {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.length < 8 || PNG_SIGNATURE.some((v, i) => bytes[i] !== v)) {
    fail('not a PNG file (the 8-byte PNG signature is missing)');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let header: { width: number; height: number; depth: number; color: number } | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (!ended) {
    if (pos + 12 > bytes.length) fail(`truncated: chunk header at byte ${pos} runs past the end`);
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const end = pos + 12 + len;
    if (end > bytes.length) {
      fail(
        `truncated: chunk ${type} needs ${len} data bytes, file ends ${bytes.length - pos - 12} bytes in`,
      );
    }
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    const stored = dv.getUint32(pos + 8 + len);
    const actual = crc32(bytes.subarray(pos + 4, pos + 8 + len));
    if (stored !== actual) {
      fail(
        `chunk ${type} at byte ${pos}: CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`,
      );
    }
    if (type === 'IHDR') {
      if (len !== 13) fail(`IHDR has ${len} bytes, expected 13`);
      const h = new DataView(data.buffer, data.byteOffset, 13);
      header = {
        width: h.getUint32(0),
        height: h.getUint32(4),
        depth: data[8]!,
        color: data[9]!,
      };
      if (header.depth !== 8) fail(`bit depth ${header.depth} is not supported (only 8)`);
      if (CHANNELS[header.color] === undefined) {
        fail(
          `colour type ${header.color} is not supported (gray 0, RGB 2, gray+alpha 4, RGBA 6; palette PNGs are not)`,
        );
      }
      if (data[12] !== 0) fail('interlaced PNGs are not supported');
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
    } else if ((bytes[pos + 4]! & 0x20) === 0) {
      fail(`unknown critical chunk ${type}`);
    }
    pos = end;
  }
  if (!header) return fail('no IHDR chunk');
  const { width, height, color } = header;
  if (width === 0 || height === 0) fail(`image is ${width}×${height}`);
  const ch = CHANNELS[color]!;
  const stride = width * ch;
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    return fail(`image data does not inflate (${(e as Error).message})`);
  }
  if (raw.length !== height * (stride + 1)) {
    fail(
      `image data has ${raw.length} bytes, expected ${height * (stride + 1)} for ${width}×${height} with ${ch} channel(s)`,
    );
  }
  // undo the per-row filters (PNG spec §9), in place into `px`
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= ch ? px[row + i - ch]! : 0;
      const b = y > 0 ? px[prev + i]! : 0;
      const c = i >= ch && y > 0 ? px[prev + i - ch]! : 0;
      let pred: number;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          return fail(`row ${y} has unknown filter type ${filter}`);
      }
      px[row + i] = (raw[src + i]! + pred) & 0xff;
    }
  }
  const gray = new Uint8Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const o = i * ch;
    let v: number;
    if (color === 0 || color === 4) v = px[o]!;
    else v = Math.floor((px[o]! * 299 + px[o + 1]! * 587 + px[o + 2]! * 114) / 1000);
    if (color === 4 || color === 6) v = Math.round((v * px[o + ch - 1]!) / 255); // onto black
    gray[i] = v;
  }
  return { width, height, pixels: gray };
}

/** Encodes gray pixels as an 8-bit grayscale PNG (filter 0 on every row). */
export function encodePng(img: GrayImage): Uint8Array {
  const { width, height, pixels } = img;
  if (pixels.length !== width * height) {
    throw new Error(`encodePng: ${pixels.length} pixels for a ${width}×${height} image`);
  }
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++)
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const ihdr = new Uint8Array(13);
  const h = new DataView(ihdr.buffer);
  h.setUint32(0, width);
  h.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // gray
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  // a plain Uint8Array that owns its buffer (Buffer.concat may return a view into a pool)
  return new Uint8Array(
    Buffer.concat([
      Uint8Array.from(PNG_SIGNATURE),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

/**
 * The 28×28 gray images in a file: one for a `.png`, every image of an unsigned-byte IDX image
 * file (magic 0x00000803, n×28×28) otherwise. `invert` maps v → 255 − v (for dark digits drawn
 * on a light background; MNIST digits are light on black).
 */
export function loadImages(path: string, opts: { invert?: boolean } = {}): Uint8Array[] {
  const bytes = new Uint8Array(readFileSync(path));
  let images: Uint8Array[];
  if (path.toLowerCase().endsWith('.png')) {
    const img = decodePng(bytes, path);
    if (img.width !== MNIST_COLS || img.height !== MNIST_ROWS) {
      throw new Error(
        `${path}: image is ${img.width}×${img.height}; the model needs ${MNIST_COLS}×${MNIST_ROWS} (resize it first)`,
      );
    }
    images = [img.pixels];
  } else {
    const idx = parseIdx(bytes, path, {
      dims: 3,
      shape: [null, MNIST_ROWS, MNIST_COLS],
      what: 'images',
    });
    const size = MNIST_ROWS * MNIST_COLS;
    images = Array.from({ length: idx.shape[0]! }, (_, i) =>
      idx.data.slice(i * size, (i + 1) * size),
    );
  }
  if (opts.invert)
    for (const im of images) for (let i = 0; i < im.length; i++) im[i] = 255 - im[i]!;
  return images;
}
