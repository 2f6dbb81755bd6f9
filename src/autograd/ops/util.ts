/** Shared helpers of the differentiable ops: scalar wrapping, elementwise maps, broadcast sums. */
import { Tensor, type TensorLike } from '../../tensor/tensor.ts';
import { allocate, isFloating, promote, type DType, type TypedArray } from '../../tensor/dtype.ts';
import { broadcastShapes, sameShape, shapeStr } from '../../tensor/shape.ts';
import { broadcastStrides, forEachOffset, isContiguousLayout } from '../../tensor/strided.ts';

/** A number becomes a 0-d tensor of the other operand's dtype (float32 for a fractional int). */
export function asTensor(x: TensorLike, like: Tensor): Tensor {
  if (typeof x !== 'number') return x;
  let dtype: DType = like.dtype;
  if (!isFloating(dtype) && !Number.isInteger(x)) dtype = 'float32';
  if (dtype === 'bool') dtype = 'int32';
  const data = allocate(dtype, 1);
  data[0] = x;
  return Tensor.fromData(data, []);
}

export function assertFloat(op: string, t: Tensor): void {
  if (!isFloating(t.dtype))
    throw new Error(`${op}: expected a float32 or float64 tensor, got ${t.dtype}`);
}

/** out[i] = f(x[i]) over any layout; result contiguous. */
export function unaryMap(x: Tensor, f: (v: number) => number, dtype: DType = x.dtype): Tensor {
  const out = allocate(dtype, x.numel());
  const v = x._v;
  if (isContiguousLayout(v.shape, v.stride)) {
    const d = v.data;
    const o = v.offset;
    for (let i = 0; i < out.length; i++) out[i] = f(d[o + i]!);
  } else {
    const d = v.data;
    let k = 0;
    forEachOffset(v.shape, v.stride, v.offset, (o) => {
      out[k++] = f(d[o]!);
    });
  }
  return Tensor.fromData(out, v.shape);
}

/** out = f(a, b) with broadcasting; result contiguous with the broadcast shape. */
export function binaryMap(
  op: string,
  a: Tensor,
  b: Tensor,
  f: (x: number, y: number) => number,
  dtype: DType = promote(op, a.dtype, b.dtype),
): Tensor {
  const shape = broadcastShapes(op, a._v.shape, b._v.shape);
  const out = allocate(
    dtype,
    shape.reduce((p, s) => p * s, 1),
  );
  const av = a._v;
  const bv = b._v;
  const ad = av.data;
  const bd = bv.data;
  const aFlat = isContiguousLayout(av.shape, av.stride);
  const bFlat = isContiguousLayout(bv.shape, bv.stride);
  const n = out.length;
  if (aFlat && bFlat && sameShape(av.shape, bv.shape)) {
    const ao = av.offset;
    const bo = bv.offset;
    for (let i = 0; i < n; i++) out[i] = f(ad[ao + i]!, bd[bo + i]!);
  } else if (aFlat && sameShape(av.shape, shape) && b.numel() === 1) {
    const ao = av.offset;
    const y = bd[bv.offset]!;
    for (let i = 0; i < n; i++) out[i] = f(ad[ao + i]!, y);
  } else if (bFlat && sameShape(bv.shape, shape) && a.numel() === 1) {
    const bo = bv.offset;
    const x = ad[av.offset]!;
    for (let i = 0; i < n; i++) out[i] = f(x, bd[bo + i]!);
  } else {
    const as = broadcastStrides(av.shape, av.stride, shape);
    const bs = broadcastStrides(bv.shape, bv.stride, shape);
    // Walk the output in row-major order, moving both input offsets.
    const nd = shape.length;
    let k = 0;
    if (n === 0) return Tensor.fromData(out, shape);
    if (nd === 0) {
      out[0] = f(ad[av.offset]!, bd[bv.offset]!);
      return Tensor.fromData(out, shape);
    }
    const idx = new Array<number>(nd).fill(0);
    const last = nd - 1;
    let ao = av.offset;
    let bo = bv.offset;
    const nl = shape[last]!;
    const asl = as[last]!;
    const bsl = bs[last]!;
    for (;;) {
      let ia = ao;
      let ib = bo;
      for (let i = 0; i < nl; i++, ia += asl, ib += bsl) out[k++] = f(ad[ia]!, bd[ib]!);
      let d = last - 1;
      while (d >= 0) {
        idx[d]!++;
        ao += as[d]!;
        bo += bs[d]!;
        if (idx[d]! < shape[d]!) break;
        ao -= as[d]! * shape[d]!;
        bo -= bs[d]! * shape[d]!;
        idx[d] = 0;
        d--;
      }
      if (d < 0) break;
    }
  }
  return Tensor.fromData(out, shape);
}

/** Sum a broadcast gradient back down to `shape` (leading dims dropped, size-1 dims kept). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g._v.shape, shape)) return g;
  const gs = g._v.shape;
  const lead = gs.length - shape.length;
  if (lead < 0) throw new Error(`sumToShape: cannot reduce ${shapeStr(gs)} to ${shapeStr(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < gs.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && gs[i] !== 1)) dims.push(i);
  }
  return g.sum(dims, true).reshape([...shape]);
}

/** Tensor of the given shape and dtype filled with a value. */
export function filled(shape: readonly number[], value: number, dtype: DType): Tensor {
  const data: TypedArray = allocate(
    dtype,
    shape.reduce((p, s) => p * s, 1),
  );
  if (value !== 0) data.fill(value);
  return Tensor.fromData(data, shape);
}
