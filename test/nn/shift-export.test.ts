import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BaselineNet,
  manualSeed,
  nn,
  noGrad,
  randn,
  tensor,
  PSNet,
  QNet,
} from '../../src/index.ts';
import {
  IntegerShiftNet,
  codeBits,
  decodeShiftModel,
  encodeShiftModel,
  exportShiftModel,
  floatShiftNet,
  loadShiftModel,
  packShiftModel,
} from '../../src/nn/shift-export.ts';
import { LinearShift, Conv2dShift } from '../../src/nn/shift.ts';
import { LinearShiftQ } from '../../src/nn/shift-q.ts';

const dir = mkdtempSync(join(tmpdir(), 'shift-export-'));

describe('packed shift model file', () => {
  manualSeed(3);
  const net = new PSNet();
  const path = join(dir, 'ps.sgsh');
  const res = exportShiftModel(net, path);

  it('round-trips signs, shifts and biases, 5 bits per PS weight', () => {
    const packed = packShiftModel(net);
    const loaded = loadShiftModel(path);
    expect(loaded.fixedPoint).toEqual({ integerBits: 16, fractionBits: 16 });
    expect(loaded.layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'fc1', 'fc2']);
    for (const [i, l] of loaded.layers.entries()) {
      const p = packed.layers[i]!;
      expect(l.codes.sign).toEqual(p.codes.sign);
      // shifts only matter where sign != 0
      const s = l.codes.shift.map((v, j) => (l.codes.sign[j] ? v : 0));
      const t = p.codes.shift.map((v, j) => (p.codes.sign[j] ? v : 0));
      expect(s).toEqual(t);
      expect(l.bias).toEqual(p.bias);
      expect(l.bits).toBeLessThanOrEqual(5);
    }
    expect(loaded.layers.find((l) => l.name === 'fc1')!.bits).toBe(5); // shifts span [−14, 0]
  });

  it('is > 12× smaller than the float32 safetensors of the PS model', () => {
    const weights = 32 * 9 + 64 * 288 + 9216 * 128 + 128 * 10;
    expect(res.bytes).toBeLessThan((weights * 5) / 8 + 4 * 234 + 4096);
    expect(res.ratio).toBeGreaterThan(12);
    expect(res.safetensorsBytes).toBeGreaterThan(8 * weights);
  });

  it('code bits: 31 codes (PS, 5 bits) → 5, 33 codes → 6', () => {
    expect(codeBits(15)).toBe(5);
    expect(codeBits(16)).toBe(6);
  });

  const good = readFileSync(path);
  const expectError = (bytes: Uint8Array, re: RegExp) =>
    expect(() => decodeShiftModel(bytes, 'x.sgsh')).toThrow(re);

  it('truncated files give clear errors', () => {
    expectError(good.subarray(0, 10), /too short/);
    expectError(good.subarray(0, 40), /header length .* beyond the end|truncated/);
    expectError(good.subarray(0, good.length - 1000), /truncated/);
    expectError(good.subarray(0, good.length - 1), /truncated/);
  });

  it('corrupt files give clear errors', () => {
    const flip = (at: number) => {
      const b = Uint8Array.from(good);
      b[at] ^= 0x10;
      return b;
    };
    expectError(flip(0), /bad magic/);
    expectError(flip(4), /unsupported version/);
    expectError(flip(good.length - 100), /checksum mismatch/);
    expectError(flip(good.length - 2), /checksum mismatch/);
    expectError(flip(20), /checksum|JSON|header/);
    const trailing = new Uint8Array(good.length + 3);
    trailing.set(good);
    expectError(trailing, /trailing bytes/);
  });

  it('writes atomically (a failed export leaves the old file)', () => {
    const target = join(dir, 'keep.sgsh');
    writeFileSync(target, 'old');
    expect(() => exportShiftModel(new BaselineNet(), target)).toThrow(/expected a shift layer/);
    expect(readFileSync(target, 'utf8')).toBe('old');
  });
});

describe('integer-only runner', () => {
  manualSeed(5);
  const base = new BaselineNet();
  const { model } = nn.convertToShift(base, { shiftType: 'PS' });
  const packed = packShiftModel(model);
  const x = randn([4, 1, 28, 28]);

  it('matches the float simulation (fixed-point activations) and the float model', () => {
    const int = new IntegerShiftNet(packed).logits(x.toTypedArray() as Float32Array, x.shape);
    const sim = floatShiftNet(packed, { simulateFixedPoint: true }).forward(x);
    const flt = model.eval().forward(x);
    expect(int.shape).toEqual([4, 10]);
    expect(int.argmax(1).toTypedArray()).toEqual(sim.argmax(1).toTypedArray());
    // logits differ only by the per-group floor of 2^−16 steps and float32 rounding
    expect(nn.functional.logSoftmax(int, 1)).toBeAllClose(sim, { atol: 1e-3, rtol: 1e-3 });
    expect(sim).toBeAllClose(flt, { atol: 1e-2, rtol: 1e-2 });
  });

  it('floatShiftNet with useKernel agrees with the integer runner', () => {
    const int = new IntegerShiftNet(packed).forward(x);
    const k = floatShiftNet(packed, { useKernel: true }).forward(x);
    expect(k).toBeAllClose(int, { atol: 1e-4, rtol: 1e-4 });
  });

  it('Q models export and run too', () => {
    manualSeed(6);
    const q = new QNet();
    const p = decodeShiftModel(encodeShiftModel(packShiftModel(q)));
    expect(p.layers[2]!.bits).toBeLessThanOrEqual(6);
    const int = new IntegerShiftNet(p).forward(x.narrow(0, 0, 2));
    const flt = q.eval().forward(x.narrow(0, 0, 2));
    expect(int).toBeAllClose(flt, { atol: 2e-2, rtol: 2e-2 });
  });
});

describe('useKernel', () => {
  it('LinearShift: same output and gradients as the float path on exact inputs', () => {
    manualSeed(1);
    const a = new LinearShift(24, 5, { dtype: 'float64' });
    const b = new LinearShift(24, 5, { dtype: 'float64' });
    b.loadStateDict(a.stateDict());
    b.useKernel = true;
    // multiples of 1/4 and biases with 16 fraction bits: fixed point is exact
    for (const l of [a, b]) noGrad(() => l.bias!.copy_(nn.ste.roundFixedPoint(l.bias!, 16, 16)));
    const xs = Array.from({ length: 3 * 24 }, (_, i) => ((i * 37) % 29) / 4 - 3);
    const x1 = tensor(xs, { dtype: 'float64', shape: [3, 24], requiresGrad: true });
    const x2 = tensor(xs, { dtype: 'float64', shape: [3, 24], requiresGrad: true });
    const y1 = a.forward(x1);
    const y2 = b.forward(x2);
    expect(y2.toTypedArray()).toEqual(y1.toTypedArray());
    y1.add(1).square().mean().backward();
    y2.add(1).square().mean().backward();
    expect(x2.grad!).toBeAllClose(x1.grad!, { atol: 0, rtol: 0 });
    expect(b.shift.grad!).toBeAllClose(a.shift.grad!, { atol: 0, rtol: 0 });
    expect(b.sign.grad!).toBeAllClose(a.sign.grad!, { atol: 0, rtol: 0 });
    expect(b.bias!.grad!).toBeAllClose(a.bias!.grad!, { atol: 0, rtol: 0 });
  });

  it('Conv2dShift: same output and gradients as the float path on exact inputs', () => {
    manualSeed(2);
    const opts = { dtype: 'float64' as const, padding: 1, stride: 2, bias: false };
    const a = new Conv2dShift(2, 3, 3, opts);
    const b = new Conv2dShift(2, 3, 3, opts);
    b.loadStateDict(a.stateDict());
    b.useKernel = true;
    const xs = Array.from({ length: 2 * 2 * 7 * 7 }, (_, i) => ((i * 13) % 17) / 4 - 2);
    const x1 = tensor(xs, { dtype: 'float64', shape: [2, 2, 7, 7], requiresGrad: true });
    const x2 = tensor(xs, { dtype: 'float64', shape: [2, 2, 7, 7], requiresGrad: true });
    const y1 = a.forward(x1);
    const y2 = b.forward(x2);
    expect(y2.toTypedArray()).toEqual(y1.toTypedArray());
    y1.add(1).square().mean().backward();
    y2.add(1).square().mean().backward();
    expect(x2.grad!).toBeAllClose(x1.grad!, { atol: 0, rtol: 0 });
    expect(b.shift.grad!).toBeAllClose(a.shift.grad!, { atol: 0, rtol: 0 });
  });

  it('LinearShiftQ runs through the kernel and trains', () => {
    manualSeed(4);
    const l = new LinearShiftQ(16, 4);
    l.useKernel = true;
    const y = l.forward(randn([2, 16]));
    y.square().mean().backward();
    expect(l.weight.grad!.shape).toEqual([4, 16]);
  });
});
