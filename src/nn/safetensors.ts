// The safetensors file format over raw typed arrays (https://github.com/huggingface/safetensors):
//
//   [8 bytes]  N, u64 little-endian: byte length of the header
//   [N bytes]  UTF-8 JSON object, padded with spaces (0x20):
//                {"__metadata__": {str: str},                                   (optional)
//                 name: {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ...}
//   [rest]     byte buffer; [begin, end) is relative to its start, row-major, little-endian.
//
// The writer pads N to a multiple of 8 and lays tensors out contiguously, sorted like the official
// writer (larger item size first, then by name), so every tensor is aligned to its item size. The
// reader checks everything and copies each tensor into its own (aligned) typed array.

import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/fs.ts';

/** Item size in bytes of each safetensors dtype this module reads and writes. */
export const SAFETENSORS_DTYPES = {
  F64: 8,
  I64: 8,
  U64: 8,
  F32: 4,
  I32: 4,
  U32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

/**
 * Data of a stored tensor. F16 and BF16 are kept as their raw 16-bit patterns (Uint16Array);
 * BOOL is a Uint8Array of 0/1.
 */
export type StoredData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** One tensor as stored in a file: dtype, shape and the flat row-major data. */
export interface StoredTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: StoredData;
}

type ArrayCtor = {
  new (buffer: ArrayBuffer): StoredData;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

const ARRAY_OF: Record<SafetensorsDtype, ArrayCtor> = {
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  F32: Float32Array,
  I32: Int32Array,
  U32: Uint32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** Largest header the official implementation accepts. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPES, s);
}

// Reverses each `size`-byte word in place (host <-> little-endian on big-endian hosts).
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isShape(shape: unknown): shape is number[] {
  return (
    Array.isArray(shape) &&
    shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  );
}

// Plain assignment would treat a tensor named '__proto__' as the prototype.
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes.
 * Throws if a name is empty or `__metadata__`, a dtype is unknown, a shape is not a list of
 * non-negative integers, the data's array type does not match the dtype, or its length is not
 * the product of the shape.
 */
export function encodeSafetensors(
  tensors: Record<string, StoredTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    const where = `encodeSafetensors: tensor '${name}'`;
    if (name === '' || name === METADATA_KEY) {
      throw new Error(`encodeSafetensors: invalid tensor name '${name}'`);
    }
    if (!isDtype(t.dtype)) throw new Error(`${where}: unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!isShape(t.shape)) {
      throw new Error(
        `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`,
      );
    }
    const ctor = ARRAY_OF[t.dtype];
    if (!(t.data instanceof ctor)) {
      const got = (t.data as unknown as { constructor?: { name?: string } } | null)?.constructor
        ?.name;
      throw new Error(
        `${where}: dtype ${t.dtype} needs a ${ctor.name}, got ${got ?? String(t.data)}`,
      );
    }
    if (t.data.length !== numel(t.shape)) {
      throw new Error(
        `${where}: data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${numel(t.shape)}`,
      );
    }
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new Error(`encodeSafetensors: metadata '${k}' must be a string, got ${typeof v}`);
      }
    }
  }

  names.sort(
    (a, b) =>
      SAFETENSORS_DTYPES[tensors[b].dtype] - SAFETENSORS_DTYPES[tensors[a].dtype] ||
      compareNames(a, b),
  );
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const end = offset + t.data.byteLength;
    setOwn(header, name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] });
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const name of names) {
    const { data } = tensors[name];
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(bytes, pos);
    if (!LITTLE_ENDIAN) swapBytes(out.subarray(pos, pos + bytes.length), data.BYTES_PER_ELEMENT);
    pos += bytes.length;
  }
  return out;
}

/**
 * Parses and validates safetensors bytes. Errors name `source` (a file path, default
 * '<bytes>') and what is wrong. Returned arrays are fresh copies (aligned, not views of `bytes`).
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = '<bytes>',
): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new Error(`safetensors ${source}: ${msg}`);
  };
  if (bytes.length < 8) {
    fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    fail(`header length ${n} goes beyond the end of the file (${bytes.length} bytes)`);
  }
  const headerLen = Number(n);
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds ${MAX_HEADER_BYTES}`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + headerLen),
    );
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`header must be a JSON object starting with '{'`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    return fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(
      `header must be a JSON object, got ${Array.isArray(header) ? 'an array' : String(header)}`,
    );
  }
  const entries = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  const rawMeta = entries[METADATA_KEY];
  if (rawMeta !== undefined) {
    if (typeof rawMeta !== 'object' || rawMeta === null || Array.isArray(rawMeta)) {
      fail(`${METADATA_KEY} must be an object of strings`);
    }
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string')
        fail(`${METADATA_KEY} value for '${k}' must be a string, got ${JSON.stringify(v)}`);
      setOwn(metadata, k, v as string);
    }
  }

  const dataStart = 8 + headerLen;
  const bufferLen = bytes.length - dataStart;
  const infos: {
    name: string;
    dtype: SafetensorsDtype;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, raw] of Object.entries(entries)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor '${name}'`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      fail(`${where}: entry must be an object with dtype, shape and data_offsets`);
    }
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (!isDtype(dtype)) fail(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!isShape(shape)) {
      fail(
        `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(
        `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
      );
    }
    const d = dtype as SafetensorsDtype;
    const s = shape as number[];
    const [begin, end] = offsets as [number, number];
    const expected = numel(s) * SAFETENSORS_DTYPES[d];
    if (!Number.isSafeInteger(expected) || end - begin !== expected) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${d} shape [${s.join(', ')}] needs ${expected}`,
      );
    }
    if (end > bufferLen) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] go past the end of the data buffer (${bufferLen} bytes); file truncated?`,
      );
    }
    infos.push({ name, dtype: d, shape: s, begin, end });
  }

  // the tensors must tile the buffer exactly: no overlaps, no holes, no trailing bytes
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev = '';
  for (const t of sorted) {
    if (t.begin < pos) {
      fail(
        `tensor '${t.name}' data_offsets [${t.begin}, ${t.end}] overlap tensor '${prev}' (ends at ${pos})`,
      );
    }
    if (t.begin > pos)
      fail(`hole in the data buffer: bytes [${pos}, ${t.begin}) belong to no tensor`);
    pos = t.end;
    prev = t.name;
  }
  if (pos !== bufferLen) {
    fail(`${bufferLen - pos} bytes of trailing data after the last tensor (tensors end at ${pos})`);
  }

  const tensors: Record<string, StoredTensor> = {};
  for (const t of infos) {
    const ctor = ARRAY_OF[t.dtype];
    // not bytes.slice(): on a Node Buffer that is a view into a possibly shared pool
    const copy = new Uint8Array(t.end - t.begin);
    copy.set(bytes.subarray(dataStart + t.begin, dataStart + t.end));
    if (!LITTLE_ENDIAN) swapBytes(copy, ctor.BYTES_PER_ELEMENT);
    setOwn(tensors, t.name, { dtype: t.dtype, shape: t.shape, data: new ctor(copy.buffer) });
  }
  return { tensors, metadata };
}

/** Encodes and writes a safetensors file atomically (temp file + fsync + rename). */
export function saveSafetensors(
  path: string,
  tensors: Record<string, StoredTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a safetensors file; errors name the path. */
export function loadSafetensors(path: string): {
  tensors: Record<string, StoredTensor>;
  metadata: Record<string, string>;
} {
  return decodeSafetensors(readFileSync(path), path);
}
