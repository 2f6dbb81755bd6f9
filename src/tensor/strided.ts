/**
 * Loops over strided storage (shape, strides, offset into a flat typed array). These are the
 * generic paths; contiguous operands take flat fast paths.
 */
import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import type { TypedArray } from './dtype.ts';

export interface StridedView {
  data: TypedArray;
  shape: readonly number[];
  stride: readonly number[];
  offset: number;
}

export function isContiguousLayout(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const s = shape[i]!;
    if (s !== 1 && stride[i] !== expected) return false;
    expected *= s;
  }
  return true;
}

/** Storage offsets of every element in row-major order. */
export function elementOffsets(v: StridedView): Int32Array | Float64Array {
  const n = v.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  let k = 0;
  forEachOffset(v.shape, v.stride, v.offset, (o) => {
    out[k++] = o;
  });
  return out;
}

/** Calls fn(offset) for every element in row-major order. */
export function forEachOffset(
  shape: readonly number[],
  stride: readonly number[],
  offset: number,
  fn: (o: number) => void,
): void {
  const nd = shape.length;
  if (nd === 0) {
    fn(offset);
    return;
  }
  for (const s of shape) if (s === 0) return;
  const idx = new Array<number>(nd).fill(0);
  const last = nd - 1;
  const nLast = shape[last]!;
  const sLast = stride[last]!;
  let base = offset;
  for (;;) {
    let o = base;
    for (let i = 0; i < nLast; i++, o += sLast) fn(o);
    let d = last - 1;
    while (d >= 0) {
      idx[d]!++;
      base += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= stride[d]! * shape[d]!;
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/** Copies a strided view into a contiguous destination (row-major). */
export function gather(dst: TypedArray, v: StridedView): void {
  if (isContiguousLayout(v.shape, v.stride)) {
    const n = dst.length;
    if (v.data.constructor === dst.constructor) {
      dst.set(v.data.subarray(v.offset, v.offset + n) as never);
    } else {
      for (let i = 0; i < n; i++) dst[i] = v.data[v.offset + i]!;
    }
    return;
  }
  if (dst.length === 0) return;
  if (v.shape.length === 0) {
    dst[0] = v.data[v.offset]!;
    return;
  }
  // ndarray-ops compiles a loop nest for this layout (cached per layout and array type).
  ops.assign(ndarray(dst, [...v.shape]), ndarray(v.data, [...v.shape], [...v.stride], v.offset));
}

/** Writes a contiguous source into a strided view. */
export function scatter(v: StridedView, src: ArrayLike<number>): void {
  const dst = v.data;
  let k = 0;
  forEachOffset(v.shape, v.stride, v.offset, (o) => {
    dst[o] = src[k++]!;
  });
}

/** Strides of `v` broadcast to `shape` (0 on broadcast dims, leading dims added). */
export function broadcastStrides(
  vShape: readonly number[],
  vStride: readonly number[],
  shape: readonly number[],
): number[] {
  const out = new Array<number>(shape.length).fill(0);
  const lead = shape.length - vShape.length;
  for (let i = 0; i < vShape.length; i++) out[lead + i] = vShape[i] === 1 ? 0 : vStride[i]!;
  return out;
}
