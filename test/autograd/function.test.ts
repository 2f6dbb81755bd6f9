/** The custom Function API (torch.autograd.Function) and gradcheck's own ability to fail. */
import { describe, expect, it } from 'vitest';
import { Tensor, autograd, noGrad, tensor } from '../../src/index.ts';
import type { Context } from '../../src/autograd/index.ts';
import { normal, reseed } from '../helpers/random.ts';

const { gradcheck } = autograd;

class Cube extends autograd.Function {
  static forward(ctx: Context, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.pow(3);
  }
  // d x³ = 3x² dx
  static backward(ctx: Context, g: Tensor) {
    const [x] = ctx.saved as [Tensor];
    return [g.mul(x.pow(2).mul(3))];
  }
}

/** a·x + y with a plain-number argument in the middle (its gradient slot is null). */
class ScaledAdd extends autograd.Function {
  static forward(ctx: Context, x: Tensor, a: number, y: Tensor): Tensor {
    ctx.a = a;
    ctx.seen = [...ctx.needsInputGrad];
    return x.mul(a).add(y);
  }
  static backward(ctx: Context, g: Tensor) {
    return [
      ctx.needsInputGrad[0] ? g.mul(ctx.a as number) : null,
      null,
      ctx.needsInputGrad[2] ? g : null,
    ];
  }
}

/** Wrong on purpose: forgets the factor 3. */
class BadCube extends autograd.Function {
  static forward(ctx: Context, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.pow(3);
  }
  static backward(ctx: Context, g: Tensor) {
    const [x] = ctx.saved as [Tensor];
    return [g.mul(x.pow(2))];
  }
}

class WrongShape extends autograd.Function {
  static forward(_ctx: Context, x: Tensor): Tensor {
    return x.sum(0);
  }
  static backward(_ctx: Context, g: Tensor) {
    return [g]; // should be expanded back to x's shape
  }
}

class WrongCount extends autograd.Function {
  static forward(_ctx: Context, x: Tensor): Tensor {
    return x.mul(2);
  }
  static backward(_ctx: Context, g: Tensor) {
    return [g.mul(2), null];
  }
}

class Identity extends autograd.Function {
  static forward(_ctx: Context, x: Tensor): Tensor {
    return x;
  }
  static backward(_ctx: Context, g: Tensor) {
    return [g];
  }
}

describe('custom autograd.Function', () => {
  it('Cube: forward, backward, grad_fn name and gradcheck', () => {
    reseed(7);
    const x = normal([2, 3]);
    const y = Cube.apply(x);
    expect(y).toBeAllClose(x.detach().pow(3));
    expect(y.gradFn!.name).toBe('CubeBackward0');
    expect(String(y)).toContain('grad_fn=<CubeBackward0>');
    y.sum().backward();
    expect(x.grad).toBeAllClose(x.detach().square().mul(3));
    expect(gradcheck((t) => Cube.apply(t), [x])).toBe(true);
    expect(gradcheck((t) => Cube.apply(Cube.apply(t).add(t)).mean(), [x])).toBe(true);
  });

  it('ctx.needsInputGrad and a non-tensor argument (gradient null)', () => {
    reseed(8);
    const x = normal([3]);
    const y = normal([3]);
    const c = y.detach();
    const out = ScaledAdd.apply(x, 2.5, c);
    expect(out.gradFn!.ctx.seen).toEqual([true, false, false]);
    expect(gradcheck((a, b) => ScaledAdd.apply(a, -1.5, b), [x, y])).toBe(true);
    x.grad = null;
    ScaledAdd.apply(x, 2.5, c).sum().backward();
    expect(x.grad).toBeAllClose([2.5, 2.5, 2.5]);
    expect(c.grad).toBeNull();
  });

  it('under noGrad, forward sees needsInputGrad all false (as PyTorch)', () => {
    let seen: boolean[] = [];
    class Peek extends autograd.Function {
      static forward(ctx: Context, x: Tensor): Tensor {
        seen = [...ctx.needsInputGrad];
        return x.mul(2);
      }
      static backward(_ctx: Context, g: Tensor) {
        return [g.mul(2)];
      }
    }
    const x = tensor([1, 2], { requiresGrad: true });
    Peek.apply(x);
    expect(seen).toEqual([true]);
    noGrad(() => Peek.apply(x));
    expect(seen).toEqual([false]);
  });

  it('records nothing when no input requires grad or under noGrad', () => {
    const c = tensor([1, 2]);
    expect(Cube.apply(c).gradFn).toBeNull();
    const x = tensor([1, 2], { requiresGrad: true });
    expect(noGrad(() => Cube.apply(x)).gradFn).toBeNull();
  });

  it('forward runs without recording a graph of its own', () => {
    class Peek extends autograd.Function {
      static forward(ctx: Context, x: Tensor): Tensor {
        const inner = x.mul(2);
        ctx.innerHadGraph = inner.gradFn !== null;
        return inner;
      }
      static backward(_ctx: Context, g: Tensor) {
        return [g.mul(2)];
      }
    }
    const x = tensor([1], { requiresGrad: true });
    const y = Peek.apply(x);
    expect(y.gradFn!.ctx.innerHadGraph).toBe(false);
    expect(y.gradFn!.name).toBe('PeekBackward0');
  });

  it('a forward returning its input gets a separate output node', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = Identity.apply(x);
    expect(y).not.toBe(x);
    expect(x.isLeaf).toBe(true);
    y.mul(3).sum().backward();
    expect(x.grad).toBeAllClose([3, 3]);
  });

  it('a backward returning a wrong-shaped gradient throws naming the Function and shapes', () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    expect(() => WrongShape.apply(x).sum().backward()).toThrow(
      'backward: WrongShape.backward returned a gradient of shape [2] for input 0 of shape [2, 2]',
    );
  });

  it('a backward returning the wrong number of gradients throws naming the Function', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => WrongCount.apply(x).sum().backward()).toThrow(
      'backward: WrongCount.backward returned 2 gradients for 1 forward arguments',
    );
  });

  it('a backward returning a gradient of the wrong dtype throws', () => {
    class WrongDType extends autograd.Function {
      static forward(_ctx: Context, x: Tensor): Tensor {
        return x.clone();
      }
      static backward(_ctx: Context, g: Tensor) {
        return [g.to('float64')];
      }
    }
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => WrongDType.apply(x).sum().backward()).toThrow(
      /WrongDType.backward returned a float64 gradient for a float32 input 0/,
    );
  });

  it('a forward that does not return a tensor throws', () => {
    class NotTensor extends autograd.Function {
      static forward(_ctx: Context, _x: Tensor): Tensor {
        return 3 as unknown as Tensor;
      }
      static backward(_ctx: Context, g: Tensor) {
        return [g];
      }
    }
    expect(() => NotTensor.apply(tensor([1]))).toThrow('NotTensor.forward must return a Tensor');
  });

  it('apply is typed by forward: the wrong arity or argument types are compile errors', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = tensor([3, 4]);
    // @ts-expect-error Cube.forward takes one tensor after ctx
    expect(() => Cube.apply(x, y)).not.toThrow();
    // @ts-expect-error the middle argument of ScaledAdd must be a number
    void (() => ScaledAdd.apply(x, y, y));
    // @ts-expect-error too few arguments
    void (() => ScaledAdd.apply(x, 2));
    const ok: Tensor = ScaledAdd.apply(x, 2, y);
    expect(ok.shape).toEqual([2]);
  });
});

describe('gradcheck itself', () => {
  it('returns true on a correct Function', () => {
    reseed(9);
    expect(gradcheck((t) => Cube.apply(t), [normal([4])])).toBe(true);
  });

  it('throws on a deliberately wrong Function, naming input, element, numerical and analytical values', () => {
    const x = tensor(
      [
        [1, 2],
        [3, -1],
      ],
      { dtype: 'float64', requiresGrad: true },
    );
    let message = '';
    try {
      gradcheck((t) => BadCube.apply(t), [x]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(
      /^gradcheck: Jacobian mismatch for input 0 \(shape \[2, 2\]\) at element \[0, 0\]/,
    );
    // d x³/dx at x = 1 is 3; BadCube claims 1.
    expect(message).toMatch(/numerical 3\.0000\d*|numerical 2\.9999\d*/);
    expect(message).toContain('analytical 1 ');
  });

  it('names the second input when only that one is wrong', () => {
    class HalfWrong extends autograd.Function {
      static forward(_ctx: Context, a: Tensor, b: Tensor): Tensor {
        return a.add(b.mul(2));
      }
      static backward(_ctx: Context, g: Tensor) {
        return [g, g]; // b's gradient should be 2g
      }
    }
    const a = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const b = tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    expect(() => gradcheck((p, q) => HalfWrong.apply(p, q), [a, b])).toThrow(
      /for input 1 \(shape \[2\]\) at element \[0\].*numerical 2\.0\d*, analytical 1/,
    );
  });

  it('detects a missing gradient (analytical 0)', () => {
    class Detached extends autograd.Function {
      static forward(_ctx: Context, a: Tensor): Tensor {
        return a.mul(2);
      }
      static backward() {
        return [null];
      }
    }
    const a = tensor([1], { dtype: 'float64', requiresGrad: true });
    expect(() => gradcheck((p) => Detached.apply(p), [a])).toThrow(/analytical 0/);
  });

  it('restores .grad of the inputs and their values', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    x.grad = tensor([7, 7], { dtype: 'float64' });
    gradcheck((t) => t.exp(), [x]);
    expect(x.grad).toBeAllClose([7, 7]);
    expect(x).toBeAllClose([1, 2]);
  });

  it('refuses float32 inputs and inputs that do not require grad', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => gradcheck((t) => t.exp(), [x])).toThrow(
      'gradcheck: input 0 is float32; finite differences need float64 inputs',
    );
    const y = tensor([1, 2], { dtype: 'float64' });
    expect(() => gradcheck((t) => t.exp(), [y])).toThrow('gradcheck: no input requires grad');
  });

  it('skips inputs that do not require grad', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const c = tensor([1, 2], { dtype: 'float32' });
    expect(gradcheck((t, k) => t.mul(k!.double()), [x, c])).toBe(true);
  });
});
