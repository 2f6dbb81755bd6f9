/** Reductions over one or several dims, with keepdim. */
import { Tensor } from '../../tensor/tensor.ts';
import { Function, type Context } from '../function.ts';
import { allocate, isFloating, type TypedArray } from '../../tensor/dtype.ts';
import { normDim, normDims, shapeStr } from '../../tensor/shape.ts';
import { assertFloat } from './util.ts';

/** Moves the reduced dims last and lays the values out as [outer, inner] rows. */
function rows(
  x: Tensor,
  dims: number[],
): { data: TypedArray; outer: number; inner: number; perm: number[] } {
  const nd = x.ndim;
  const kept = Array.from({ length: nd }, (_, i) => i).filter((i) => !dims.includes(i));
  const perm = [...kept, ...dims];
  const inner = dims.reduce((p, d) => p * x.size(d), 1);
  const outer = kept.reduce((p, d) => p * x.size(d), 1);
  const data = perm.every((p, i) => p === i) ? x._flat() : x.permute(perm)._flat();
  return { data, outer, inner, perm };
}

function outShape(shape: number[], dims: number[], keepdim: boolean): number[] {
  return keepdim
    ? shape.map((s, i) => (dims.includes(i) ? 1 : s))
    : shape.filter((_, i) => !dims.includes(i));
}

class Sum extends Function {
  static forward(ctx: Context, x: Tensor, dims: number[], keepdim: boolean): Tensor {
    ctx.inShape = x.shape;
    ctx.keptShape = outShape(x.shape, dims, true);
    const { data, outer, inner } = rows(x, dims);
    const out = allocate(x.dtype === 'bool' ? 'int32' : x.dtype, outer);
    for (let o = 0, k = 0; o < outer; o++) {
      let s = 0;
      for (let i = 0; i < inner; i++) s += data[k++]!;
      out[o] = s;
    }
    return Tensor.fromData(out, outShape(x.shape, dims, keepdim));
  }
  // d Σx = broadcast(g)
  static backward(ctx: Context, g: Tensor) {
    return [g.reshape(ctx.keptShape).expand(ctx.inShape), null, null];
  }
}

/** max/min over several dims (or all): the gradient is shared evenly among tied extremes. */
class Extreme extends Function {
  static forward(
    ctx: Context,
    x: Tensor,
    dims: number[],
    keepdim: boolean,
    isMax: boolean,
  ): Tensor {
    const op = isMax ? 'max' : 'min';
    const { data, outer, inner } = rows(x, dims);
    if (inner === 0)
      throw new Error(`${op}: cannot reduce over a zero-size dim (shape ${shapeStr(x.shape)})`);
    const out = allocate(x.dtype, outer);
    for (let o = 0; o < outer; o++) {
      let best = data[o * inner]!;
      for (let i = 1; i < inner && best === best; i++) {
        const v = data[o * inner + i]!;
        if (v !== v || (isMax ? v > best : v < best)) best = v;
      }
      out[o] = best;
    }
    const result = Tensor.fromData(out, outShape(x.shape, dims, keepdim));
    ctx.saveForBackward(x, result);
    ctx.dims = dims;
    ctx.keptShape = outShape(x.shape, dims, true);
    return result;
  }
  // d max(x) = g · [x = max] / #ties
  static backward(ctx: Context, g: Tensor) {
    const [x, out] = ctx.saved as [Tensor, Tensor];
    const mask = x.eq(out.reshape(ctx.keptShape)).to(g.dtype);
    const count = mask.sum(ctx.dims, true);
    return [mask.mul(g.reshape(ctx.keptShape).div(count)), null, null, null];
  }
}

/** Index of the first max/min along one dim (NaN counts as the max, as in PyTorch). */
function argExtreme(x: Tensor, dim: number, isMax: boolean): Int32Array {
  const { data, outer, inner } = rows(x, [dim]);
  const out = new Int32Array(outer);
  for (let o = 0; o < outer; o++) {
    let bi = 0;
    let best = data[o * inner]!;
    for (let i = 1; i < inner && best === best; i++) {
      const v = data[o * inner + i]!;
      if (v !== v || (isMax ? v > best : v < best)) {
        best = v;
        bi = i;
      }
    }
    out[o] = bi;
  }
  return out;
}

/** max/min along one dim: the gradient goes to the first extreme (PyTorch's `max(dim)`). */
class ExtremeDim extends Function {
  static forward(ctx: Context, x: Tensor, dim: number, keepdim: boolean, isMax: boolean): Tensor {
    const { data, outer, inner, perm } = rows(x, [dim]);
    if (inner === 0)
      throw new Error(
        `${isMax ? 'max' : 'min'}: cannot reduce over a zero-size dim (shape ${shapeStr(x.shape)})`,
      );
    const idx = argExtreme(x, dim, isMax);
    const out = allocate(x.dtype, outer);
    for (let o = 0; o < outer; o++) out[o] = data[o * inner + idx[o]!]!;
    Object.assign(ctx, { idx, inner, perm, inShape: x.shape, dim });
    return Tensor.fromData(out, outShape(x.shape, [dim], keepdim));
  }
  // d max_d(x) = g at the argmax, 0 elsewhere
  static backward(ctx: Context, g: Tensor) {
    const { idx, inner, perm, inShape } = ctx as unknown as {
      idx: Int32Array;
      inner: number;
      perm: number[];
      inShape: number[];
    };
    const gf = g._flat();
    const gx = allocate(g.dtype, idx.length * inner);
    for (let o = 0; o < idx.length; o++) gx[o * inner + idx[o]!] = gf[o]!;
    const permShape = perm.map((p) => inShape[p]!);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [Tensor.fromData(gx, permShape).permute(inv).contiguous(), null, null, null];
  }
}

export function sum(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return Sum.apply(x, normDims('sum', dim, x.ndim), keepdim);
}

export function mean(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  assertFloat('mean', x);
  const dims = normDims('mean', dim, x.ndim);
  const count = dims.reduce((p, d) => p * x.size(d), 1);
  return sum(x, dims, keepdim).div(count);
}

function extreme(
  op: string,
  isMax: boolean,
  x: Tensor,
  dim: number | number[] | undefined,
  keepdim: boolean,
): Tensor {
  if (!isFloating(x.dtype) && x.dtype !== 'int32')
    throw new Error(`${op}: not supported for ${x.dtype} tensors`);
  if (typeof dim === 'number') return ExtremeDim.apply(x, normDim(op, dim, x.ndim), keepdim, isMax);
  return Extreme.apply(x, normDims(op, dim, x.ndim), keepdim, isMax);
}

/** Largest value over all dims, or along `dim` (gradient to the first max), or over several dims. */
export const max = (x: Tensor, dim?: number | number[], keepdim = false): Tensor =>
  extreme('max', true, x, dim, keepdim);
export const min = (x: Tensor, dim?: number | number[], keepdim = false): Tensor =>
  extreme('min', false, x, dim, keepdim);

function argFn(
  op: string,
  isMax: boolean,
  x: Tensor,
  dim: number | undefined,
  keepdim: boolean,
): Tensor {
  if (dim === undefined) {
    const flat = x.reshape([-1]);
    if (flat.numel() === 0) throw new Error(`${op}: cannot take the ${op} of an empty tensor`);
    return Tensor.fromData(argExtreme(flat, 0, isMax), keepdim ? x.shape.map(() => 1) : []);
  }
  const d = normDim(op, dim, x.ndim);
  if (x.size(d) === 0)
    throw new Error(`${op}: cannot reduce over a zero-size dim (shape ${shapeStr(x.shape)})`);
  return Tensor.fromData(argExtreme(x, d, isMax), outShape(x.shape, [d], keepdim));
}

/** Index (int32) of the first maximum, over the flattened tensor or along `dim`. */
export const argmax = (x: Tensor, dim?: number, keepdim = false): Tensor =>
  argFn('argmax', true, x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false): Tensor =>
  argFn('argmin', false, x, dim, keepdim);
