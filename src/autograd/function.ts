/**
 * Custom differentiable functions, shaped like `torch.autograd.Function`:
 *
 *   class Cube extends autograd.Function {
 *     static forward(ctx: Context, x: Tensor) { ctx.saveForBackward(x); return x.pow(3); }
 *     static backward(ctx: Context, g: Tensor) { const [x] = ctx.saved; return [g.mul(x.pow(2).mul(3))]; }
 *   }
 *   const y = Cube.apply(x);
 *
 * Every built-in op is such a class. This module must not import the Tensor class at run time
 * (ops extend `Function` while tensor.ts imports the ops), so tensors are recognised by a brand.
 */
import { isGradEnabled, noGrad } from './grad-mode.ts';
import type { Tensor } from '../tensor/tensor.ts';

export const TENSOR_BRAND: unique symbol = Symbol.for('shiftgrad.Tensor');

export function isTensor(x: unknown): x is Tensor {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as { [TENSOR_BRAND]?: boolean })[TENSOR_BRAND] === true
  );
}

/** Per-call state shared by forward and backward. Extra fields may be stored on it freely. */
export class Context {
  /** `needsInputGrad[i]`: argument i is a tensor that requires grad (all false in noGrad). */
  needsInputGrad: boolean[] = [];
  private _saved: Tensor[] | null = [];
  private _versions: number[] = [];
  /** Set when the graph is freed after backward. */
  freed = false;
  // Like PyTorch's ctx, a Function may keep any non-tensor state on the context.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;

  /** Keep tensors for backward; in-place changes to them before backward are detected. */
  saveForBackward(...tensors: Tensor[]): void {
    this._saved = tensors;
    this._versions = tensors.map((t) => t._version);
  }

  get saved(): Tensor[] {
    if (this._saved === null || this.freed) {
      throw new Error(
        'backward: trying to backward through the graph a second time (its saved tensors were freed); pass { retainGraph: true } to the first backward()',
      );
    }
    for (let i = 0; i < this._saved.length; i++) {
      const t = this._saved[i]!;
      if (t._version !== this._versions[i]) {
        throw new Error(
          `backward: a tensor of shape [${t.shape.join(', ')}] saved for backward was modified in place (version ${this._versions[i]} -> ${t._version})`,
        );
      }
    }
    return this._saved;
  }

  free(): void {
    this._saved = null;
    this.freed = true;
  }
}

export type Grads = ReadonlyArray<Tensor | null | undefined>;

/** What a Function class must provide. */
export interface FunctionClass {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(ctx: Context, ...args: any[]): Tensor;
  backward(ctx: Context, gradOutput: Tensor): Grads;
  /**
   * Set on Functions whose output depends only on their arguments (no random numbers, no state):
   * `traceInference` replays only those. The tag names the op for fusion rules and plan listings.
   */
  traceTag?: string;
}

export type ForwardArgs<F> = F extends { forward(ctx: Context, ...args: infer A): Tensor }
  ? A
  : never;

/** A recorded call: the graph edge from an output to the inputs it came from. */
export class Node {
  constructor(
    readonly fn: FunctionClass,
    readonly ctx: Context,
    /** One entry per forward argument: the tensor, or null for non-tensors. */
    readonly inputs: (Tensor | null)[],
  ) {}

  get name(): string {
    return `${this.fn.name}Backward0`;
  }
}

/** Sees every top-level Function call (not the ones inside another Function's forward). */
export type TraceHook = (fn: FunctionClass, args: readonly unknown[], out: Tensor) => void;

let traceHook: TraceHook | null = null;
let applyDepth = 0;

/**
 * Install (or, with null, remove) the hook that records Function calls for `traceInference`;
 * returns the previous hook.
 */
export function setTraceHook(hook: TraceHook | null): TraceHook | null {
  const prev = traceHook;
  traceHook = hook;
  return prev;
}

/**
 * Base class of differentiable functions. Subclasses define static `forward(ctx, ...args)` and
 * `backward(ctx, gradOutput)` (one gradient per forward argument, null where none) and are called
 * with `Sub.apply(...args)`, whose parameter list is forward's minus ctx.
 */
export class Function {
  static apply<F extends FunctionClass>(this: F, ...args: ForwardArgs<F>): Tensor {
    const ctx = new Context();
    const needs = (args as unknown[]).map((a) => isTensor(a) && a.requiresGrad);
    const record = isGradEnabled() && needs.some(Boolean);
    // as in PyTorch, no input needs a gradient when no graph is recorded (grad mode off)
    ctx.needsInputGrad = record ? needs : needs.map(() => false);
    let out: Tensor;
    applyDepth++;
    try {
      out = noGrad(() => this.forward(ctx, ...(args as unknown[])));
    } finally {
      applyDepth--;
    }
    if (!isTensor(out)) throw new Error(`${this.name}.forward must return a Tensor`);
    if (record) {
      // An output that is one of the inputs (or already in a graph) gets its own alias node.
      if (out.gradFn !== null || (args as unknown[]).includes(out) || out.requiresGrad)
        out = out._alias();
      const inputs = (args as unknown[]).map((a) => (isTensor(a) ? a : null));
      out._attach(new Node(this, ctx, inputs));
    }
    if (traceHook !== null && applyDepth === 0) traceHook(this, args as unknown[], out);
    return out;
  }
}
