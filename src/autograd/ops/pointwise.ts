/** Elementwise ops with broadcasting. Each backward states its derivative in one line. */
import { Tensor, type TensorLike } from '../../tensor/tensor.ts';
import { broadcastShapes } from '../../tensor/shape.ts';
import { Function, type Context } from '../function.ts';
import {
  allocate,
  allocateUninitialized,
  isFloating,
  promote,
  type DType,
} from '../../tensor/dtype.ts';
import { reluBackward, reluForward } from '../../tensor/kernels/elementwise.ts';
import type { FloatArray } from '../../tensor/kernels/types.ts';
import { asTensor, assertFloat, binaryMap, sumToShape, unaryMap } from './util.ts';

function pair(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number')
    throw new Error(`${op}: at least one operand must be a tensor`);
  const ta = typeof a === 'number' ? asTensor(a, b as Tensor) : a;
  const tb = asTensor(b, ta);
  return [ta, tb];
}

class Add extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.shapes = [a.shape, b.shape];
    return binaryMap('add', a, b, (x, y) => x + y);
  }
  // d(a+b) = da + db
  static backward(ctx: Context, g: Tensor) {
    return [sumToShape(g, ctx.shapes[0]), sumToShape(g, ctx.shapes[1])];
  }
}

class Sub extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.shapes = [a.shape, b.shape];
    return binaryMap('sub', a, b, (x, y) => x - y);
  }
  // d(a-b) = da - db
  static backward(ctx: Context, g: Tensor) {
    return [
      sumToShape(g, ctx.shapes[0]),
      ctx.needsInputGrad[1] ? sumToShape(g.neg(), ctx.shapes[1]) : null,
    ];
  }
}

class Mul extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(a, b);
    return binaryMap('mul', a, b, (x, y) => x * y);
  }
  // d(ab) = b da + a db
  static backward(ctx: Context, g: Tensor) {
    const [a, b] = ctx.saved as [Tensor, Tensor];
    return [
      ctx.needsInputGrad[0] ? sumToShape(g.mul(b), a.shape) : null,
      ctx.needsInputGrad[1] ? sumToShape(g.mul(a), b.shape) : null,
    ];
  }
}

class Div extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(a, b);
    const promoted = promote('div', a.dtype, b.dtype);
    const dtype: DType = isFloating(promoted) ? promoted : 'float32';
    return binaryMap('div', a, b, (x, y) => x / y, dtype);
  }
  // d(a/b) = da/b - a db/b²
  static backward(ctx: Context, g: Tensor) {
    const [a, b] = ctx.saved as [Tensor, Tensor];
    return [
      ctx.needsInputGrad[0] ? sumToShape(g.div(b), a.shape) : null,
      ctx.needsInputGrad[1] ? sumToShape(g.mul(a).div(b.mul(b)).neg(), b.shape) : null,
    ];
  }
}

class Pow extends Function {
  static forward(ctx: Context, a: Tensor, e: Tensor): Tensor {
    const out = binaryMap('pow', a, e, Math.pow);
    ctx.saveForBackward(a, e, out);
    return out;
  }
  // d(a^e) = e a^(e-1) da + a^e ln(a) de   (the ln term is 0 where a = 0, as in PyTorch)
  static backward(ctx: Context, g: Tensor) {
    const [a, e, out] = ctx.saved as [Tensor, Tensor, Tensor];
    const ga = ctx.needsInputGrad[0]
      ? sumToShape(
          g.mul(binaryMap('pow', a, e, (x, y) => (y === 0 ? 0 : y * Math.pow(x, y - 1)))),
          a.shape,
        )
      : null;
    const ge = ctx.needsInputGrad[1]
      ? sumToShape(
          g.mul(binaryMap('pow', out, a, (o, x) => (x === 0 ? 0 : o * Math.log(x)))),
          e.shape,
        )
      : null;
    return [ga, ge];
  }
}

/** Ties split the gradient evenly between both inputs, as PyTorch does. */
class Maximum extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(a, b);
    return binaryMap('maximum', a, b, (x, y) => (x !== x || y !== y ? NaN : x > y ? x : y));
  }
  // d max(a,b) = [a>b] da + [b>a] db, ½ each on ties
  static backward(ctx: Context, g: Tensor) {
    const [a, b] = ctx.saved as [Tensor, Tensor];
    const wa = binaryMap('maximum', a, b, (x, y) => (x > y ? 1 : x === y ? 0.5 : 0), g.dtype);
    return [sumToShape(g.mul(wa), a.shape), sumToShape(g.mul(wa.neg().add(1)), b.shape)];
  }
}

class Minimum extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(a, b);
    return binaryMap('minimum', a, b, (x, y) => (x !== x || y !== y ? NaN : x < y ? x : y));
  }
  // d min(a,b) = [a<b] da + [b<a] db, ½ each on ties
  static backward(ctx: Context, g: Tensor) {
    const [a, b] = ctx.saved as [Tensor, Tensor];
    const wa = binaryMap('minimum', a, b, (x, y) => (x < y ? 1 : x === y ? 0.5 : 0), g.dtype);
    return [sumToShape(g.mul(wa), a.shape), sumToShape(g.mul(wa.neg().add(1)), b.shape)];
  }
}

class Neg extends Function {
  static forward(_ctx: Context, x: Tensor): Tensor {
    return unaryMap(x, (v) => -v);
  }
  // d(-x) = -dx
  static backward(_ctx: Context, g: Tensor) {
    return [g.neg()];
  }
}

class Exp extends Function {
  static forward(ctx: Context, x: Tensor): Tensor {
    assertFloat('exp', x);
    const out = unaryMap(x, Math.exp);
    ctx.saveForBackward(out);
    return out;
  }
  // d e^x = e^x dx
  static backward(ctx: Context, g: Tensor) {
    return [g.mul(ctx.saved[0]!)];
  }
}

class Log extends Function {
  static forward(ctx: Context, x: Tensor): Tensor {
    assertFloat('log', x);
    ctx.saveForBackward(x);
    return unaryMap(x, Math.log);
  }
  // d ln x = dx / x
  static backward(ctx: Context, g: Tensor) {
    return [g.div(ctx.saved[0]!)];
  }
}

class Sqrt extends Function {
  static forward(ctx: Context, x: Tensor): Tensor {
    assertFloat('sqrt', x);
    const out = unaryMap(x, Math.sqrt);
    ctx.saveForBackward(out);
    return out;
  }
  // d √x = dx / (2√x)
  static backward(ctx: Context, g: Tensor) {
    return [g.div(ctx.saved[0]!.mul(2))];
  }
}

class Abs extends Function {
  static forward(ctx: Context, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return unaryMap(x, Math.abs);
  }
  // d|x| = sign(x) dx  (0 at 0)
  static backward(ctx: Context, g: Tensor) {
    return [g.mul(ctx.saved[0]!.sign())];
  }
}

class Sign extends Function {
  static forward(_ctx: Context, x: Tensor): Tensor {
    return unaryMap(x, (v) => (v > 0 ? 1 : v < 0 ? -1 : v));
  }
  // d sign(x) = 0
  static backward(_ctx: Context, g: Tensor) {
    return [g.mul(0)];
  }
}

class Relu extends Function {
  static traceTag = 'relu';
  static forward(ctx: Context, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    if (!isFloating(x.dtype)) return unaryMap(x, (v) => (v > 0 ? v : 0));
    const out = allocateUninitialized(x.dtype, x.numel()) as FloatArray;
    reluForward(out, x._flat() as FloatArray, out.length);
    return Tensor.fromData(out, x.shape);
  }
  // d relu(x) = [x > 0] dx
  static backward(ctx: Context, g: Tensor) {
    const x = ctx.saved[0]!;
    const gx = allocateUninitialized(g.dtype, g.numel()) as FloatArray; // written in full
    reluBackward(gx, g._flat() as FloatArray, x._flat() as FloatArray, gx.length);
    return [Tensor.fromData(gx, x.shape)];
  }
}

class Clamp extends Function {
  static forward(ctx: Context, x: Tensor, min: number | null, max: number | null): Tensor {
    if (min === null && max === null)
      throw new Error('clamp: at least one of min and max must be given');
    const lo = min ?? -Infinity;
    const hi = max ?? Infinity;
    ctx.saveForBackward(x);
    ctx.lo = lo;
    ctx.hi = hi;
    // min(max(x, lo), hi): when lo > hi every element becomes hi, as in PyTorch.
    return unaryMap(x, (v) => (v > hi ? hi : v < lo ? (lo > hi ? hi : lo) : v));
  }
  // d clamp(x) = [lo <= x <= hi] dx
  static backward(ctx: Context, g: Tensor) {
    const { lo, hi } = ctx as unknown as { lo: number; hi: number };
    return [
      binaryMap('clamp', g, ctx.saved[0]!, (gv, x) => (x >= lo && x <= hi ? gv : 0), g.dtype),
      null,
      null,
    ];
  }
}

class Where extends Function {
  static forward(ctx: Context, cond: Tensor, a: Tensor, b: Tensor): Tensor {
    if (cond.dtype !== 'bool')
      throw new Error(`where: condition must be a bool tensor, got ${cond.dtype}`);
    ctx.saveForBackward(cond);
    ctx.shapes = [a.shape, b.shape];
    const dtype = promote('where', a.dtype, b.dtype);
    const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
    const c = cond.expand(shape)._flat();
    const x = a.expand(shape)._flat();
    const y = b.expand(shape)._flat();
    const out = allocate(dtype, c.length);
    for (let i = 0; i < out.length; i++) out[i] = c[i] ? x[i]! : y[i]!;
    return Tensor.fromData(out, shape);
  }
  // d where(c, a, b) = [c] da + [!c] db
  static backward(ctx: Context, g: Tensor) {
    const cond = ctx.saved[0]!;
    return [
      null,
      ctx.needsInputGrad[1]
        ? sumToShape(
            binaryMap('where', g, cond, (gv, c) => (c ? gv : 0), g.dtype),
            ctx.shapes[0],
          )
        : null,
      ctx.needsInputGrad[2]
        ? sumToShape(
            binaryMap('where', g, cond, (gv, c) => (c ? 0 : gv), g.dtype),
            ctx.shapes[1],
          )
        : null,
    ];
  }
}

class PowScalar extends Function {
  static forward(ctx: Context, x: Tensor, e: number): Tensor {
    ctx.saveForBackward(x);
    ctx.e = e;
    return unaryMap(x, e === 2 ? (v) => v * v : (v) => Math.pow(v, e));
  }
  // d x^e = e x^(e-1) dx
  static backward(ctx: Context, g: Tensor) {
    const e = ctx.e as number;
    const x = ctx.saved[0]!;
    return [e === 0 ? g.mul(0) : g.mul(unaryMap(x, (v) => e * Math.pow(v, e - 1))), null];
  }
}

export const add = (a: TensorLike, b: TensorLike): Tensor => Add.apply(...pair('add', a, b));
export const sub = (a: TensorLike, b: TensorLike): Tensor => Sub.apply(...pair('sub', a, b));
export const mul = (a: TensorLike, b: TensorLike): Tensor => Mul.apply(...pair('mul', a, b));
export const div = (a: TensorLike, b: TensorLike): Tensor => Div.apply(...pair('div', a, b));
export const maximum = (a: TensorLike, b: TensorLike): Tensor =>
  Maximum.apply(...pair('maximum', a, b));
export const minimum = (a: TensorLike, b: TensorLike): Tensor =>
  Minimum.apply(...pair('minimum', a, b));
export function pow(a: TensorLike, e: TensorLike): Tensor {
  if (typeof a !== 'number' && typeof e === 'number') {
    if (!isFloating(a.dtype) && (!Number.isInteger(e) || e < 0)) {
      return PowScalar.apply(a.to('float32'), e);
    }
    return PowScalar.apply(a, e);
  }
  const [ta, te] = pair('pow', a, e);
  return Pow.apply(ta, te);
}
export const neg = (x: Tensor): Tensor => Neg.apply(x);
export const exp = (x: Tensor): Tensor => Exp.apply(x);
export const log = (x: Tensor): Tensor => Log.apply(x);
export const sqrt = (x: Tensor): Tensor => Sqrt.apply(x);
export const abs = (x: Tensor): Tensor => Abs.apply(x);
export const sign = (x: Tensor): Tensor => Sign.apply(x);
export const relu = (x: Tensor): Tensor => Relu.apply(x);
export const clamp = (x: Tensor, min: number | null, max: number | null = null): Tensor =>
  Clamp.apply(x, min, max);
/** Elementwise `cond ? a : b` with broadcasting. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  // Two numbers: int32 if both are integers, else float32 (torch.where(c, 1., 0.) is float32).
  const [ta, tb] =
    typeof a === 'number' && typeof b === 'number'
      ? [asTensor(a, cond), asTensor(b, cond)]
      : pair('where', a, b);
  return Where.apply(cond, ta, tb);
}

// Comparisons: not differentiable, bool results.
const cmp =
  (op: string, f: (x: number, y: number) => number) =>
  (a: Tensor, b: TensorLike): Tensor => {
    const tb = asTensor(b, a);
    if (isFloating(a.dtype) && isFloating(tb.dtype) && a.dtype !== tb.dtype) {
      throw new Error(`${op}: dtype mismatch, ${a.dtype} and ${tb.dtype}`);
    }
    return binaryMap(op, a, tb, f, 'bool');
  };
export const eq = cmp('eq', (x, y) => (x === y ? 1 : 0));
export const ne = cmp('ne', (x, y) => (x !== y ? 1 : 0));
export const gt = cmp('gt', (x, y) => (x > y ? 1 : 0));
export const ge = cmp('ge', (x, y) => (x >= y ? 1 : 0));
export const lt = cmp('lt', (x, y) => (x < y ? 1 : 0));
export const le = cmp('le', (x, y) => (x <= y ? 1 : 0));
