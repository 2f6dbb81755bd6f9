/** nn.Module: PyTorch's parameter names and order, traversal, modes, state dicts, save/load. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BaselineNet,
  Tensor,
  manualSeed,
  nn,
  noGrad,
  randn,
  tensor,
  zeros,
} from '../../src/index.ts';

let net: BaselineNet;
beforeAll(() => {
  manualSeed(0);
  net = new BaselineNet();
});

/** A small net with a nested Sequential and a buffer. */
class Small extends nn.Module {
  conv = new nn.Conv2d(1, 2, 3);
  body = new nn.Sequential(
    new nn.Linear(8, 4),
    new nn.ReLU(),
    new nn.Linear(4, 3, { bias: false }),
  );
  constructor() {
    super();
    this.registerBuffer('runningMean', zeros([3]));
  }
  forward(x: Tensor): Tensor {
    return this.body.forward(this.conv.forward(x).flatten(1));
  }
}

describe('BaselineNet parameters', () => {
  it("namedParameters gives PyTorch's names, order and shapes", () => {
    const got = [...net.namedParameters()].map(([k, p]) => [k, p.shape]);
    expect(got).toEqual([
      ['conv1.weight', [32, 1, 3, 3]],
      ['conv1.bias', [32]],
      ['conv2.weight', [64, 32, 3, 3]],
      ['conv2.bias', [64]],
      ['fc1.weight', [128, 9216]],
      ['fc1.bias', [128]],
      ['fc2.weight', [10, 128]],
      ['fc2.bias', [10]],
    ]);
  });

  it('parameters are float32 leaves that require grad; 1,199,882 of them as in PyTorch', () => {
    const ps = net.parameters();
    expect(ps).toHaveLength(8);
    for (const p of ps) {
      expect(p).toBeInstanceOf(nn.Parameter);
      expect(p.requiresGrad).toBe(true);
      expect(p.isLeaf).toBe(true);
      expect(p.dtype).toBe('float32');
    }
    expect(ps.reduce((s, p) => s + p.numel(), 0)).toBe(1199882);
  });

  it('stateDict has the same keys in the same order (no buffers)', () => {
    expect(Object.keys(net.stateDict())).toEqual([...net.namedParameters()].map(([k]) => k));
  });

  it('children and namedModules', () => {
    expect([...net.namedChildren()].map(([k]) => k)).toEqual([
      'conv1',
      'conv2',
      'dropout1',
      'dropout2',
      'fc1',
      'fc2',
    ]);
    expect(net.children()).toHaveLength(6);
    expect([...net.namedModules()].map(([k]) => k)).toEqual([
      '',
      'conv1',
      'conv2',
      'dropout1',
      'dropout2',
      'fc1',
      'fc2',
    ]);
    expect(net.modules()[0]).toBe(net);
    expect(net.modules()[1]).toBe(net.conv1);
  });
});

describe('Sequential and nesting', () => {
  it("registers children as '0', '1', … and runs them in order", () => {
    const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    expect([...seq.namedChildren()].map(([k]) => k)).toEqual(['0', '1', '2']);
    expect([...seq.namedParameters()].map(([k]) => k)).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '2.bias',
    ]);
    const x = randn([5, 3]);
    const l0 = seq.children()[0] as nn.Linear;
    const l2 = seq.children()[2] as nn.Linear;
    expect(seq.forward(x)).toBeAllClose(l2.forward(l0.forward(x).relu()), { atol: 0, rtol: 0 });
  });

  it('nested names, modules, buffers and parameters(recurse = false)', () => {
    const m = new Small();
    expect([...m.namedParameters()].map(([k]) => k)).toEqual([
      'conv.weight',
      'conv.bias',
      'body.0.weight',
      'body.0.bias',
      'body.2.weight',
    ]);
    expect([...m.namedModules()].map(([k]) => k)).toEqual([
      '',
      'conv',
      'body',
      'body.0',
      'body.1',
      'body.2',
    ]);
    expect([...m.namedBuffers()].map(([k]) => k)).toEqual(['runningMean']);
    expect(m.parameters(false)).toHaveLength(0);
    expect(m.body.parameters(false)).toHaveLength(0);
    expect((m.body.children()[0] as nn.Linear).parameters(false)).toHaveLength(2);
  });

  it('a shared parameter is listed once', () => {
    const a = new nn.Linear(2, 2);
    const seq = new nn.Sequential(a, a);
    expect(seq.parameters()).toHaveLength(2);
  });
});

describe('train / eval / zeroGrad / apply', () => {
  it('train() and eval() propagate to every submodule', () => {
    const m = new Small();
    expect(m.modules().every((x) => x.training)).toBe(true);
    expect(m.eval()).toBe(m);
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.train(false);
    expect(m.modules().every((x) => !x.training)).toBe(true);
  });

  it('eval() makes the baseline deterministic (dropout off)', () => {
    const small = randn([2, 1, 28, 28]);
    net.eval();
    const a = net.forward(small);
    const b = net.forward(small);
    net.train();
    expect(a).toBeAllClose(b, { atol: 0, rtol: 0 });
  });

  it('zeroGrad clears gradients (to null by default, to zeros with setToNone = false)', () => {
    const m = new Small();
    m.forward(randn([2, 1, 4, 4]))
      .sum()
      .backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad(false);
    for (const p of m.parameters()) {
      expect(p.grad).not.toBeNull();
      expect(Array.from(p.grad!.toTypedArray()).every((v) => v === 0)).toBe(true);
    }
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('apply(fn) visits children first, then the module, and returns it', () => {
    const m = new Small();
    const seen: string[] = [];
    expect(m.apply((x) => seen.push(x.constructor.name))).toBe(m);
    expect(seen).toEqual(['Conv2d', 'Linear', 'ReLU', 'Linear', 'Sequential', 'Small']);
    m.apply((x) => {
      if (x instanceof nn.Linear) noGrad(() => x.weight.fill_(0.5));
    });
    const l0 = m.body.children()[0] as nn.Linear;
    expect(Array.from(l0.weight.toTypedArray()).every((v) => v === 0.5)).toBe(true);
  });
});

describe('stateDict / loadStateDict', () => {
  it("buffers appear in the state dict with dotted names, in PyTorch's order (own params, own buffers, children)", () => {
    const outer = new nn.Sequential(new Small());
    const keys = Object.keys(outer.stateDict());
    expect(keys).toEqual([
      '0.runningMean',
      '0.conv.weight',
      '0.conv.bias',
      '0.body.0.weight',
      '0.body.0.bias',
      '0.body.2.weight',
    ]);
    expect(outer.buffers()).toHaveLength(1);
  });

  it('round trip copies values (and buffers) into another instance', () => {
    manualSeed(1);
    const a = new Small();
    noGrad(() => (a as unknown as { runningMean: Tensor }).runningMean.fill_(3));
    manualSeed(2);
    const b = new Small();
    expect(b.conv.weight).not.toBeAllClose(a.conv.weight);
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const sa = a.stateDict();
    const sb = b.stateDict();
    for (const k of Object.keys(sa)) expect(sb[k]!).toBeAllClose(sa[k]!, { atol: 0, rtol: 0 });
    const x = randn([2, 1, 4, 4]);
    expect(b.forward(x)).toBeAllClose(a.forward(x), { atol: 0, rtol: 0 });
  });

  it('loading copies: later changes to the source do not reach the model', () => {
    const a = new nn.Linear(2, 2);
    const sd = {
      weight: tensor([
        [1, 2],
        [3, 4],
      ]),
      bias: tensor([5, 6]),
    };
    a.loadStateDict(sd);
    noGrad(() => sd.weight.fill_(0));
    expect(a.weight).toBeAllClose([
      [1, 2],
      [3, 4],
    ]);
    expect(a.weight.requiresGrad).toBe(true);
  });

  it('the state dict shares storage with the parameters and is detached', () => {
    const a = new nn.Linear(2, 2);
    const sd = a.stateDict();
    expect(sd.weight!.requiresGrad).toBe(false);
    noGrad(() => a.weight.fill_(7));
    expect(Array.from(sd.weight!.toTypedArray())).toEqual([7, 7, 7, 7]);
  });

  it('strict: a missing key is an error naming it', () => {
    const a = new nn.Linear(2, 2);
    expect(() => a.loadStateDict({ weight: zeros([2, 2]) })).toThrow(/missing keys: bias/);
  });

  it('strict: an unexpected key is an error naming it', () => {
    const a = new nn.Linear(2, 2);
    expect(() =>
      a.loadStateDict({ weight: zeros([2, 2]), bias: zeros([2]), extra: zeros([1]) }),
    ).toThrow(/unexpected keys: extra/);
  });

  it('a shape mismatch is an error naming the key and both shapes (even with strict: false)', () => {
    const a = new nn.Linear(2, 3);
    const bad = { weight: zeros([3, 4]), bias: zeros([3]) };
    for (const strict of [true, false]) {
      let msg = '';
      try {
        a.loadStateDict(bad, { strict });
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(/weight/);
      expect(msg).toMatch(/\[3, 4\]/);
      expect(msg).toMatch(/\[3, 2\]/);
    }
  });

  it('a failed load leaves the model unchanged', () => {
    const a = new nn.Linear(2, 3);
    const before = a.weight.toTypedArray();
    expect(() => a.loadStateDict({ weight: zeros([3, 2]), bias: zeros([4]) })).toThrow(/bias/);
    expect(a.weight).toBeAllClose(before, { atol: 0, rtol: 0 });
  });

  it('keys named like Object.prototype members are not mistaken for present ones', () => {
    const a = new nn.Linear(2, 2);
    const sd = a.stateDict();
    expect(() => a.loadStateDict({ ...sd, toString: zeros([1]) })).toThrow(
      /unexpected keys: toString/,
    );
    const res = a.loadStateDict({ weight: sd.weight!, constructor: zeros([1]) }, { strict: false });
    expect(res).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['constructor'] });
  });

  it('a custom module with a direct Parameter and a buffer', () => {
    class Scale extends nn.Module {
      scale = new nn.Parameter(tensor([2]));
      constructor() {
        super();
        this.registerBuffer('count', tensor([0], { dtype: 'int32' }));
      }
      forward(x: Tensor): Tensor {
        return x.mul(this.scale);
      }
    }
    const m = new Scale();
    expect([...m.namedParameters()].map(([k]) => k)).toEqual(['scale']);
    expect(Object.keys(m.stateDict())).toEqual(['scale', 'count']);
    m.loadStateDict({ scale: tensor([3]), count: tensor([5], { dtype: 'int32' }) });
    expect(m.forward(tensor([1, 2]))).toBeAllClose([3, 6]);
    expect((m as unknown as { count: Tensor }).count.toArray()).toEqual([5]);
    expect(() => m.loadStateDict({ scale: tensor([3]), count: tensor([5]) })).toThrow(
      /dtype mismatch for count/,
    );
  });

  it('strict: false loads what matches and reports missing and unexpected keys', () => {
    const a = new nn.Linear(2, 2);
    const res = a.loadStateDict(
      {
        weight: tensor([
          [1, 0],
          [0, 1],
        ]),
        extra: zeros([1]),
      },
      { strict: false },
    );
    expect(res).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    expect(a.weight).toBeAllClose([
      [1, 0],
      [0, 1],
    ]);
  });
});

describe('nn.save / nn.load', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shiftgrad-nn-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips a BaselineNet state dict through a file', () => {
    const path = join(dir, 'baseline.safetensors');
    const sd = net.stateDict();
    nn.save(sd, path, { epoch: '3' });
    const { tensors, metadata } = nn.load(path);
    expect(metadata).toEqual({ epoch: '3' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(sd).sort());
    for (const [k, t] of Object.entries(sd)) {
      expect(tensors[k]!.dtype).toBe('float32');
      expect(tensors[k]!).toBeAllClose(t, { atol: 0, rtol: 0 });
    }
    manualSeed(123);
    const other = new BaselineNet();
    expect(other.fc2.weight).not.toBeAllClose(net.fc2.weight);
    expect(other.loadStateDict(tensors)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    other.eval();
    net.eval();
    const x = randn([1, 1, 28, 28]);
    expect(other.forward(x)).toBeAllClose(net.forward(x), { atol: 0, rtol: 0 });
    net.train();
  });

  it('keeps float64 and int32 tensors', () => {
    const path = join(dir, 'mixed.safetensors');
    nn.save(
      { a: tensor([1.5, -2], { dtype: 'float64' }), b: tensor([[1, 2, 3]], { dtype: 'int32' }) },
      path,
    );
    const { tensors } = nn.load(path);
    expect(tensors.a!.dtype).toBe('float64');
    expect(tensors.b!.dtype).toBe('int32');
    expect(tensors.b!.shape).toEqual([1, 3]);
    expect(tensors.b!.toArray()).toEqual([[1, 2, 3]]);
  });
});
