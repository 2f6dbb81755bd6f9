import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  type StoredTensor,
} from '../../src/nn/safetensors.ts';
import { writeFileAtomic, writeFileAtomicAsync } from '../../src/util/fs.ts';

/** A file from a header object and a data buffer of `dataLen` bytes (0, 1, 2, ...). */
function makeFile(header: unknown, dataLen: number, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  for (let i = 0; i < dataLen; i++) out[8 + json.length + i] = i & 0xff;
  return out;
}

const f32 = (name: string, shape: number[], begin: number) => ({
  [name]: {
    dtype: 'F32',
    shape,
    data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)],
  },
});

describe('safetensors round trip', () => {
  it('keeps dtype, shape, data and metadata for every kind of tensor', () => {
    const tensors: Record<string, StoredTensor> = {
      'conv1.weight': {
        dtype: 'F32',
        shape: [2, 1, 2, 2],
        data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -0, 7, 8]),
      },
      'fc.bias': { dtype: 'F64', shape: [3], data: Float64Array.from([Math.PI, -Infinity, NaN]) },
      labels: {
        dtype: 'I32',
        shape: [2, 2],
        data: Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31)]),
      },
      step: { dtype: 'I64', shape: [], data: BigInt64Array.from([-(2n ** 62n)]) },
      scalar: { dtype: 'F32', shape: [], data: Float32Array.from([42]) },
      empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
      empty64: { dtype: 'F64', shape: [4, 0], data: new Float64Array(0) },
      mask: { dtype: 'U8', shape: [5], data: Uint8Array.from([0, 1, 255, 3, 4]) },
      flags: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      half: { dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
    };
    const metadata = { format: 'pt', epoch: '3', ünï: 'cödé ✓' };
    const bytes = encodeSafetensors(tensors, metadata);
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual(metadata);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = back.tensors[name];
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(
        Array.from(t.data as ArrayLike<number | bigint>),
      );
      // fresh aligned copies, not views into the file bytes
      expect(got.data.buffer).not.toBe(bytes.buffer);
      expect(got.data.byteOffset).toBe(0);
    }
    expect(Object.is((back.tensors['conv1.weight'].data as Float32Array)[5], -0)).toBe(true);
  });

  it('no metadata gives {} and omits __metadata__; empty file set works', () => {
    const bytes = encodeSafetensors({});
    expect(new TextDecoder().decode(bytes.subarray(8)).trim()).toBe('{}');
    expect(decodeSafetensors(bytes)).toEqual({ tensors: {}, metadata: {} });
    const withEmptyMeta = encodeSafetensors({}, {});
    expect(new TextDecoder().decode(withEmptyMeta)).not.toContain('__metadata__');
  });

  it('lays tensors out by item size then name, each aligned to its item size', () => {
    const bytes = encodeSafetensors({
      b: { dtype: 'U8', shape: [3], data: new Uint8Array(3) },
      z: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
      a: { dtype: 'F32', shape: [1], data: new Float32Array(1) },
      d: { dtype: 'F64', shape: [1], data: new Float64Array(1) },
    });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<
      string,
      { data_offsets: number[] }
    >;
    expect(header.d.data_offsets).toEqual([0, 8]);
    expect(header.a.data_offsets).toEqual([8, 12]);
    expect(header.z.data_offsets).toEqual([12, 16]);
    expect(header.b.data_offsets).toEqual([16, 19]);
    expect(bytes.length).toBe(8 + n + 19);
  });

  it('encodes views (non-zero byteOffset) by their own bytes only', () => {
    const backing = Float32Array.from([9, 9, 1, 2, 9]);
    const view = backing.subarray(2, 4);
    const back = decodeSafetensors(
      encodeSafetensors({ v: { dtype: 'F32', shape: [2], data: view } }),
    );
    expect(Array.from(back.tensors.v.data as Float32Array)).toEqual([1, 2]);
  });

  it('a tensor named __proto__ is an ordinary entry', () => {
    const tensors = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    tensors['__proto__'] = { dtype: 'F32', shape: [1], data: Float32Array.from([5]) };
    const back = decodeSafetensors(encodeSafetensors(tensors as Record<string, StoredTensor>));
    expect(Object.keys(back.tensors)).toEqual(['__proto__']);
    expect(Array.from(back.tensors['__proto__'].data as Float32Array)).toEqual([5]);
  });
});

describe('safetensors bytes', () => {
  it('matches a hand-computed tiny file', () => {
    const bytes = encodeSafetensors({
      a: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
    });
    // header JSON is 54 bytes, padded with 2 spaces to 56 = 0x38
    const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(json.length).toBe(54);
    // prettier-ignore
    const expected = [
      0x38, 0, 0, 0, 0, 0, 0, 0, // u64 LE header length 56
      ...Array.from(json, (ch) => ch.charCodeAt(0)), 0x20, 0x20, // JSON + 2 spaces
      0x00, 0x00, 0x80, 0x3f, // 1.0f little-endian
      0x00, 0x00, 0x00, 0x40, // 2.0f
    ];
    expect(bytes.length).toBe(72);
    expect(Array.from(bytes)).toEqual(expected);
    expect(decodeSafetensors(Uint8Array.from(expected)).tensors.a).toEqual({
      dtype: 'F32',
      shape: [2],
      data: Float32Array.from([1, 2]),
    });
  });

  it('with metadata, __metadata__ comes first and the header stays 8-aligned', () => {
    const bytes = encodeSafetensors(
      { x: { dtype: 'U8', shape: [1], data: Uint8Array.from([9]) } },
      { k: 'v' },
    );
    const json = '{"__metadata__":{"k":"v"},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const padded = Math.ceil(json.length / 8) * 8;
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + padded))).toBe(json.padEnd(padded, ' '));
    expect(bytes[0]).toBe(padded);
    expect(bytes.length).toBe(8 + padded + 1);
    expect(bytes[bytes.length - 1]).toBe(9);
  });

  it('reads a header without padding and with Buffer input at an odd offset', () => {
    const raw = makeFile(f32('w', [2], 0), 8);
    const shifted = Buffer.alloc(raw.length + 1);
    shifted.set(raw, 1);
    const view = shifted.subarray(1);
    const { tensors } = decodeSafetensors(view);
    expect(tensors.w.shape).toEqual([2]);
    expect(tensors.w.data.byteOffset).toBe(0);
  });
});

describe('safetensors decode errors name the source and the problem', () => {
  const src = 'model.safetensors';
  const bad = (bytes: Uint8Array, re: RegExp) =>
    expect(() => decodeSafetensors(bytes, src)).toThrow(re);

  it('file shorter than 8 bytes', () => {
    bad(new Uint8Array(5), /safetensors model\.safetensors: file is 5 bytes, too short/);
  });

  it('header length beyond the file', () => {
    const b = makeFile({}, 0);
    new DataView(b.buffer).setBigUint64(0, 1000n, true);
    bad(b, /model\.safetensors: header length 1000 goes beyond the end of the file \(10 bytes\)/);
    new DataView(b.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    bad(b, /header length 18446744073709551615 goes beyond/);
  });

  it('header not UTF-8, not JSON, not an object', () => {
    const notUtf8 = makeFile(null, 0, '{"a"}   ');
    notUtf8[10] = 0xff;
    bad(notUtf8, /model\.safetensors: header is not valid UTF-8/);
    bad(makeFile(null, 0, '{"a": 1,'), /model\.safetensors: header is not valid JSON/);
    bad(makeFile(null, 0, '[1, 2]'), /model\.safetensors: header must be a JSON object/);
    bad(makeFile(null, 0, '42'), /header must be a JSON object/);
    bad(makeFile(null, 0, ''), /header must be a JSON object/);
    bad(makeFile({ a: 5 }, 0), /tensor 'a': entry must be an object/);
  });

  it('unknown dtype', () => {
    bad(
      makeFile({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4),
      /model\.safetensors: tensor 'w': unknown dtype "F33"/,
    );
  });

  it('shape not an array of non-negative integers', () => {
    for (const shape of [[-1], [1.5], '2', [null], undefined]) {
      bad(
        makeFile({ w: { dtype: 'F32', shape, data_offsets: [0, 4] } }, 4),
        /tensor 'w': shape must be an array of non-negative integers/,
      );
    }
  });

  it('data_offsets malformed, not matching shape x itemsize, or past the buffer (truncated)', () => {
    for (const offs of [[0], [4, 0], [-4, 0], [0, '4'], 'x']) {
      bad(
        makeFile({ w: { dtype: 'F32', shape: [1], data_offsets: offs } }, 4),
        /tensor 'w': data_offsets must be \[begin, end\] with 0 <= begin <= end/,
      );
    }
    bad(
      makeFile({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20),
      /tensor 'w': data_offsets \[0, 20\] span 20 bytes but F32 shape \[2, 3\] needs 24/,
    );
    // truncated: the header describes 24 bytes but only 10 remain
    const full = makeFile(f32('w', [2, 3], 0), 24);
    bad(
      full.subarray(0, full.length - 14),
      /tensor 'w': data_offsets \[0, 24\] go past the end of the data buffer \(10 bytes\); file truncated/,
    );
  });

  it('overlapping tensors, holes and trailing data', () => {
    bad(
      makeFile({ ...f32('a', [2], 0), ...f32('b', [2], 4) }, 12),
      /model\.safetensors: tensor 'b' data_offsets \[4, 12\] overlap tensor 'a' \(ends at 8\)/,
    );
    bad(
      makeFile({ ...f32('a', [2], 0), ...f32('b', [2], 12) }, 20),
      /model\.safetensors: hole in the data buffer: bytes \[8, 12\) belong to no tensor/,
    );
    bad(makeFile({ ...f32('a', [2], 4) }, 12), /hole in the data buffer: bytes \[0, 4\)/);
    bad(
      makeFile(f32('a', [2], 0), 11),
      /model\.safetensors: 3 bytes of trailing data after the last tensor/,
    );
    bad(makeFile({}, 1), /1 bytes of trailing data/);
    // empty tensors at the same offset are fine
    const ok = makeFile({ ...f32('a', [0], 0), ...f32('b', [0], 0), ...f32('c', [1], 0) }, 4);
    expect(Object.keys(decodeSafetensors(ok).tensors).sort()).toEqual(['a', 'b', 'c']);
  });

  it('metadata that is not string to string', () => {
    bad(
      makeFile({ __metadata__: { epoch: 3 } }, 0),
      /__metadata__ value for 'epoch' must be a string/,
    );
    bad(makeFile({ __metadata__: [] }, 0), /__metadata__ must be an object of strings/);
  });

  it('loadSafetensors names the file path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shiftgrad-st-'));
    try {
      const path = join(dir, 'broken.safetensors');
      writeFileSync(path, Uint8Array.from([1, 2, 3]));
      expect(() => loadSafetensors(path)).toThrow(`safetensors ${path}: file is 3 bytes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('encodeSafetensors rejects bad input', () => {
  const enc = (t: unknown) => () => encodeSafetensors(t as Record<string, StoredTensor>);
  it('throws clear errors', () => {
    expect(enc({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(
      "encodeSafetensors: tensor 'w': data has 2 elements but shape [3] needs 3",
    );
    expect(enc({ w: { dtype: 'F32', shape: [2], data: new Float64Array(2) } })).toThrow(
      "encodeSafetensors: tensor 'w': dtype F32 needs a Float32Array, got Float64Array",
    );
    expect(enc({ w: { dtype: 'Q4', shape: [2], data: new Float32Array(2) } })).toThrow(
      /unknown dtype "Q4"/,
    );
    expect(enc({ w: { dtype: 'F32', shape: [-2], data: new Float32Array(2) } })).toThrow(
      /shape must be/,
    );
    expect(enc({ __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } })).toThrow(
      /invalid tensor name '__metadata__'/,
    );
    expect(() => encodeSafetensors({}, { n: 3 as unknown as string })).toThrow(
      /metadata 'n' must be a string/,
    );
  });
});

describe('saveSafetensors / writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shiftgrad-st-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const w: Record<string, StoredTensor> = {
    w: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
  };

  it('saves and loads, creating parent directories and leaving no temp files', () => {
    const path = join(dir, 'nested', 'deeper', 'model.safetensors');
    saveSafetensors(path, w, { note: 'x' });
    expect(readdirSync(join(dir, 'nested', 'deeper'))).toEqual(['model.safetensors']);
    const back = loadSafetensors(path);
    expect(back.metadata).toEqual({ note: 'x' });
    expect(Array.from(back.tensors.w.data as Float32Array)).toEqual([1, 2]);
    saveSafetensors(path, { v: { dtype: 'I32', shape: [1], data: Int32Array.from([7]) } }); // overwrite
    expect(Object.keys(loadSafetensors(path).tensors)).toEqual(['v']);
    expect(readdirSync(join(dir, 'nested', 'deeper'))).toEqual(['model.safetensors']);
  });

  it('a failing encode leaves a pre-existing file intact', () => {
    const path = join(dir, 'model.safetensors');
    saveSafetensors(path, w);
    const before = readFileSync(path);
    expect(() =>
      saveSafetensors(path, { w: { dtype: 'F32', shape: [5], data: new Float32Array(2) } }),
    ).toThrow(/data has 2 elements/);
    expect(readFileSync(path)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('a failing write removes the temp file and keeps the old content', () => {
    const path = join(dir, 'file.bin');
    writeFileAtomic(path, 'old content');
    // invalid data makes the write itself throw after the temp file was created
    expect(() => writeFileAtomic(path, 12345 as unknown as string)).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old content');
    expect(readdirSync(dir)).toEqual(['file.bin']);
  });

  it('a failing rename (target is a directory) removes the temp file', () => {
    const target = join(dir, 'occupied');
    mkdirSync(join(target, 'inside'), { recursive: true });
    expect(() => writeFileAtomic(target, Uint8Array.from([1, 2, 3]))).toThrow();
    expect(readdirSync(dir)).toEqual(['occupied']);
    expect(readdirSync(target)).toEqual(['inside']);
  });

  it('async variant writes atomically and cleans up on failure', async () => {
    const path = join(dir, 'a', 'b.txt');
    await writeFileAtomicAsync(path, 'hello');
    expect(readFileSync(path, 'utf8')).toBe('hello');
    await writeFileAtomicAsync(path, new TextEncoder().encode('bytes'));
    expect(readFileSync(path, 'utf8')).toBe('bytes');
    await expect(writeFileAtomicAsync(path, 1 as unknown as string)).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('bytes');
    expect(readdirSync(join(dir, 'a'))).toEqual(['b.txt']);
  });
});
