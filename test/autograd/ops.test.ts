/**
 * One-line op tests in the tinygrad style: forward against hand-computed values, then backprop
 * `(out + 1).square().mean()` (so the incoming gradient is not all ones) against hand-derived
 * gradients.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, max, maximum, min, minimum, tensor } from '../../src/index.ts';

/** Runs op, checks the forward, backprops (out+1)².mean() and checks each input's gradient. */
function helper(
  inputs: number[][],
  op: (...xs: Tensor[]) => Tensor,
  forward: number | number[] | number[][],
  grads: (out: number[], xs: number[][]) => number[][],
  atol = 1e-6,
): void {
  const xs = inputs.map((v) => tensor(v, { dtype: 'float64', requiresGrad: true }));
  const out = op(...xs);
  expect(out).toBeAllClose(forward, { atol, rtol: 1e-6 });
  out.add(1).square().mean().backward();
  const outFlat = Array.from(out.toTypedArray());
  const expected = grads(outFlat, inputs);
  xs.forEach((x, i) =>
    expect(x.grad, `grad of input ${i}`).toBeAllClose(expected[i]!, { atol, rtol: 1e-6 }),
  );
}

// d/dout of mean((out+1)²) over n outputs: 2(out+1)/n.
const up = (out: number[]) => out.map((o) => (2 * (o + 1)) / out.length);

describe('one-line op tests (forward, then (out+1)².mean() backward)', () => {
  it('add', () =>
    helper(
      [
        [1, 2, 3],
        [10, 20, 30],
      ],
      (a, b) => a.add(b),
      [11, 22, 33],
      (o) => [up(o), up(o)],
    ));
  it('sub', () =>
    helper(
      [
        [1, 2, 3],
        [10, 20, 30],
      ],
      (a, b) => a.sub(b),
      [-9, -18, -27],
      (o) => [up(o), up(o).map((g) => -g)],
    ));
  it('mul', () =>
    helper(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      (a, b) => a.mul(b),
      [4, 10, 18],
      (o, [a, b]) => [up(o).map((g, i) => g * b![i]!), up(o).map((g, i) => g * a![i]!)],
    ));
  it('div', () =>
    helper(
      [
        [1, 2, 3],
        [4, 5, 8],
      ],
      (a, b) => a.div(b),
      [0.25, 0.4, 0.375],
      (o, [a, b]) => [
        up(o).map((g, i) => g / b![i]!),
        up(o).map((g, i) => (-g * a![i]!) / b![i]! ** 2),
      ],
    ));
  it('pow with a tensor exponent', () =>
    helper(
      [
        [1, 2, 3],
        [2, 0.5, -1],
      ],
      (a, b) => a.pow(b),
      [1, Math.SQRT2, 1 / 3],
      (o, [a, b]) => [
        up(o).map((g, i) => g * b![i]! * a![i]! ** (b![i]! - 1)),
        up(o).map((g, i) => g * o[i]! * Math.log(a![i]!)),
      ],
    ));
  it('pow with a scalar exponent', () =>
    helper(
      [[1, -2, 3]],
      (a) => a.pow(3),
      [1, -8, 27],
      (o, [a]) => [up(o).map((g, i) => 3 * g * a![i]! ** 2)],
    ));
  it('neg', () =>
    helper(
      [[1, -2]],
      (a) => a.neg(),
      [-1, 2],
      (o) => [up(o).map((g) => -g)],
    ));
  it('exp', () =>
    helper(
      [[0, 1]],
      (a) => a.exp(),
      [1, Math.E],
      (o) => [up(o).map((g, i) => g * o[i]!)],
    ));
  it('log', () =>
    helper(
      [[1, Math.E]],
      (a) => a.log(),
      [0, 1],
      (o, [a]) => [up(o).map((g, i) => g / a![i]!)],
    ));
  it('sqrt', () =>
    helper(
      [[4, 9]],
      (a) => a.sqrt(),
      [2, 3],
      (o) => [up(o).map((g, i) => g / (2 * o[i]!))],
    ));
  it('abs (gradient 0 at 0, like PyTorch)', () =>
    helper(
      [[-2, 0, 3]],
      (a) => a.abs(),
      [2, 0, 3],
      (o) => [up(o).map((g, i) => g * [-1, 0, 1][i]!)],
    ));
  it('sign', () =>
    helper(
      [[-2, 0, 3]],
      (a) => a.sign(),
      [-1, 0, 1],
      () => [[0, 0, 0]],
    ));
  it('relu (gradient 0 at 0, like PyTorch)', () =>
    helper(
      [[-2, 0, 3]],
      (a) => a.relu(),
      [0, 0, 3],
      (o) => [up(o).map((g, i) => g * [0, 0, 1][i]!)],
    ));
  it('clamp (bounds inclusive for the gradient, like PyTorch)', () =>
    helper(
      [[-2, -1, 0, 1, 2]],
      (a) => a.clamp(-1, 1),
      [-1, -1, 0, 1, 1],
      (o) => [up(o).map((g, i) => g * [0, 1, 1, 1, 0][i]!)],
    ));
  it('sum with keepdim', () =>
    helper(
      [[1, 2, 3]],
      (a) => a.reshape(1, 3).sum(1, true),
      [[6]],
      (o) => [[1, 1, 1].map(() => up(o)[0]!)],
    ));
  it('mean', () =>
    helper(
      [[1, 2, 3]],
      (a) => a.mean(),
      2,
      (o) => [[1, 1, 1].map(() => up(o)[0]! / 3)],
    ));
  it('matmul 1-D . 1-D', () =>
    helper(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      (a, b) => a.matmul(b),
      32,
      (o, [a, b]) => [b!.map((v) => v * up(o)[0]!), a!.map((v) => v * up(o)[0]!)],
    ));
});

describe('ties', () => {
  it('maximum/minimum split the gradient ½/½ on ties, as PyTorch', () => {
    const a = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const b = tensor([1, 5, 0], { dtype: 'float64', requiresGrad: true });
    maximum(a, b).sum().backward();
    expect(a.grad).toBeAllClose([0.5, 0, 1]);
    expect(b.grad).toBeAllClose([0.5, 1, 0]);
    a.grad = null;
    b.grad = null;
    minimum(a, b).sum().backward();
    expect(a.grad).toBeAllClose([0.5, 1, 0]);
    expect(b.grad).toBeAllClose([0.5, 0, 1]);
  });

  it('maximum with a scalar tie (relu-like): ½ to the tensor', () => {
    const x = tensor([-1, 0, 2], { requiresGrad: true });
    maximum(x, 0).sum().backward();
    expect(x.grad).toBeAllClose([0, 0.5, 1]);
  });

  it('max(dim) sends the whole gradient to the first maximum', () => {
    const x = tensor(
      [
        [1, 3, 3],
        [2, 2, 0],
      ],
      { requiresGrad: true },
    );
    const m = max(x, 1);
    expect(m).toBeAllClose([3, 2]);
    m.mul(tensor([10, 20]))
      .sum()
      .backward();
    expect(x.grad).toBeAllClose([
      [0, 10, 0],
      [20, 0, 0],
    ]);
  });

  it('min(dim, keepdim) sends the gradient to the first minimum', () => {
    const x = tensor(
      [
        [1, 0, 0],
        [5, 2, 2],
      ],
      { requiresGrad: true },
    );
    const m = min(x, 1, true);
    expect(m.shape).toEqual([2, 1]);
    m.sum().backward();
    expect(x.grad).toBeAllClose([
      [0, 1, 0],
      [0, 1, 0],
    ]);
  });

  it('full max()/min() share the gradient evenly among tied extremes (PyTorch amax-style)', () => {
    const x = tensor([1, 4, 4, 2, 4, 0], { requiresGrad: true });
    max(x).backward();
    expect(x.grad).toBeAllClose([0, 1 / 3, 1 / 3, 0, 1 / 3, 0]);
    x.grad = null;
    min(x.reshape(2, 3), [0, 1]).backward();
    expect(x.grad).toBeAllClose([0, 0, 0, 0, 0, 1]);
  });
});
