/**
 * `nn.Module`. Parameters and submodules are found by reading the module's own properties in
 * assignment order, so `this.conv1 = new Conv2d(...)` registers `conv1.weight` as in PyTorch.
 * Buffers are registered explicitly with `registerBuffer`.
 */
import { Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import { sameShape, shapeStr } from '../tensor/shape.ts';

/** A tensor that is a module parameter (`nn.Parameter`): requires grad unless told otherwise. */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    super(data.detach()._v);
    this.requiresGrad = requiresGrad;
  }
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** Train mode (dropout active) or eval mode. */
  training = true;
  private readonly _bufferNames = new Set<string>();

  abstract forward(...inputs: Tensor[]): Tensor;

  /** Registers a tensor that is saved in the state dict but is not a parameter. */
  registerBuffer(name: string, tensor: Tensor): void {
    (this as unknown as Record<string, Tensor>)[name] = tensor;
    this._bufferNames.add(name);
  }

  /** Direct parameters, in assignment order. */
  private *ownParameters(): Generator<[string, Parameter]> {
    for (const [k, v] of Object.entries(this)) if (v instanceof Parameter) yield [k, v];
  }

  /** Direct submodules, in assignment order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of Object.entries(this)) if (v instanceof Module) yield [k, v];
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [k, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${k}` : k);
  }

  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** Parameters with PyTorch's dotted names (`conv1.weight`), each listed once. */
  *namedParameters(prefix = '', recurse = true): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [name, m] of mods) {
      for (const [k, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [name ? `${name}.${k}` : k, p];
      }
    }
  }

  parameters(recurse = true): Parameter[] {
    return [...this.namedParameters('', recurse)].map(([, p]) => p);
  }

  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, m] of this.namedModules(prefix)) {
      for (const k of m._bufferNames) {
        const b = (m as unknown as Record<string, Tensor | null>)[k];
        if (b) yield [name ? `${name}.${k}` : k, b];
      }
    }
  }

  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** Sets train (true) or eval (false) mode on this module and all descendants. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Clears parameter gradients (to null by default, as PyTorch 2 does; zeros if setToNone is false). */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (setToNone) p.grad = null;
      else p.grad?.zero_();
    }
  }

  /** Calls fn on every submodule (children first) and then this module, like `Module.apply`. */
  apply(fn: (m: Module) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this);
    return this;
  }

  /** Parameters and buffers by dotted name; the tensors share storage with the module. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, m] of this.namedModules()) {
      const pre = name ? `${name}.` : '';
      for (const [k, p] of m.ownParameters()) out[pre + k] = p.detach();
      for (const [k, b] of [...m.namedBuffers()].filter(([n]) => !n.includes('.')))
        out[pre + k] = b.detach();
    }
    return out;
  }

  /**
   * Copies values from a state dict into the parameters and buffers. With strict (default) a
   * missing or unexpected key is an error; a shape or dtype mismatch always is.
   */
  loadStateDict(sd: StateDict, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(sd, k));
    const unexpectedKeys = Object.keys(sd).filter((k) => !Object.hasOwn(own, k));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      const parts = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
      throw new Error(`loadStateDict: ${parts.join('; ')}`);
    }
    for (const [k, dst] of Object.entries(own)) {
      if (!Object.hasOwn(sd, k)) continue;
      const src = sd[k]!;
      if (!sameShape(src.shape, dst.shape)) {
        throw new Error(
          `loadStateDict: size mismatch for ${k}: checkpoint has ${shapeStr(src.shape)}, model has ${shapeStr(dst.shape)}`,
        );
      }
      if (src.dtype !== dst.dtype) {
        throw new Error(
          `loadStateDict: dtype mismatch for ${k}: checkpoint has ${src.dtype}, model has ${dst.dtype}`,
        );
      }
    }
    noGrad(() => {
      for (const [k, dst] of Object.entries(own)) if (Object.hasOwn(sd, k)) dst.copy_(sd[k]!);
    });
    return { missingKeys, unexpectedKeys };
  }
}
