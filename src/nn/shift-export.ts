/**
 * Packed DeepShift models and their integer-only runner.
 *
 * `exportShiftModel(model, path)` stores a model made of shift layers (LinearShift / Conv2dShift,
 * or the Q layers, whose weights are exactly 0 or ±2^k) plus the BaselineNet glue (relu, 2×2
 * max-pool, flatten) as one small file; `loadShiftModel(path)` reads it back, `IntegerShiftNet`
 * runs it with integer kernels only up to the last layer's output, and `floatShiftNet` rebuilds the
 * float model (optionally with the same fixed-point rounding of activations: the float simulation).
 *
 * File layout (little-endian):
 *   0  "SGSH"           magic
 *   4  u16 version (1)  6  u16 0 (reserved)
 *   8  u32 H            header length in bytes
 *   12 header           UTF-8 JSON: fixedPoint, program, layers (name, kind, weightShape, conv
 *                       options, bits, shiftMin, shiftMax, payload offsets, bias length)
 *   12+H payload        per layer: weight codes bit-packed LSB first, then float32 biases
 *   end−4 u32 CRC-32    of every byte before it
 * Weight code (per layer, n = shiftMax − shiftMin + 1 shift values): 0 = zero weight,
 * 1 … n = +2^(shiftMin + code − 1), n+1 … 2n = −2^(shiftMin + code − n − 1);
 * bits = ⌈log2(2n + 1)⌉ (PS with shifts in [−14, 0]: 31 codes → 5 bits).
 */
import { readFileSync } from 'node:fs';
import { Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { crc32 } from '../util/crc32.ts';
import { conv2dParams } from '../tensor/kernels/conv2d.ts';
import { maxPool2dParams } from '../tensor/kernels/pool.ts';
import {
  DEFAULT_FIXED_POINT,
  checkFixedPoint,
  fromFixedPoint,
  maxPool2dInt,
  reluInt,
  shiftCodesFromFloat,
  shiftConv2d,
  shiftLinear,
  shiftPlan,
  toFixedPoint,
  type FixedPointFormat,
  type ShiftCodes,
  type ShiftPlan,
} from '../tensor/kernels/shift.ts';
import { Module } from './module.ts';
import { encodeSafetensors } from './safetensors.ts';
import * as F from './functional.ts';
import { Conv2dShift, LinearShift } from './shift.ts';
import { Conv2dShiftQ, LinearShiftQ } from './shift-q.ts';

export const SHIFT_MODEL_MAGIC = 'SGSH';
export const SHIFT_MODEL_VERSION = 1;

/** One step of the model's forward program. */
export type ProgramStep =
  | { op: 'layer'; name: string }
  | { op: 'relu' }
  | { op: 'maxpool2d'; kernelSize: number }
  | { op: 'flatten' };

/** BaselineNet's forward (eval mode: dropout is the identity). */
export const BASELINE_PROGRAM: ProgramStep[] = [
  { op: 'layer', name: 'conv1' },
  { op: 'relu' },
  { op: 'layer', name: 'conv2' },
  { op: 'relu' },
  { op: 'maxpool2d', kernelSize: 2 },
  { op: 'flatten' },
  { op: 'layer', name: 'fc1' },
  { op: 'relu' },
  { op: 'layer', name: 'fc2' },
];

export interface PackedLayer {
  name: string;
  kind: 'linear' | 'conv2d';
  /** linear [out, in]; conv2d [cOut, cIn/groups, kh, kw] */
  weightShape: number[];
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  groups?: number;
  codes: ShiftCodes;
  bias: Float32Array | null;
  /** Bits per weight code and the shift range they encode. */
  bits: number;
  shiftMin: number;
  shiftMax: number;
}

export interface ShiftModel {
  fixedPoint: FixedPointFormat;
  program: ProgramStep[];
  layers: PackedLayer[];
}

type AnyShiftLayer = LinearShift | Conv2dShift | LinearShiftQ | Conv2dShiftQ;

const isShiftLayer = (m: unknown): m is AnyShiftLayer =>
  m instanceof LinearShift ||
  m instanceof Conv2dShift ||
  m instanceof LinearShiftQ ||
  m instanceof Conv2dShiftQ;

/** Bits for n shift values plus the zero code. */
export function codeBits(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(2 * n + 1)));
}

function packLayer(name: string, m: AnyShiftLayer): PackedLayer {
  const w = noGrad(() =>
    m instanceof LinearShift || m instanceof Conv2dShift ? m.weight() : m.quantizedWeight(),
  );
  const codes = shiftCodesFromFloat(w.toTypedArray() as ArrayLike<number>);
  let lo = 0;
  let hi = -Infinity;
  for (let i = 0; i < codes.sign.length; i++) {
    if (codes.sign[i] === 0) continue;
    lo = Math.min(lo, codes.shift[i]!);
    hi = Math.max(hi, codes.shift[i]!);
  }
  if (hi === -Infinity) hi = lo; // all-zero weight
  const bias = m.bias ? Float32Array.from(m.bias.toTypedArray() as ArrayLike<number>) : null;
  const base = { name, codes, bias, bits: codeBits(hi - lo + 1), shiftMin: lo, shiftMax: hi };
  if (m instanceof LinearShift || m instanceof LinearShiftQ)
    return { ...base, kind: 'linear', weightShape: [m.outFeatures, m.inFeatures] };
  if (m.paddingMode !== 'zeros')
    throw new Error(
      `exportShiftModel: layer ${name} uses paddingMode '${m.paddingMode}'; only 'zeros' is supported`,
    );
  return {
    ...base,
    kind: 'conv2d',
    weightShape: [m.outChannels, m.inChannels / m.groups, ...m.kernelSize],
    stride: m.stride,
    padding: m.padding,
    dilation: m.dilation,
    groups: m.groups,
  };
}

/**
 * The packed form of `model`: every layer named in `program` (default BaselineNet's) must be a
 * shift layer. The fixed-point format is taken from the layers' activation bits (all equal), else
 * 16 / 16.
 */
export function packShiftModel(
  model: Module,
  program: ProgramStep[] = BASELINE_PROGRAM,
): ShiftModel {
  const mods = new Map(model.namedModules());
  const layers: PackedLayer[] = [];
  let fmt: FixedPointFormat | null = null;
  for (const step of program) {
    if (step.op !== 'layer') continue;
    const m = mods.get(step.name);
    if (!isShiftLayer(m)) {
      throw new Error(
        `exportShiftModel: '${step.name}' is ${m ? m.constructor.name : 'missing'}, expected a shift layer (LinearShift, Conv2dShift, LinearShiftQ, Conv2dShiftQ); convert the model with convertToShift first`,
      );
    }
    const f: FixedPointFormat =
      m.activationIntegerBits !== undefined && m.activationFractionBits !== undefined
        ? { integerBits: m.activationIntegerBits, fractionBits: m.activationFractionBits }
        : { ...DEFAULT_FIXED_POINT };
    if (fmt && (fmt.integerBits !== f.integerBits || fmt.fractionBits !== f.fractionBits))
      throw new Error(`exportShiftModel: layers use different activation fixed-point formats`);
    fmt = f;
    layers.push(packLayer(step.name, m));
  }
  return { fixedPoint: fmt ?? { ...DEFAULT_FIXED_POINT }, program, layers };
}

// ------------------------------------------------------------------------------- encoding

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function encodeCodes(l: PackedLayer): Uint8Array {
  const n = l.shiftMax - l.shiftMin + 1;
  const count = numel(l.weightShape);
  const out = new Uint8Array(Math.ceil((count * l.bits) / 8));
  let bit = 0;
  for (let i = 0; i < count; i++, bit += l.bits) {
    const s = l.codes.sign[i]!;
    const code = s === 0 ? 0 : 1 + (l.codes.shift[i]! - l.shiftMin) + (s < 0 ? n : 0);
    for (let b = 0; b < l.bits; b++)
      if ((code >> b) & 1) out[(bit + b) >> 3]! |= 1 << ((bit + b) & 7);
  }
  return out;
}

function decodeCodes(
  bytes: Uint8Array,
  l: Omit<PackedLayer, 'codes' | 'bias'>,
  fail: (m: string) => never,
): ShiftCodes {
  const n = l.shiftMax - l.shiftMin + 1;
  const count = numel(l.weightShape);
  const sign = new Int8Array(count);
  const shift = new Int8Array(count);
  let bit = 0;
  for (let i = 0; i < count; i++, bit += l.bits) {
    let code = 0;
    for (let b = 0; b < l.bits; b++) code |= ((bytes[(bit + b) >> 3]! >> ((bit + b) & 7)) & 1) << b;
    if (code === 0) continue;
    if (code > 2 * n)
      fail(`layer ${l.name}: weight ${i} has code ${code}, above the largest code ${2 * n}`);
    sign[i] = code > n ? -1 : 1;
    shift[i] = l.shiftMin + ((code - 1) % n);
  }
  return { sign, shift };
}

/** Serialises a packed model (layout in the file comment). */
export function encodeShiftModel(m: ShiftModel): Uint8Array {
  checkFixedPoint(m.fixedPoint);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const layers = m.layers.map((l) => {
    const codes = encodeCodes(l);
    const bias = l.bias ? new Uint8Array(Float32Array.from(l.bias).buffer) : new Uint8Array(0);
    chunks.push(codes, bias);
    const entry = {
      name: l.name,
      kind: l.kind,
      weightShape: l.weightShape,
      ...(l.kind === 'conv2d'
        ? { stride: l.stride, padding: l.padding, dilation: l.dilation, groups: l.groups }
        : {}),
      bits: l.bits,
      shiftMin: l.shiftMin,
      shiftMax: l.shiftMax,
      codesOffset: offset,
      codesBytes: codes.length,
      biasOffset: offset + codes.length,
      biasLength: l.bias ? l.bias.length : null,
    };
    offset += codes.length + bias.length;
    return entry;
  });
  const header = new TextEncoder().encode(
    JSON.stringify({ fixedPoint: m.fixedPoint, program: m.program, layers, payloadBytes: offset }),
  );
  const out = new Uint8Array(12 + header.length + offset + 4);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SHIFT_MODEL_MAGIC), 0);
  dv.setUint16(4, SHIFT_MODEL_VERSION, true);
  dv.setUint32(8, header.length, true);
  out.set(header, 12);
  let pos = 12 + header.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  dv.setUint32(pos, crc32(out.subarray(0, pos)), true);
  return out;
}

const isPair = (v: unknown): v is [number, number] =>
  Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d >= 0);

/** Parses and validates a packed model; errors name `source` and what is wrong. */
export function decodeShiftModel(bytes: Uint8Array, source = '<bytes>'): ShiftModel {
  const fail = (msg: string): never => {
    throw new Error(`shift model ${source}: ${msg}`);
  };
  if (bytes.length < 16)
    fail(`file is ${bytes.length} bytes, too short for a shift model (truncated?)`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== SHIFT_MODEL_MAGIC)
    fail(
      `bad magic ${JSON.stringify(magic)} (expected ${SHIFT_MODEL_MAGIC}): not a shift model file`,
    );
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4, true);
  if (version !== SHIFT_MODEL_VERSION)
    fail(`unsupported version ${version} (this build reads version ${SHIFT_MODEL_VERSION})`);
  const hLen = dv.getUint32(8, true);
  if (12 + hLen + 4 > bytes.length)
    fail(
      `header length ${hLen} goes beyond the end of the file (${bytes.length} bytes); file truncated?`,
    );
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + hLen)),
    );
  } catch (e) {
    return fail(`header is not valid UTF-8 JSON (${(e as Error).message}); file corrupt?`);
  }
  const payloadBytes = header.payloadBytes;
  if (!Number.isSafeInteger(payloadBytes) || (payloadBytes as number) < 0)
    fail(`header field payloadBytes is ${JSON.stringify(payloadBytes)}`);
  const expected = 12 + hLen + (payloadBytes as number) + 4;
  if (bytes.length < expected)
    fail(`file is ${bytes.length} bytes but needs ${expected}: truncated`);
  if (bytes.length > expected)
    fail(`${bytes.length - expected} unexpected trailing bytes after the checksum`);
  const crcPos = expected - 4;
  const stored = dv.getUint32(crcPos, true);
  const actual = crc32(bytes.subarray(0, crcPos));
  if (stored !== actual)
    fail(
      `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): file corrupt`,
    );

  const fp = header.fixedPoint as FixedPointFormat;
  try {
    checkFixedPoint(fp ?? ({} as FixedPointFormat));
  } catch (e) {
    fail((e as Error).message);
  }
  const program = header.program;
  if (!Array.isArray(program)) fail('header field program must be an array');
  const payload = bytes.subarray(12 + hLen, crcPos);
  const layerNames = new Set<string>();
  const rawLayers = header.layers;
  if (!Array.isArray(rawLayers)) fail('header field layers must be an array');
  const layers = (rawLayers as Record<string, unknown>[]).map((r, li) => {
    const where = `layer ${li} (${JSON.stringify(r?.name)})`;
    if (typeof r !== 'object' || r === null) fail(`${where}: not an object`);
    const { name, kind, weightShape, bits, shiftMin, shiftMax } = r;
    if (typeof name !== 'string' || layerNames.has(name))
      fail(`${where}: missing or duplicate name`);
    layerNames.add(name as string);
    if (kind !== 'linear' && kind !== 'conv2d')
      fail(`${where}: unknown kind ${JSON.stringify(kind)}`);
    const rank = kind === 'linear' ? 2 : 4;
    if (
      !Array.isArray(weightShape) ||
      weightShape.length !== rank ||
      !weightShape.every((d) => Number.isInteger(d) && d > 0)
    )
      fail(
        `${where}: weightShape must be ${rank} positive integers, got ${JSON.stringify(weightShape)}`,
      );
    if (
      !Number.isInteger(shiftMin) ||
      !Number.isInteger(shiftMax) ||
      (shiftMin as number) < -31 ||
      (shiftMax as number) > 0 ||
      (shiftMin as number) > (shiftMax as number)
    )
      fail(`${where}: bad shift range [${String(shiftMin)}, ${String(shiftMax)}]`);
    const need = codeBits((shiftMax as number) - (shiftMin as number) + 1);
    if (bits !== need)
      fail(`${where}: bits ${String(bits)} does not match the shift range (needs ${need})`);
    const count = numel(weightShape as number[]);
    const cb = Math.ceil((count * need) / 8);
    const { codesOffset, codesBytes, biasOffset, biasLength } = r as Record<string, number | null>;
    if (codesBytes !== cb) fail(`${where}: codesBytes ${String(codesBytes)}, expected ${cb}`);
    const outDim = (weightShape as number[])[0]!;
    if (biasLength !== null && biasLength !== outDim)
      fail(`${where}: biasLength ${String(biasLength)}, expected ${outDim} or null`);
    const bl = biasLength === null ? 0 : 4 * outDim;
    if (
      !Number.isSafeInteger(codesOffset) ||
      !Number.isSafeInteger(biasOffset) ||
      (codesOffset as number) < 0 ||
      (codesOffset as number) + cb > payload.length ||
      biasOffset !== (codesOffset as number) + cb ||
      (biasOffset as number) + bl > payload.length
    )
      fail(`${where}: payload offsets out of range (payload ${payload.length} bytes)`);
    const conv =
      kind === 'conv2d'
        ? (() => {
            const { stride, padding, dilation, groups } = r;
            if (
              !isPair(stride) ||
              !isPair(padding) ||
              !isPair(dilation) ||
              !Number.isInteger(groups) ||
              (groups as number) < 1
            )
              fail(
                `${where}: bad conv options ${JSON.stringify({ stride, padding, dilation, groups })}`,
              );
            return {
              stride: stride as [number, number],
              padding: padding as [number, number],
              dilation: dilation as [number, number],
              groups: groups as number,
            };
          })()
        : {};
    const meta = {
      name: name as string,
      kind: kind as 'linear' | 'conv2d',
      weightShape: weightShape as number[],
      bits: need,
      shiftMin: shiftMin as number,
      shiftMax: shiftMax as number,
      ...conv,
    };
    const codes = decodeCodes(
      payload.subarray(codesOffset as number, (codesOffset as number) + cb),
      meta,
      fail,
    );
    let bias: Float32Array | null = null;
    if (biasLength !== null) {
      bias = new Float32Array(outDim);
      new Uint8Array(bias.buffer).set(
        payload.subarray(biasOffset as number, (biasOffset as number) + bl),
      );
    }
    return { ...meta, codes, bias } as PackedLayer;
  });
  for (const [i, s] of (program as ProgramStep[]).entries()) {
    const ok =
      (s?.op === 'layer' && layerNames.has(s.name)) ||
      s?.op === 'relu' ||
      s?.op === 'flatten' ||
      (s?.op === 'maxpool2d' && Number.isInteger(s.kernelSize) && s.kernelSize > 0);
    if (!ok) fail(`program step ${i} ${JSON.stringify(s)} is not valid`);
  }
  return {
    fixedPoint: { integerBits: fp.integerBits, fractionBits: fp.fractionBits },
    program: program as ProgramStep[],
    layers,
  };
}

export interface ExportResult {
  path: string;
  bytes: number;
  /** Size of the model's float32 state dict as safetensors (`nn.save`). */
  safetensorsBytes: number;
  /** safetensorsBytes / bytes. */
  ratio: number;
  /** Size of one float32 per weight and bias (a dense float model of the same shapes). */
  denseFloat32Bytes: number;
}

/** Packs `model` (see `packShiftModel`) and writes it atomically to `path`; returns the sizes. */
export function exportShiftModel(
  model: Module,
  path: string,
  program: ProgramStep[] = BASELINE_PROGRAM,
): ExportResult {
  const packed = packShiftModel(model, program);
  const bytes = encodeShiftModel(packed);
  writeFileAtomic(path, bytes);
  const sd = model.stateDict();
  const st = encodeSafetensors(
    Object.fromEntries(
      Object.entries(sd).map(([k, t]) => [
        k,
        {
          dtype: 'F32' as const,
          shape: t.shape,
          data: Float32Array.from(t.toTypedArray() as ArrayLike<number>),
        },
      ]),
    ),
  ).length;
  let dense = 0;
  for (const l of packed.layers) dense += 4 * (numel(l.weightShape) + (l.bias?.length ?? 0));
  return {
    path,
    bytes: bytes.length,
    safetensorsBytes: st,
    ratio: st / bytes.length,
    denseFloat32Bytes: dense,
  };
}

/** Reads and validates a packed shift model. */
export function loadShiftModel(path: string): ShiftModel {
  return decodeShiftModel(readFileSync(path), path);
}

// ------------------------------------------------------------------------------- runners

interface PreparedLayer {
  l: PackedLayer;
  plan: ShiftPlan;
  bias: Int32Array | null;
}

/**
 * Runs a packed model with integer kernels only: the input is converted to fixed point once,
 * every layer, ReLU and max-pool works on Int32, and only the last layer's output is converted
 * back to float (÷ 2^F). Single-threaded.
 */
export class IntegerShiftNet {
  private readonly layers = new Map<string, PreparedLayer>();

  constructor(readonly model: ShiftModel) {
    for (const l of model.layers) {
      const rows = l.weightShape[0]!;
      const plan = shiftPlan(l.codes, rows, numel(l.weightShape) / rows);
      let bias: Int32Array | null = null;
      if (l.bias) {
        bias = new Int32Array(rows);
        toFixedPoint(bias, l.bias, rows, model.fixedPoint);
      }
      this.layers.set(l.name, { l, plan, bias });
    }
  }

  /** Output codes (Int32, fixed point) and shape for input x of shape `shape` (e.g. [n, 1, 28, 28]). */
  forwardInt(x: ArrayLike<number>, shape: number[]): { y: Int32Array; shape: number[] } {
    let cur = new Int32Array(numel(shape));
    toFixedPoint(cur, x, cur.length, this.model.fixedPoint);
    let s = [...shape];
    for (const step of this.model.program) {
      if (step.op === 'relu') reluInt(cur, cur, cur.length);
      else if (step.op === 'flatten') s = [s[0]!, numel(s.slice(1))];
      else if (step.op === 'maxpool2d') {
        const p = maxPool2dParams(s, step.kernelSize);
        const y = new Int32Array(p.n * p.c * p.outH * p.outW);
        maxPool2dInt(y, cur, p);
        cur = y;
        s = [p.n, p.c, p.outH, p.outW];
      } else {
        const { l, plan, bias } = this.layers.get(step.name)!;
        if (l.kind === 'linear') {
          const batch = s[0]!;
          if (s.length !== 2 || s[1] !== l.weightShape[1])
            throw new Error(
              `IntegerShiftNet: layer ${l.name} expects [n, ${l.weightShape[1]}], got [${s.join(', ')}]`,
            );
          const y = new Int32Array(batch * plan.rows);
          shiftLinear(y, cur, plan, bias, batch);
          cur = y;
          s = [batch, plan.rows];
        } else {
          const p = conv2dParams(s, l.weightShape, {
            stride: l.stride,
            padding: l.padding,
            dilation: l.dilation,
            groups: l.groups,
          });
          const y = new Int32Array(p.n * p.cOut * p.outH * p.outW);
          shiftConv2d(y, cur, plan, bias, p);
          cur = y;
          s = [p.n, p.cOut, p.outH, p.outW];
        }
      }
    }
    return { y: cur, shape: s };
  }

  /** The last layer's output as float32 logits [n, classes]. */
  logits(x: ArrayLike<number>, shape: number[]): Tensor {
    const { y, shape: s } = this.forwardInt(x, shape);
    const out = new Float32Array(y.length);
    fromFixedPoint(out, y, y.length, this.model.fixedPoint.fractionBits);
    return Tensor.fromData(out, s);
  }

  /** Float log-softmax over the integer logits. */
  forward(x: Tensor): Tensor {
    return F.logSoftmax(this.logits(x.toTypedArray() as ArrayLike<number>, x.shape), 1);
  }
}

/** A module running `program` over named float shift layers (dropout omitted: evaluation only). */
export class ShiftProgramNet extends Module {
  constructor(
    readonly program: ProgramStep[],
    layers: Record<string, AnyShiftLayer>,
  ) {
    super();
    Object.assign(this, layers);
  }

  forward(x: Tensor): Tensor {
    const self = this as unknown as Record<string, AnyShiftLayer>;
    for (const s of this.program) {
      if (s.op === 'relu') x = F.relu(x);
      else if (s.op === 'flatten') x = F.flatten(x, 1);
      else if (s.op === 'maxpool2d') x = F.maxPool2d(x, s.kernelSize);
      else x = self[s.name]!.forward(x);
    }
    return F.logSoftmax(x, 1);
  }
}

/**
 * The float PS model of a packed model (LinearShift / Conv2dShift with the stored signs and shifts
 * and float biases). With `simulateFixedPoint` the layers round their inputs and biases to the
 * file's fixed-point format (DeepShift's activation rounding): the float simulation of the
 * integer runner. `useKernel` makes the layers run the integer kernels instead.
 */
export function floatShiftNet(
  m: ShiftModel,
  opts: { simulateFixedPoint?: boolean; useKernel?: boolean } = {},
): ShiftProgramNet {
  const act = opts.simulateFixedPoint
    ? {
        activationIntegerBits: m.fixedPoint.integerBits,
        activationFractionBits: m.fixedPoint.fractionBits,
      }
    : {};
  const layers: Record<string, AnyShiftLayer> = {};
  for (const l of m.layers) {
    let bits = 5; // the PS range [−(2^(b−1) − 2), 0] must cover shiftMin
    while (2 ** (bits - 1) - 2 < -l.shiftMin) bits++;
    const common = { ...act, weightBits: bits, bias: l.bias !== null };
    const [o, i, kh, kw] = l.weightShape as [number, number, number, number];
    const layer =
      l.kind === 'linear'
        ? new LinearShift(i, o, common)
        : new Conv2dShift(i * l.groups!, o, [kh, kw], {
            ...common,
            stride: l.stride,
            padding: l.padding,
            dilation: l.dilation,
            groups: l.groups,
          });
    noGrad(() => {
      layer.shift.copy_(Tensor.fromData(Float32Array.from(l.codes.shift), layer.shift.shape));
      layer.sign.copy_(Tensor.fromData(Float32Array.from(l.codes.sign), layer.sign.shape));
      if (layer.bias && l.bias) layer.bias.copy_(Tensor.fromData(Float32Array.from(l.bias), [o]));
    });
    layer.useKernel = opts.useKernel ?? false;
    layers[l.name] = layer;
  }
  return new ShiftProgramNet(m.program, layers).eval();
}
