/** Autograd semantics: accumulation, retainGrad, detach/noGrad, freed graphs, in-place checks. */
import { describe, expect, it } from 'vitest';
import { Tensor, enableGrad, isGradEnabled, noGrad, ones, tensor, zeros } from '../../src/index.ts';

const leaf = (data: number[], dtype: 'float32' | 'float64' = 'float32') =>
  tensor(data, { dtype, requiresGrad: true });

describe('gradient accumulation', () => {
  it('.grad accumulates across two backward calls', () => {
    const x = leaf([1, 2, 3]);
    x.mul(2).sum().backward();
    const first = x.grad!;
    expect(first).toBeAllClose([2, 2, 2]);
    x.mul(x).sum().backward();
    expect(x.grad).toBeAllClose([4, 6, 8]);
    // Accumulated in place, as PyTorch does without create_graph.
    expect(x.grad).toBe(first);
  });

  it('the first gradient is a copy, not the incoming gradient tensor', () => {
    const x = leaf([1, 2]);
    const g = tensor([5, 6]);
    x.backward(g);
    expect(x.grad).toBeAllClose([5, 6]);
    x.backward(g);
    expect(x.grad).toBeAllClose([10, 12]);
    expect(g).toBeAllClose([5, 6]);
  });

  it('accumulates into a user-assigned non-contiguous .grad', () => {
    const x = leaf([1, 2, 3, 4, 5, 6]).reshape(2, 3).detach().requiresGrad_();
    x.grad = zeros([3, 2]).t();
    x.mul(2).sum().backward();
    expect(x.grad).toBeAllClose([
      [2, 2, 2],
      [2, 2, 2],
    ]);
  });

  it('diamond graph: x used on two paths accumulates both', () => {
    const x = leaf([1, 2, 3], 'float64');
    const a = x.mul(3);
    const b = x.exp();
    const y = a.add(b).add(x).sum();
    y.backward();
    expect(x.grad).toBeAllClose([1, 2, 3].map((v) => 3 + Math.exp(v) + 1));
  });

  it('a node reused by several consumers backpropagates once with the summed gradient', () => {
    const x = leaf([2]);
    const h = x.mul(x); // h = x², dh/dx = 2x
    const y = h.mul(h).add(h); // y = h² + h
    y.backward();
    // dy/dx = (2h + 1)·2x = (8 + 1)·4
    expect(x.grad).toBeAllClose([36]);
  });

  it('x + x and x * x', () => {
    const x = leaf([3]);
    x.add(x).backward();
    expect(x.grad).toBeAllClose([2]);
    x.grad = null;
    x.mul(x).backward();
    expect(x.grad).toBeAllClose([6]);
  });

  it('a long chain (20,000 adds) backprops without stack overflow', () => {
    const x = leaf([1]);
    let y: Tensor = x;
    for (let i = 0; i < 20_000; i++) y = y.add(1);
    expect(y.item()).toBe(20_001);
    y.backward();
    expect(x.grad).toBeAllClose([1]);
  });

  it('a deep chain of muls gives the right product', () => {
    const x = leaf([1.0001], 'float64');
    let y: Tensor = x;
    for (let i = 0; i < 5000; i++) y = y.mul(x.detach());
    y.backward();
    expect(x.grad!.item()).toBeCloseTo(1.0001 ** 5000, 6);
  });
});

describe('leaves, non-leaves and retainGrad', () => {
  it('.grad is null on non-leaves unless retainGrad() was called', () => {
    const x = leaf([1, 2]);
    const h = x.mul(2);
    const r = x.mul(3).retainGrad();
    h.add(r).sum().backward();
    expect(h.grad).toBeNull();
    expect(r.grad).toBeAllClose([1, 1]);
    expect(x.grad).toBeAllClose([5, 5]);
    expect(x.isLeaf).toBe(true);
    expect(h.isLeaf).toBe(false);
    expect(h.requiresGrad).toBe(true);
  });

  it('retainGrad on a non-leaf sees the incoming gradient (not all ones)', () => {
    const x = leaf([1, 2]);
    const h = x.mul(2).retainGrad();
    h.square().sum().backward();
    expect(h.grad).toBeAllClose([4, 8]);
    expect(x.grad).toBeAllClose([8, 16]);
  });

  it('retainGrad on the root and on a leaf (no double counting)', () => {
    const x = leaf([1, 2]).retainGrad();
    const y = x.sum().retainGrad();
    y.backward();
    expect(y.grad!.item()).toBe(1);
    expect(x.grad).toBeAllClose([1, 1]);
  });

  it('tensors not requiring grad get no .grad; results of ops on them do not require grad', () => {
    const x = leaf([1, 2]);
    const c = tensor([3, 4]);
    const y = x.mul(c);
    expect(c.mul(2).requiresGrad).toBe(false);
    expect(c.mul(2).gradFn).toBeNull();
    y.sum().backward();
    expect(c.grad).toBeNull();
  });

  it('backward with an explicit gradient on a non-scalar output', () => {
    const x = leaf([1, 2, 3]);
    x.mul(x).backward(tensor([1, 0.5, -1]));
    expect(x.grad).toBeAllClose([2, 2, -6]);
  });
});

describe('detach, noGrad, data', () => {
  it('detach() shares storage and cuts the graph', () => {
    const x = leaf([1, 2]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    const y = x.mul(d).sum(); // d is a constant here
    y.backward();
    expect(x.grad).toBeAllClose([1, 2]);
    d.fill_(9);
    expect(x).toBeAllClose([9, 9]);
  });

  it('noGrad() records no graph and restores the mode (even on throw)', () => {
    const x = leaf([1, 2]);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(isGradEnabled()).toBe(true);
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    const z = noGrad(() => enableGrad(() => x.mul(2)));
    expect(z.gradFn).not.toBeNull();
  });

  it('param.data = t replaces the values outside the graph', () => {
    const p = leaf([1, 2, 3]);
    p.data = tensor([4, 5]);
    expect(p.shape).toEqual([2]);
    expect(p).toBeAllClose([4, 5]);
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
    p.mul(p).sum().backward();
    expect(p.grad).toBeAllClose([8, 10]);
    // .data reads share storage with the parameter.
    p.data.mul_(2);
    expect(p).toBeAllClose([8, 10]);
    expect(() => (p.data = tensor([1], { dtype: 'float64' }))).toThrow(
      /data: cannot assign float64 values to a float32 tensor/,
    );
  });
});

describe('freed graphs', () => {
  it('a second backward through a freed graph throws a clear error', () => {
    const x = leaf([1, 2]);
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(
      /backward through the graph a second time.*retainGraph: true/,
    );
  });

  it('with { retainGraph: true } a second backward works and accumulates', () => {
    const x = leaf([1, 2], 'float64');
    const y = x.exp().mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad).toBeAllClose([1, 2].map((v) => 2 * Math.exp(v) * (1 + v)));
    expect(() => y.backward()).toThrow(/second time/);
  });
});

describe('in-place checks', () => {
  it('modifying a tensor saved for backward is detected', () => {
    const x = leaf([1, 2]);
    const a = tensor([3, 4]);
    const y = x.mul(a).sum(); // Mul saves a
    a.add_(1);
    expect(() => y.backward()).toThrow(
      /saved for backward was modified in place \(version 0 -> 1\)/,
    );
  });

  it('modifying an op output that backward needs (exp saves its result) is detected', () => {
    const x = leaf([1, 2]);
    const e = x.exp();
    const y = e.sum();
    noGrad(() => e.mul_(2));
    expect(() => y.backward()).toThrow(/modified in place/);
  });

  it('a view of a saved tensor shares its version counter', () => {
    const x = leaf([1, 2, 3, 4]);
    const a = tensor([1, 2, 3, 4]);
    const y = x.mul(a).sum();
    a.narrow(0, 1, 2).fill_(0);
    expect(a).toBeAllClose([1, 0, 0, 4]);
    expect(() => y.backward()).toThrow(/modified in place/);
  });

  it('an in-place op on a leaf that requires grad throws unless under noGrad', () => {
    const w = leaf([1, 2]);
    for (const f of [
      () => w.add_(1),
      () => w.mul_(2),
      () => w.fill_(0),
      () => w.zero_(),
      () => w.copy_(tensor([0, 0])),
    ]) {
      expect(f).toThrow(/a leaf tensor that requires grad is being used in an in-place operation/);
    }
    noGrad(() => w.add_(tensor([1, 1]), -0.5).mul_(2));
    expect(w).toBeAllClose([1, 3]);
  });

  it('an in-place op on a non-leaf in the graph throws (it would not be recorded)', () => {
    const x = leaf([1, 2]);
    const y = x.mul(2);
    expect(() => y.mul_(3)).toThrow(
      /mul_: in-place operations are not recorded by autograd.*MulBackward0/,
    );
    expect(() => x.narrow(0, 0, 1).fill_(0)).toThrow(/fill_: in-place/);
  });

  it('in-place ops on plain tensors broadcast their argument', () => {
    const t = zeros([2, 3]);
    t.add_(tensor([1, 2, 3]));
    t.mul_(tensor([[1], [10]]));
    expect(t).toBeAllClose([
      [1, 2, 3],
      [10, 20, 30],
    ]);
    t.clamp_(5, 20);
    expect(t).toBeAllClose([
      [5, 5, 5],
      [10, 20, 20],
    ]);
    t.copy_(7);
    expect(t).toBeAllClose(ones([2, 3]).mul(7));
  });

  it('an optimizer-style update under noGrad leaves the graph usable next step', () => {
    const w = leaf([1, -1], 'float64');
    for (let step = 0; step < 3; step++) {
      w.grad = null;
      w.square().sum().backward();
      noGrad(() => w.add_(w.grad!, -0.25));
    }
    expect(w).toBeAllClose([0.125, -0.125]);
  });
});
