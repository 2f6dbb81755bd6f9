/** Shape and layout ops. Views share storage where PyTorch gives views. */
import ndarray from 'ndarray';
import { Tensor } from '../../tensor/tensor.ts';
import { Function, type Context } from '../function.ts';
import { allocate, isFloating, assertDType, type DType } from '../../tensor/dtype.ts';
import { contiguousStrides, normDim, numel, sameShape, shapeStr } from '../../tensor/shape.ts';
import { gather, scatter } from '../../tensor/strided.ts';
import { filled } from './util.ts';

/** Resolves one -1 and checks the element count. */
function inferShape(op: string, shape: readonly number[], n: number): number[] {
  const out = [...shape];
  const neg = out.filter((s) => s === -1).length;
  if (neg > 1)
    throw new Error(`${op}: only one dimension can be inferred (-1) in ${shapeStr(shape)}`);
  for (const s of out) {
    if (!Number.isInteger(s) || s < -1)
      throw new Error(`${op}: invalid size ${s} in shape ${shapeStr(shape)}`);
  }
  if (neg === 1) {
    const rest = out.reduce((p, s) => (s === -1 ? p : p * s), 1);
    if (rest === 0 || n % rest !== 0)
      throw new Error(`${op}: shape ${shapeStr(shape)} is invalid for input of size ${n}`);
    out[out.indexOf(-1)] = n / rest;
  }
  if (numel(out) !== n)
    throw new Error(`${op}: shape ${shapeStr(shape)} is invalid for input of size ${n}`);
  return out;
}

function viewOf(x: Tensor, shape: number[], stride: number[] = contiguousStrides(shape)): Tensor {
  return new Tensor(ndarray(x._v.data, shape, stride, x._v.offset));
}

/**
 * Strides that show `x` as `shape` without copying, or null when the layout does not allow it (as
 * PyTorch's `view`): each run of old dims merged or split must be contiguous within itself.
 */
function viewStrides(x: Tensor, shape: readonly number[]): number[] | null {
  const oldShape = x._v.shape;
  const oldStride = x._v.stride;
  if (oldShape.length === 0 || numel(shape) === 0) return contiguousStrides(shape);
  const stride = new Array<number>(shape.length);
  let vd = shape.length - 1;
  let base = oldStride[oldShape.length - 1]!;
  let oldN = 1;
  let newN = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    oldN *= oldShape[d]!;
    // A chunk of old dims ends where the next dim up is not laid out right above this one.
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStride[d - 1] !== oldN * base)) {
      while (vd >= 0 && (newN < oldN || shape[vd] === 1)) {
        stride[vd] = newN * base;
        newN *= shape[vd]!;
        vd--;
      }
      if (newN !== oldN) return null;
      if (d > 0) {
        base = oldStride[d - 1]!;
        oldN = 1;
        newN = 1;
      }
    }
  }
  return vd === -1 ? stride : null;
}

class Reshape extends Function {
  static traceTag = 'reshape';
  static forward(ctx: Context, x: Tensor, shape: number[]): Tensor {
    ctx.inShape = x.shape;
    // A view when the strides allow it (squeeze/unsqueeze always do), else a contiguous copy.
    const stride = viewStrides(x, shape);
    return stride ? viewOf(x, shape, stride) : viewOf(x.contiguous(), shape);
  }
  // reshape back
  static backward(ctx: Context, g: Tensor) {
    return [g.reshape(ctx.inShape), null];
  }
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape('reshape', shape, x.numel());
  return sameShape(s, x.shape) ? x : Reshape.apply(x, s);
}

/** reshape that refuses to copy (PyTorch's `view` on a non-contiguous tensor errors too). */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const s = inferShape('view', shape, x.numel());
  if (viewStrides(x, s) === null) {
    throw new Error(
      `view: size ${shapeStr(s)} is not compatible with the strides ${shapeStr(x.strides)} of a non-contiguous tensor of shape ${shapeStr(x.shape)}; use reshape() (or contiguous().view())`,
    );
  }
  return Reshape.apply(x, s);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', startDim, x.ndim);
  const e = normDim('flatten', endDim, x.ndim);
  if (s > e) throw new Error(`flatten: startDim ${startDim} cannot come after endDim ${endDim}`);
  const shape = x.shape;
  return reshape(x, [
    ...shape.slice(0, s),
    shape.slice(s, e + 1).reduce((p, v) => p * v, 1),
    ...shape.slice(e + 1),
  ]);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((s) => s !== 1),
    );
  const d = normDim('squeeze', dim, x.ndim);
  return x.size(d) === 1
    ? reshape(
        x,
        x.shape.filter((_, i) => i !== d),
      )
    : x;
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  const shape = x.shape;
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

class Permute extends Function {
  static forward(ctx: Context, x: Tensor, perm: number[]): Tensor {
    ctx.perm = perm;
    return new Tensor(x._v.transpose(...perm));
  }
  // permute back with the inverse permutation
  static backward(ctx: Context, g: Tensor) {
    const perm = ctx.perm as number[];
    return [g.permute(perm.map((_, i) => perm.indexOf(i))), null];
  }
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new Error(
      `permute: got ${dims.length} dims ${shapeStr(dims)} for a tensor with ${x.ndim} dims`,
    );
  }
  const perm = dims.map((d) => normDim('permute', d, x.ndim));
  if (new Set(perm).size !== perm.length)
    throw new Error(`permute: repeated dim in ${shapeStr(dims)}`);
  return perm.every((p, i) => p === i) ? x : Permute.apply(x, perm);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const perm = Array.from({ length: x.ndim }, (_, i) => i);
  const a = normDim('transpose', dim0, x.ndim);
  const b = normDim('transpose', dim1, x.ndim);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

class Expand extends Function {
  static forward(ctx: Context, x: Tensor, shape: number[]): Tensor {
    ctx.inShape = x.shape;
    const v = x._v;
    const lead = shape.length - v.shape.length;
    const stride = shape.map((_, i) =>
      i < lead || v.shape[i - lead] !== shape[i] ? 0 : v.stride[i - lead]!,
    );
    return new Tensor(ndarray(v.data, shape, stride, v.offset));
  }
  // d expand(x) = sum of g over the broadcast dims
  static backward(ctx: Context, g: Tensor) {
    const inShape = ctx.inShape as number[];
    const lead = g.ndim - inShape.length;
    const dims = g.shape
      .map((_s, i) => i)
      .filter((i) => i < lead || (inShape[i - lead] === 1 && g.size(i) !== 1));
    return [dims.length ? g.sum(dims, true).reshape(inShape) : g.reshape(inShape), null];
  }
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const xs = x.shape;
  if (shape.length < xs.length) {
    throw new Error(
      `expand: the target shape ${shapeStr(shape)} has fewer dims than the tensor's ${shapeStr(xs)}`,
    );
  }
  const lead = shape.length - xs.length;
  const out = shape.map((s, i) => {
    const have = i < lead ? undefined : xs[i - lead];
    if (s === -1) {
      if (have === undefined)
        throw new Error(
          `expand: -1 is not allowed in the new leading dim ${i} of ${shapeStr(shape)}`,
        );
      return have;
    }
    if (have !== undefined && have !== s && have !== 1) {
      throw new Error(
        `expand: cannot expand shape ${shapeStr(xs)} to ${shapeStr(shape)} (dim ${i}: ${have} vs ${s})`,
      );
    }
    if (!Number.isInteger(s) || s < 0)
      throw new Error(`expand: invalid size ${s} in ${shapeStr(shape)}`);
    return s;
  });
  return sameShape(out, xs) ? x : Expand.apply(x, out);
}

function sliceView(x: Tensor, dim: number, start: number, len: number, step: number): Tensor {
  const v = x._v;
  const shape = v.shape.slice();
  const stride = v.stride.slice();
  shape[dim] = len;
  const offset = v.offset + start * stride[dim]!;
  stride[dim]! *= step;
  return new Tensor(ndarray(v.data, shape, stride, offset));
}

class Slice extends Function {
  static forward(
    ctx: Context,
    x: Tensor,
    dim: number,
    start: number,
    len: number,
    step: number,
  ): Tensor {
    Object.assign(ctx, { inShape: x.shape, dim, start, len, step });
    return sliceView(x, dim, start, len, step);
  }
  // gradient lands in the sliced positions, zeros elsewhere
  static backward(ctx: Context, g: Tensor) {
    const { inShape, dim, start, len, step } = ctx as unknown as Record<string, number> & {
      inShape: number[];
    };
    const gx = filled(inShape, 0, g.dtype);
    scatter(sliceView(gx, dim, start, len, step)._v, g._flat());
    return [gx, null, null, null, null];
  }
}

/** `x[..., start:end:step, ...]` along `dim` (Python slice semantics for negative/omitted bounds). */
export function slice(x: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  const d = normDim('slice', dim, x.ndim);
  const n = x.size(d);
  if (!Number.isInteger(step) || step < 1)
    throw new Error(`slice: step must be a positive integer, got ${step}`);
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = start === undefined ? 0 : clampIdx(start);
  const e = end === undefined ? n : clampIdx(end);
  const len = e > s ? Math.ceil((e - s) / step) : 0;
  return Slice.apply(x, d, s, len, step);
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim('narrow', dim, x.ndim);
  const n = x.size(d);
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new Error(
      `narrow: start ${start} and length ${length} out of range for dim ${dim} of size ${n}`,
    );
  }
  return Slice.apply(x, d, s, length, 1);
}

class IndexSelect extends Function {
  static forward(ctx: Context, x: Tensor, dim: number, index: Int32Array): Tensor {
    Object.assign(ctx, { inShape: x.shape, dim, index });
    const shape = x.shape;
    const outer = shape.slice(0, dim).reduce((p, s) => p * s, 1);
    const inner = shape.slice(dim + 1).reduce((p, s) => p * s, 1);
    const n = shape[dim]!;
    const src = x._flat();
    const out = allocate(x.dtype, outer * index.length * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < index.length; j++) {
        const from = (o * n + index[j]!) * inner;
        const to = (o * index.length + j) * inner;
        for (let i = 0; i < inner; i++) out[to + i] = src[from + i]!;
      }
    }
    shape[dim] = index.length;
    return Tensor.fromData(out, shape);
  }
  // d index_select(x) = index_add of g into zeros
  static backward(ctx: Context, g: Tensor) {
    const { inShape, dim, index } = ctx as unknown as {
      inShape: number[];
      dim: number;
      index: Int32Array;
    };
    const outer = inShape.slice(0, dim).reduce((p, s) => p * s, 1);
    const inner = inShape.slice(dim + 1).reduce((p, s) => p * s, 1);
    const n = inShape[dim]!;
    const gf = g._flat();
    const gx = allocate(g.dtype, numel(inShape));
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < index.length; j++) {
        const to = (o * n + index[j]!) * inner;
        const from = (o * index.length + j) * inner;
        for (let i = 0; i < inner; i++) gx[to + i] += gf[from + i]!;
      }
    }
    return [Tensor.fromData(gx, inShape), null, null];
  }
}

export function indexSelect(x: Tensor, dim: number, index: Tensor | readonly number[]): Tensor {
  const d = normDim('indexSelect', dim, x.ndim);
  if (!Array.isArray(index) && (index as Tensor).ndim > 1) {
    throw new Error(
      `indexSelect: index must be 1-D, got shape ${shapeStr((index as Tensor).shape)}`,
    );
  }
  const raw = Array.isArray(index) ? index : Array.from((index as Tensor)._flat());
  const n = x.size(d);
  const idx = new Int32Array(raw.length);
  raw.forEach((v: number, i: number) => {
    if (!Number.isInteger(v) || v < -n || v >= n) {
      throw new Error(
        `indexSelect: index ${v} at position ${i} is out of range for dim ${dim} of size ${n}`,
      );
    }
    idx[i] = v < 0 ? v + n : v;
  });
  return IndexSelect.apply(x, d, idx);
}

class Cat extends Function {
  static forward(ctx: Context, dim: number, ...xs: Tensor[]): Tensor {
    ctx.dim = dim;
    ctx.sizes = xs.map((x) => x.size(dim));
    const shape = xs[0]!.shape;
    shape[dim] = (ctx.sizes as number[]).reduce((p, s) => p + s, 0);
    const outer = shape.slice(0, dim).reduce((p, s) => p * s, 1);
    const inner = shape.slice(dim + 1).reduce((p, s) => p * s, 1);
    const out = allocate(xs[0]!.dtype, numel(shape));
    const rowLen = shape[dim]! * inner;
    let col = 0;
    for (const x of xs) {
      const src = x._flat();
      const w = x.size(dim) * inner;
      for (let o = 0; o < outer; o++)
        out.set(src.subarray(o * w, o * w + w) as never, o * rowLen + col);
      col += w;
    }
    return Tensor.fromData(out, shape);
  }
  // each input gets its slice of g
  static backward(ctx: Context, g: Tensor) {
    let start = 0;
    const grads = (ctx.sizes as number[]).map((s) => {
      const gi = g.narrow(ctx.dim, start, s).contiguous();
      start += s;
      return gi;
    });
    return [null, ...grads];
  }
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected a non-empty list of tensors');
  const first = tensors[0]!;
  const d = normDim('cat', dim, first.ndim);
  for (const t of tensors) {
    if (t.dtype !== first.dtype)
      throw new Error(`cat: dtype mismatch, ${first.dtype} and ${t.dtype}`);
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.size(i))) {
      throw new Error(
        `cat: shapes ${shapeStr(first.shape)} and ${shapeStr(t.shape)} differ outside dim ${dim}`,
      );
    }
  }
  return Cat.apply(d, ...tensors);
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected a non-empty list of tensors');
  const first = tensors[0]!;
  for (const t of tensors) {
    if (!sameShape(t.shape, first.shape)) {
      throw new Error(
        `stack: all tensors must have the same shape, got ${shapeStr(first.shape)} and ${shapeStr(t.shape)}`,
      );
    }
  }
  const d = normDim('stack', dim, first.ndim + 1);
  return cat(
    tensors.map((t) => t.unsqueeze(d)),
    d,
  );
}

class Clone extends Function {
  static forward(_ctx: Context, x: Tensor): Tensor {
    const out = allocate(x.dtype, x.numel());
    gather(out, x._v);
    return Tensor.fromData(out, x.shape);
  }
  // d clone(x) = dx
  static backward(_ctx: Context, g: Tensor) {
    return [g];
  }
}

export const clone = (x: Tensor): Tensor => Clone.apply(x);

class Cast extends Function {
  static forward(ctx: Context, x: Tensor, dtype: DType): Tensor {
    ctx.from = x.dtype;
    const src = x._flat();
    const out = allocate(dtype, src.length);
    if (dtype === 'int32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
    else if (dtype === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] ? 1 : 0;
    else out.set(src as never);
    return Tensor.fromData(out, x.shape);
  }
  // cast the gradient back
  static backward(ctx: Context, g: Tensor) {
    return [isFloating(ctx.from) ? g.to(ctx.from) : null, null];
  }
}

export function cast(x: Tensor, dtype: DType): Tensor {
  assertDType('to', dtype);
  if (dtype === x.dtype) return x;
  if (x.requiresGrad && !isFloating(dtype)) {
    throw new Error(
      `to: cannot convert a tensor that requires grad to ${dtype}; detach() it first`,
    );
  }
  return Cast.apply(x, dtype);
}
