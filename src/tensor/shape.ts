/** Shape helpers: sizes, strides, broadcasting and dim normalisation, with errors naming the op. */

export type Shape = readonly number[];

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkShape(op: string, shape: readonly unknown[]): number[] {
  for (const s of shape) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
      throw new Error(
        `${op}: invalid shape ${shapeStr(shape as number[])}: sizes must be non-negative integers`,
      );
    }
  }
  return shape as number[];
}

/** Broadcast shapes like NumPy/PyTorch: align right, sizes equal or one of them 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = ndim - s.length + i;
      const d = s[i]!;
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) {
        out[j] = d;
        continue;
      }
      throw new Error(
        `${op}: shapes ${shapes.map(shapeStr).join(' and ')} cannot be broadcast together (dim ${j - ndim}: ${out[j]} vs ${d})`,
      );
    }
  }
  return out;
}

/** Normalise a possibly negative dim into [0, ndim). */
export function normDim(op: string, dim: number, ndim: number): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new Error(
      `${op}: dim ${dim} out of range for a tensor with ${ndim} dims (expected ${lo}..${hi})`,
    );
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Normalise a list of dims (undefined = all), rejecting repeats. Returns sorted dims. */
export function normDims(
  op: string,
  dims: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const out = list.map((d) => normDim(op, d, ndim));
  if (new Set(out).size !== out.length)
    throw new Error(`${op}: dim ${shapeStr(list)} has a repeated dim`);
  return out.sort((a, b) => a - b);
}
