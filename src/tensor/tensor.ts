/**
 * The Tensor: a strided `ndarray` view over a typed array, plus autograd fields. Methods are
 * one-liners over the differentiable ops in `src/autograd/ops`.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { allocate, dtypeOf, isFloating, type DType, type TypedArray } from './dtype.ts';
import { contiguousStrides, numel, shapeStr } from './shape.ts';
import { gather, isContiguousLayout, forEachOffset } from './strided.ts';
import { TENSOR_BRAND, type Node } from '../autograd/function.ts';
import { isGradEnabled } from '../autograd/grad-mode.ts';
import { backward as runBackward, type BackwardOptions } from '../autograd/engine.ts';
import * as ops from '../autograd/ops/index.ts';
import { formatTensor } from './print.ts';
import { defaultGenerator, type Generator } from './random.ts';

export type Scalar = number;
export type TensorLike = Tensor | number;

/** Version counters per storage buffer, shared by every view of it (detects in-place edits). */
const versions = new WeakMap<ArrayBufferLike, number>();

export class Tensor {
  readonly [TENSOR_BRAND] = true;
  /** Strided storage view (shape, stride, offset, data). */
  _v: NdArray<TypedArray>;
  /** Gradient accumulated by `backward()` (leaves, and non-leaves after `retainGrad()`). */
  grad: Tensor | null = null;
  /** The recorded op that produced this tensor (null for leaves). */
  gradFn: Node | null = null;
  /** An optional label (used by printing and error messages). */
  name?: string;
  private _requiresGrad = false;
  _retainsGrad = false;

  constructor(view: NdArray<TypedArray>) {
    this._v = view;
  }

  /** Wrap a flat contiguous typed array as a tensor of the given shape (no copy). */
  static fromData(data: TypedArray, shape: readonly number[]): Tensor {
    if (data.length !== numel(shape)) {
      throw new Error(`tensor: ${data.length} values cannot fill shape ${shapeStr(shape)}`);
    }
    return new Tensor(ndarray(data, [...shape], contiguousStrides(shape), 0));
  }

  // ---- metadata ---------------------------------------------------------------------------
  get dtype(): DType {
    return dtypeOf(this._v.data);
  }
  get shape(): number[] {
    return this._v.shape.slice();
  }
  get ndim(): number {
    return this._v.shape.length;
  }
  get strides(): number[] {
    return this._v.stride.slice();
  }
  get offset(): number {
    return this._v.offset;
  }
  numel(): number {
    return numel(this._v.shape);
  }
  /** `size()` is the shape; `size(d)` one dim (negative dims count from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return this.shape;
    const nd = this.ndim;
    if (!Number.isInteger(dim) || dim < -nd || dim >= nd) {
      throw new Error(`size: dim ${dim} out of range for a tensor with ${nd} dims`);
    }
    return this._v.shape[dim < 0 ? dim + nd : dim]!;
  }
  isContiguous(): boolean {
    return isContiguousLayout(this._v.shape, this._v.stride);
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  get _version(): number {
    return versions.get(this._v.data.buffer) ?? 0;
  }
  /** Marks the storage as modified in place. */
  _bump(): void {
    const b = this._v.data.buffer;
    versions.set(b, (versions.get(b) ?? 0) + 1);
  }

  // ---- autograd ---------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (on && !isFloating(this.dtype)) {
      throw new Error(
        `requiresGrad: only float32/float64 tensors can require gradients (got ${this.dtype})`,
      );
    }
    if (!on && this.gradFn !== null) {
      throw new Error('requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach()');
    }
    this._requiresGrad = on;
  }
  /** In-place `requiresGrad` setter returning this (`requires_grad_`). */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }
  /** Keep `.grad` on this non-leaf tensor during backward. */
  retainGrad(): this {
    if (!this._requiresGrad)
      throw new Error("retainGrad: can't retain the grad of a tensor that does not require grad");
    this._retainsGrad = true;
    return this;
  }
  /** Computes gradients of this tensor with respect to graph leaves (`.grad` accumulates). */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    runBackward(this, gradient, options);
  }
  /** A new tensor sharing storage, outside the graph. */
  detach(): Tensor {
    return new Tensor(this._v);
  }
  /** PyTorch's `.data`: the values, outside the graph, sharing storage. */
  get data(): Tensor {
    return this.detach();
  }
  /** PyTorch's `param.data = t`: replace the values in place (shape may change) outside the graph. */
  set data(src: Tensor) {
    if (src.dtype !== this.dtype)
      throw new Error(`data: cannot assign ${src.dtype} values to a ${this.dtype} tensor`);
    this._v = src._v;
    this._bump();
  }
  /** @internal Attach the node that produced this tensor. */
  _attach(node: Node): void {
    this.gradFn = node;
    this._requiresGrad = true;
  }
  /** @internal Same storage, fresh autograd identity. */
  _alias(): Tensor {
    return new Tensor(this._v);
  }

  // ---- data access ------------------------------------------------------------------------
  /** The values as a flat row-major typed array; shares storage when contiguous (read-only use). */
  _flat(): TypedArray {
    const v = this._v;
    const n = this.numel();
    if (isContiguousLayout(v.shape, v.stride)) {
      return v.offset === 0 && v.data.length === n
        ? v.data
        : v.data.subarray(v.offset, v.offset + n);
    }
    const out = allocate(this.dtype, n);
    gather(out, v);
    return out;
  }
  /** A fresh row-major copy of the values. */
  toTypedArray(): TypedArray {
    const out = allocate(this.dtype, this.numel());
    gather(out, this._v);
    return out;
  }
  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(
        `item: only one-element tensors can be converted to a number (shape ${shapeStr(this.shape)})`,
      );
    }
    return this._v.data[this._v.offset]!;
  }
  /** Nested JS arrays (a number for 0-d tensors), like `tolist()`. */
  toArray(): NestedNumbers {
    const flat = this.toTypedArray();
    const shape = this._v.shape;
    if (shape.length === 0) return flat[0]!;
    let k = 0;
    const build = (d: number): NestedNumbers[] | number[] => {
      const out: (number | NestedNumbers)[] = [];
      for (let i = 0; i < shape[d]!; i++)
        out.push(d === shape.length - 1 ? flat[k++]! : build(d + 1));
      return out as NestedNumbers[];
    };
    return build(0);
  }
  toString(): string {
    return formatTensor(this);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- in-place updates (outside autograd; what optimizers and init use) -------------------
  private _checkInPlace(op: string): void {
    if (isGradEnabled() && this._requiresGrad && this.gradFn === null) {
      throw new Error(
        `${op}: a leaf tensor that requires grad is being used in an in-place operation; wrap it in noGrad() or use .data`,
      );
    }
    // In-place updates are not recorded, so the graph above this tensor would silently give wrong gradients.
    if (isGradEnabled() && this.gradFn !== null) {
      throw new Error(
        `${op}: in-place operations are not recorded by autograd and this tensor (${this.gradFn.name}) is part of a graph; use the out-of-place op, or noGrad()/detach()`,
      );
    }
  }
  /**
   * Runs `kernel` on the flat storage of a contiguous tensor, in place (with _mapInPlace's
   * checks and version bump); false, doing nothing, for a strided view.
   */
  _kernelInPlace(op: string, kernel: (flat: TypedArray) => void): boolean {
    if (!this.isContiguous()) return false;
    this._checkInPlace(op);
    kernel(this._flat());
    this._bump();
    return true;
  }
  /** Applies fn to every element in place. */
  _mapInPlace(op: string, fn: (x: number, i: number) => number): this {
    this._checkInPlace(op);
    const v = this._v;
    const d = v.data;
    if (isContiguousLayout(v.shape, v.stride)) {
      // the common case (parameters, fresh tensors): one flat loop, no per-element offset callback
      const n = this.numel();
      for (let k = 0, o = v.offset; k < n; k++, o++) d[o] = fn(d[o]!, k);
    } else {
      let k = 0;
      forEachOffset(v.shape, v.stride, v.offset, (o) => {
        d[o] = fn(d[o]!, k++);
      });
    }
    this._bump();
    return this;
  }
  /** Copies `src` (broadcast to this shape) into this tensor. */
  copy_(src: TensorLike): this {
    const s = typeof src === 'number' ? null : ops.expand(src.detach(), this.shape).toTypedArray();
    return this._mapInPlace('copy_', s === null ? () => src as number : (_x, i) => s[i]!);
  }
  fill_(value: number): this {
    return this._mapInPlace('fill_', () => value);
  }
  zero_(): this {
    return this.fill_(0);
  }
  add_(other: TensorLike, alpha = 1): this {
    const s =
      typeof other === 'number' ? null : ops.expand(other.detach(), this.shape).toTypedArray();
    return this._mapInPlace(
      'add_',
      s === null ? (x) => x + alpha * (other as number) : (x, i) => x + alpha * s[i]!,
    );
  }
  mul_(other: TensorLike): this {
    const s =
      typeof other === 'number' ? null : ops.expand(other.detach(), this.shape).toTypedArray();
    return this._mapInPlace(
      'mul_',
      s === null ? (x) => x * (other as number) : (x, i) => x * s[i]!,
    );
  }
  clamp_(min: number | null, max: number | null = null): this {
    const lo = min ?? -Infinity;
    const hi = max ?? Infinity;
    const v = this._v;
    if (isFloating(this.dtype) && lo <= hi && isContiguousLayout(v.shape, v.stride)) {
      // hot in DeepShift-PS training (every shift, every step): a plain loop, no callback
      this._checkInPlace('clamp_');
      const d = v.data;
      const end = v.offset + this.numel();
      for (let o = v.offset; o < end; o++) {
        const x = d[o]!;
        if (x > hi) d[o] = hi;
        else if (x < lo) d[o] = lo;
      }
      this._bump();
      return this;
    }
    return this._mapInPlace('clamp_', (x) => (x > hi ? hi : x < lo ? (lo > hi ? hi : lo) : x));
  }
  /**
   * Fill with U(low, high), drawn like PyTorch's `uniform_`: for float32 the bounds and their
   * difference are rounded to float32 first, then u·(high−low)+low is rounded once.
   */
  uniform_(low = 0, high = 1, generator: Generator = defaultGenerator): this {
    if (this.dtype === 'float64') {
      return this._mapInPlace('uniform_', () => generator.uniform64() * (high - low) + low);
    }
    const from = Math.fround(low);
    const range = Math.fround(Math.fround(high) - from);
    return this._mapInPlace('uniform_', () => generator.uniform32() * range + from);
  }
  /**
   * Fill with N(mean, std²), drawn like PyTorch's CPU `normal_`: tensors of 16+ elements take
   * uniforms for the whole tensor and Box-Muller them in blocks of 16 (the last block redrawn when
   * the size is not a multiple of 16); smaller ones draw scalar float64 normals.
   */
  normal_(mean = 0, std = 1, generator: Generator = defaultGenerator): this {
    const n = this.numel();
    if (n < 16) return this._mapInPlace('normal_', () => generator.normal() * std + mean);
    const f64 = this.dtype === 'float64';
    const u = new Float64Array(n);
    const draw = () => (f64 ? generator.uniform64() : generator.uniform32());
    const fill16 = (at: number) => {
      for (let j = 0; j < 8; j++) {
        const radius = Math.sqrt(-2 * Math.log(1 - u[at + j]!));
        const theta = 2 * Math.PI * u[at + j + 8]!;
        u[at + j] = radius * Math.cos(theta) * std + mean;
        u[at + j + 8] = radius * Math.sin(theta) * std + mean;
      }
    };
    for (let i = 0; i < n; i++) u[i] = draw();
    for (let i = 0; i + 16 <= n; i += 16) fill16(i);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) u[i] = draw();
      fill16(n - 16);
    }
    return this._mapInPlace('normal_', (_x, i) => u[i]!);
  }

  // ---- ops ----------------------------------------------------------------------------------
  add(other: TensorLike, alpha?: number): Tensor {
    return ops.add(this, alpha === undefined ? other : scaled(other, alpha));
  }
  sub(other: TensorLike, alpha?: number): Tensor {
    return ops.sub(this, alpha === undefined ? other : scaled(other, alpha));
  }
  mul(other: TensorLike): Tensor {
    return ops.mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return ops.div(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return ops.pow(this, exponent);
  }
  maximum(other: TensorLike): Tensor {
    return ops.maximum(this, other);
  }
  minimum(other: TensorLike): Tensor {
    return ops.minimum(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  square(): Tensor {
    return ops.mul(this, this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return ops.clamp(this, min, max);
  }
  eq(other: TensorLike): Tensor {
    return ops.eq(this, other);
  }
  ne(other: TensorLike): Tensor {
    return ops.ne(this, other);
  }
  gt(other: TensorLike): Tensor {
    return ops.gt(this, other);
  }
  ge(other: TensorLike): Tensor {
    return ops.ge(this, other);
  }
  lt(other: TensorLike): Tensor {
    return ops.lt(this, other);
  }
  le(other: TensorLike): Tensor {
    return ops.le(this, other);
  }
  /** `x.where(cond, other)`: x where cond, else other. */
  where(condition: Tensor, other: TensorLike): Tensor {
    return ops.where(condition, this, other);
  }
  sum(dim?: number | number[], keepdim = false): Tensor {
    return ops.sum(this, dim, keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return ops.mean(this, dim, keepdim);
  }
  max(dim?: number | number[], keepdim = false): Tensor {
    return ops.max(this, dim, keepdim);
  }
  min(dim?: number | number[], keepdim = false): Tensor {
    return ops.min(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return ops.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return ops.argmin(this, dim, keepdim);
  }
  reshape(...shape: number[] | [number[]]): Tensor {
    return ops.reshape(this, flatArgs(shape));
  }
  /** Like reshape, but only for layouts that need no copy (else an error, as in PyTorch). */
  view(...shape: number[] | [number[]]): Tensor {
    return ops.view(this, flatArgs(shape));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return ops.flatten(this, startDim, endDim);
  }
  permute(...dims: number[] | [number[]]): Tensor {
    return ops.permute(this, flatArgs(dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return ops.transpose(this, dim0, dim1);
  }
  /** Transpose of a ≤2-D tensor. */
  t(): Tensor {
    if (this.ndim > 2) throw new Error(`t: expects a tensor with <= 2 dims, got ${this.ndim}`);
    return this.ndim < 2 ? this : ops.transpose(this, 0, 1);
  }
  get T(): Tensor {
    return ops.permute(
      this,
      this._v.shape.map((_, i) => this.ndim - 1 - i),
    );
  }
  squeeze(dim?: number): Tensor {
    return ops.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return ops.unsqueeze(this, dim);
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return ops.expand(this, flatArgs(shape));
  }
  expandAs(other: Tensor): Tensor {
    return ops.expand(this, other.shape);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return ops.narrow(this, dim, start, length);
  }
  /** `x[..., start:end:step, ...]` along one dim (a view). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return ops.slice(this, dim, start, end, step);
  }
  indexSelect(dim: number, index: Tensor | number[]): Tensor {
    return ops.indexSelect(this, dim, index);
  }
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  contiguous(): Tensor {
    return this.isContiguous() ? this : ops.clone(this);
  }
  clone(): Tensor {
    return ops.clone(this);
  }
  /** Convert to another dtype (differentiable between float types). */
  to(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  int(): Tensor {
    return this.to('int32');
  }
}

export type NestedNumbers = number | NestedNumbers[];

function scaled(x: TensorLike, alpha: number): TensorLike {
  return typeof x === 'number' ? x * alpha : ops.mul(x, alpha);
}

function flatArgs(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}
