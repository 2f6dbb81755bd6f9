import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, randn, ones, Tensor } from '../../src/index.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { CrudeNet, PSNet, QNet } from '../../src/models/deepshift.ts';
import { Module } from '../../src/nn/module.ts';
import { Conv2d } from '../../src/nn/layers.ts';
import * as F from '../../src/nn/functional.ts';
import { roundPowerOf2 } from '../../src/nn/ste.ts';
import { traceInference } from '../../src/nn/trace.ts';
import { BufferArena } from '../../src/tensor/arena.ts';
import { conv2dParams } from '../../src/tensor/kernels/conv2d.ts';

const constantsOf = (m: Module): Tensor[] => [...m.parameters(), ...m.buffers()];

/** Bits of two tensors' values equal (NaN payloads and ±0 included). */
function sameBits(a: Tensor, b: Tensor): boolean {
  if (a.shape.join() !== b.shape.join() || a.dtype !== b.dtype) return false;
  const fa = a._flat();
  const fb = b._flat();
  for (let i = 0; i < fa.length; i++) if (!Object.is(fa[i], fb[i])) return false;
  return true;
}

describe('traceInference: a replayed forward gives the eager forward’s values', () => {
  const nets: [string, () => Module, number][] = [
    ['BaselineNet', () => new BaselineNet(), 0],
    ['CrudeNet', () => new CrudeNet(), 0],
    ['PSNet (weights frozen: sign·2^shift built once)', () => new PSNet({ weightBits: 5 }), 4],
    ['QNet (weights frozen: roundPowerOf2 once)', () => new QNet({ weightBits: 5 }), 4],
  ];
  for (const [name, make, frozen] of nets) {
    it(`${name}: same bits on new inputs; conv → relu (→ pool) fused`, () => {
      manualSeed(11);
      const model = make();
      model.eval();
      const x0 = randn([5, 1, 28, 28]);
      const t = traceInference((x) => model.forward(x), x0, constantsOf(model));
      expect(t.reason).toBeNull();
      const plan = t.plan!;
      expect(plan.ops).toEqual([
        'conv2d+relu',
        'conv2d+relu+maxPool2d',
        'reshape',
        'linear',
        'relu',
        'linear',
        'logSoftmax',
      ]);
      expect(plan.frozen).toBe(frozen);
      expect(
        sameBits(
          t.output,
          noGrad(() => model.forward(x0)),
        ),
      ).toBe(true);
      for (let k = 0; k < 2; k++) {
        const x = randn([5, 1, 28, 28]);
        const eager = noGrad(() => model.forward(x));
        const arena = new BufferArena();
        // in a BufferArena, as evaluate runs it; copy out before the arena is reused
        const replay = arena.run(() => plan.run(x).clone());
        expect(sameBits(replay, eager)).toBe(true);
        expect(replay.requiresGrad).toBe(false);
      }
    });
  }

  it('float64 functional forward: same bits, fused', () => {
    manualSeed(12);
    const w = randn([4, 3, 3, 3], { dtype: 'float64' });
    const b = randn([4], { dtype: 'float64' });
    const w2 = randn([5, 36], { dtype: 'float64' });
    const fwd = (x: Tensor) =>
      F.logSoftmax(F.linear(F.maxPool2d(F.relu(F.conv2d(x, w, b)), 2).reshape([2, -1]), w2), 1);
    const t = traceInference(fwd, randn([2, 3, 8, 8], { dtype: 'float64' }), [w, b, w2]);
    expect(t.plan!.ops).toEqual(['conv2d+relu+maxPool2d', 'reshape', 'linear', 'logSoftmax']);
    const x = randn([2, 3, 8, 8], { dtype: 'float64' });
    x._flat()[7] = NaN;
    const eager = noGrad(() => fwd(x));
    expect(sameBits(t.plan!.run(x), eager)).toBe(true);
  });
});

describe('traceInference: what it fuses and what it refuses', () => {
  it('refuses an op not marked pure, and still returns the forward’s output', () => {
    manualSeed(2);
    const conv = new Conv2d(2, 4, 3);
    const fwd = (v: Tensor) => F.relu(conv.forward(v)).add(1);
    const x = randn([2, 2, 8, 8]);
    const t = traceInference(fwd, x, conv.parameters());
    expect(t.plan).toBeNull();
    expect(t.reason).toMatch(/Add is not marked pure/);
    expect(
      sameBits(
        t.output,
        noGrad(() => fwd(x)),
      ),
    ).toBe(true);
  });

  it('keeps conv2d and relu apart when the conv output is read again', () => {
    manualSeed(3);
    const conv = new Conv2d(1, 2, 3);
    const fwd = (x: Tensor) => {
      const c = conv.forward(x);
      return F.linear(F.relu(c).reshape([x.shape[0]!, -1]), c.reshape([2, -1]));
    };
    const x = randn([2, 1, 5, 5]);
    const t = traceInference(fwd, x, conv.parameters());
    expect(t.reason).toBeNull();
    expect(t.plan!.ops).toEqual(['conv2d', 'relu', 'reshape', 'reshape', 'linear']);
    const x1 = randn([2, 1, 5, 5]);
    expect(
      sameBits(
        t.plan!.run(x1),
        noGrad(() => fwd(x1)),
      ),
    ).toBe(true);
  });

  it('refuses random ops: dropout in training mode', () => {
    manualSeed(4);
    const m = new BaselineNet(); // training mode
    const t = traceInference((v) => m.forward(v), randn([2, 1, 28, 28]), constantsOf(m));
    expect(t.plan).toBeNull();
    expect(t.reason).toMatch(/MaskFn is not marked pure/);
  });

  it('refuses an op argument that is not plain data (stochastic rounding takes a generator)', () => {
    manualSeed(5);
    const w = randn([3, 4]);
    const t = traceInference((x) => F.linear(x, roundPowerOf2(w, 'stochastic')), randn([2, 4]), [
      w,
    ]);
    expect(t.plan).toBeNull();
    expect(t.reason).toMatch(/roundPowerOf2 takes an argument that is not plain data/);
    // deterministic rounding is pure: frozen
    const d = traceInference((x) => F.linear(x, roundPowerOf2(w)), randn([2, 4]), [w]);
    expect(d.plan!.frozen).toBe(1);
    expect(d.plan!.ops).toEqual(['linear']);
  });

  it('refuses a tensor made outside the recorded ops, and an output that is not an op result', () => {
    manualSeed(6);
    const w = randn([3, 4]);
    const stray = ones([3]); // not a constant the caller declared
    const a = traceInference((x) => F.linear(x, w, stray), randn([2, 4]), [w]);
    expect(a.plan).toBeNull();
    expect(a.reason).toMatch(/linear reads a tensor of shape \[3\] that is neither the input/);
    const b = traceInference(() => stray, randn([2, 4]), []);
    expect(b.reason).toMatch(/output is not the result of a traced op/);
  });

  it('a trace inside a traced forward leaves its calls to the outer trace', () => {
    manualSeed(9);
    const w = randn([3, 4]);
    let inner: string | null = null;
    const fwd = (x: Tensor) => {
      const t = traceInference((v) => F.linear(v, w), x, [w]);
      inner = t.reason;
      return F.relu(t.output);
    };
    const outer = traceInference(fwd, randn([2, 4]), [w]);
    expect(inner).toBe('a trace is recording');
    expect(outer.plan!.ops).toEqual(['linear', 'relu']);
    const x = randn([2, 4]);
    expect(
      sameBits(
        outer.plan!.run(x),
        noGrad(() => F.relu(F.linear(x, w))),
      ),
    ).toBe(true);
  });

  it('runs only on the traced shape and dtype, and not inside an arena', () => {
    manualSeed(7);
    const m = new BaselineNet();
    m.eval();
    const t = traceInference((v) => m.forward(v), randn([3, 1, 28, 28]), constantsOf(m));
    expect(() => t.plan!.run(randn([4, 1, 28, 28]))).toThrow(
      /traced for a float32 input of shape \[3, 1, 28, 28\], got float32 \[4, 1, 28, 28\]/,
    );
    expect(() => t.plan!.run(randn([3, 1, 28, 28], { dtype: 'float64' }))).toThrow(/got float64/);
    expect(() =>
      new BufferArena().run(() =>
        traceInference((v) => m.forward(v), randn([3, 1, 28, 28]), constantsOf(m)),
      ),
    ).toThrow(/trace outside BufferArena.run/);
  });
});

describe('conv2dReluPool (the fused op)', () => {
  it('is inference only', () => {
    manualSeed(8);
    const conv = new Conv2d(1, 2, 3);
    const x = randn([1, 1, 5, 5]);
    const p = conv2dParams(x.shape, conv.weight.shape, {});
    expect(() => F.conv2dReluPool(x, conv.weight, conv.bias, p, null)).toThrow(
      /conv2dReluPool: inference only; call it under noGrad/,
    );
    const y = noGrad(() => F.conv2dReluPool(x, conv.weight, conv.bias, p, null));
    expect(
      sameBits(
        y,
        noGrad(() => F.relu(conv.forward(x))),
      ),
    ).toBe(true);
    expect(() =>
      noGrad(() => F.conv2dReluPool(randn([1, 1, 6, 5]), conv.weight, conv.bias, p, null)),
    ).toThrow(/input of shape \[1, 1, 6, 5\] does not match the convolution's \[1, 1, 5, 5\]/);
  });
});
