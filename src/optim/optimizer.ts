/**
 * `torch.optim.Optimizer`: parameter groups, per-parameter state, `zeroGrad`, `step`, and a
 * PyTorch-shaped state dict.
 *
 * Updates run outside autograd, directly on the parameters' typed arrays: each algorithm loops over
 * the flat values with the arithmetic done in JS doubles per element and the result stored back
 * to the parameter's typed array. For float32 parameters this rounds once per stored value, where
 * PyTorch rounds after every float32 operation, so results can differ from PyTorch in the last bit
 * (the golden tests are float64, where the two agree to ~1 ulp). State buffers (momentum, moving
 * averages) have the parameter's dtype, as in PyTorch.
 */
import { SHARED_MIN } from '../tensor/kernels/parallel.ts';
import { Tensor } from '../tensor/tensor.ts';
import { enableGrad } from '../autograd/grad-mode.ts';

/** A float state buffer (same dtype and length as its parameter). */
export type StateBuffer = Float32Array | Float64Array;
/** The state of one parameter, e.g. `{ step: 3, expAvg: Float32Array, expAvgSq: Float32Array }`. */
export type ParamState = Record<string, StateBuffer | number>;

/** Hyperparameters every optimizer has. */
export interface BaseHyperparams {
  lr: number;
}

/** A parameter group: its parameters plus its hyperparameters (`initialLr` once a scheduler ran). */
export type ParamGroup<H extends BaseHyperparams = BaseHyperparams> = H & {
  params: Tensor[];
  initialLr?: number;
};

/** A parameter group as passed to a constructor or `addParamGroup`: missing hyperparameters come from the defaults. */
export type ParamGroupInput<H extends BaseHyperparams = BaseHyperparams> = Partial<H> & {
  params: Iterable<Tensor>;
  initialLr?: number;
};

/** What optimizer constructors accept: parameters, or groups of parameters with their own options. */
export type ParamsInput<H extends BaseHyperparams = BaseHyperparams> =
  Iterable<Tensor> | Iterable<ParamGroupInput<H>>;

/** A hyperparameter value as stored in a group (numbers, flags, `betas`). */
export type HyperparamValue = number | boolean | readonly number[];

/**
 * `optimizer.stateDict()`: `state` keyed by the parameter's index across all groups (only
 * parameters that have state), `paramGroups` with the hyperparameters and the indices.
 */
export interface OptimizerStateDict {
  state: Record<string, Record<string, StateBuffer | number[] | number>>;
  paramGroups: (Record<string, HyperparamValue> & { params: number[] })[];
}

/** The JSON form of a state dict: buffers as number arrays, non-finite numbers as strings. */
export interface OptimizerStateDictJSON {
  state: Record<string, Record<string, (number | string)[] | number | string>>;
  paramGroups: (Record<string, HyperparamValue | string> & { params: number[] })[];
}

/** JSON-safe number: non-finite values become "NaN", "Infinity", "-Infinity" (like the golden files). */
function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** Parses a number written by `jsonNumber` (or a plain number). */
function parseNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new Error(`loadStateDict: ${where} should be a number, got ${JSON.stringify(v)}`);
}

/**
 * A state dict that survives `JSON.stringify` exactly: typed arrays become number arrays and
 * non-finite values strings. `loadStateDict` accepts the result (also after `JSON.parse`).
 */
export function stateDictToJSON(sd: OptimizerStateDict): OptimizerStateDictJSON {
  const state: OptimizerStateDictJSON['state'] = {};
  for (const [idx, st] of Object.entries(sd.state)) {
    const out: Record<string, (number | string)[] | number | string> = {};
    for (const [k, v] of Object.entries(st)) {
      out[k] =
        typeof v === 'number' ? jsonNumber(v) : Array.from(v as ArrayLike<number>, jsonNumber);
    }
    state[idx] = out;
  }
  const paramGroups = sd.paramGroups.map((g) => {
    const out: Record<string, HyperparamValue | string> = {};
    for (const [k, v] of Object.entries(g)) {
      out[k] = typeof v === 'number' ? jsonNumber(v) : Array.isArray(v) ? [...(v as number[])] : v;
    }
    return out as OptimizerStateDictJSON['paramGroups'][number];
  });
  return { state, paramGroups };
}

/** Checks that `x` is a number (not NaN) satisfying `ok`, or throws `Invalid <what>: x`. */
export function checkHyperparam(what: string, x: unknown, ok: (v: number) => boolean): void {
  if (typeof x !== 'number' || Number.isNaN(x) || !ok(x))
    throw new Error(`Invalid ${what}: ${String(x)}`);
}

export abstract class Optimizer<H extends BaseHyperparams = BaseHyperparams> {
  /** Hyperparameters for groups that don't set their own. */
  readonly defaults: Readonly<H>;
  paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created lazily on the first `step()` in which the parameter has a gradient. */
  state = new Map<Tensor, ParamState>();

  constructor(params: ParamsInput<H>, defaults: H) {
    this.validate(defaults);
    this.defaults = { ...defaults };
    if (params instanceof Tensor) {
      throw new TypeError(
        'params argument given to the optimizer should be an iterable of Tensors or param groups, but got a Tensor',
      );
    }
    const list = [...(params as Iterable<Tensor | ParamGroupInput<H>>)];
    if (list.length === 0) throw new Error('optimizer got an empty parameter list');
    const groups: ParamGroupInput<H>[] =
      list[0] instanceof Tensor
        ? [{ params: list as Tensor[] } as unknown as ParamGroupInput<H>]
        : (list as ParamGroupInput<H>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Throws a clear error for invalid hyperparameters (checked for the defaults and every group). */
  protected abstract validate(hyperparams: H): void;

  /** Performs one update of every parameter that has a gradient. */
  abstract step(closure?: () => number | Tensor): number | Tensor | undefined;

  /** Evaluates `closure` (with grad enabled) for `step(closure)`; undefined without one. */
  protected evalClosure(closure?: () => number | Tensor): number | Tensor | undefined {
    return closure === undefined ? undefined : enableGrad(closure);
  }

  /** Adds a group of parameters, e.g. to unfreeze layers while training; missing options come from the defaults. */
  addParamGroup(group: ParamGroupInput<H>): void {
    if (group === null || typeof group !== 'object' || !('params' in group)) {
      throw new TypeError('addParamGroup: a param group must be an object with a params field');
    }
    const src = group.params as unknown;
    if (src instanceof Tensor) {
      throw new TypeError(
        'addParamGroup: params should be an array of tensors, not a single Tensor',
      );
    }
    const params = [...(src as Iterable<unknown>)];
    for (const [i, p] of params.entries()) {
      if (!(p instanceof Tensor))
        throw new TypeError(`addParamGroup: params[${i}] is not a Tensor`);
      if (!p.isLeaf)
        throw new Error(`addParamGroup: can't optimize a non-leaf Tensor (params[${i}])`);
      if (p.dtype !== 'float32' && p.dtype !== 'float64') {
        throw new Error(
          `addParamGroup: can only optimize float32/float64 tensors, params[${i}] is ${p.dtype}`,
        );
      }
    }
    if (new Set(params).size !== params.length) {
      throw new Error('addParamGroup: a parameter appears more than once in the same group');
    }
    const taken = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => taken.has(p as Tensor))) {
      throw new Error('addParamGroup: some parameters appear in more than one parameter group');
    }
    const full = { ...this.defaults, ...group, params: params as Tensor[] } as ParamGroup<H>;
    for (const [k, v] of Object.entries(full)) {
      if (v === undefined)
        throw new Error(
          `addParamGroup: parameter group didn't specify a value of required optimization parameter ${k}`,
        );
    }
    this.validate(full);
    this.paramGroups.push(full);
  }

  /**
   * Clears the gradients of all optimized parameters: to null (default, PyTorch 2), or to zeros in
   * place with `setToNone: false` (detached first if it was part of a graph).
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        if (setToNone) {
          p.grad = null;
        } else {
          if (p.grad.gradFn !== null) p.grad = p.grad.detach();
          else p.grad.requiresGrad = false;
          p.grad.zero_();
        }
      }
    }
  }

  /** The parameter's state, created empty on first use. */
  protected stateOf(p: Tensor): ParamState {
    let st = this.state.get(p);
    if (st === undefined) {
      st = {};
      this.state.set(p, st);
    }
    return st;
  }

  /**
   * Runs `update(param, grad)` on the parameter's flat values and marks the parameter modified.
   * `param` is the parameter's own storage (a scratch copy written back for the rare
   * non-contiguous parameter); `grad` is read-only.
   */
  protected updateParam(p: Tensor, update: (param: StateBuffer, grad: StateBuffer) => void): void {
    const grad = p.grad!;
    if (grad.numel() !== p.numel()) {
      throw new Error(
        `step: gradient has shape [${grad.shape}] but the parameter has shape [${p.shape}]`,
      );
    }
    const g = (grad.dtype === p.dtype ? grad._flat() : grad.to(p.dtype)._flat()) as StateBuffer;
    if (p.isContiguous()) {
      update(p._flat() as StateBuffer, g);
      p._bump();
    } else {
      const x = p.toTypedArray() as StateBuffer;
      update(x, g);
      const v = p._v;
      let k = 0;
      // write back in row-major order through the strides
      const write = (d: number, off: number): void => {
        if (d === v.shape.length) {
          v.data[off] = x[k++]!;
          return;
        }
        for (let i = 0; i < v.shape[d]!; i++) write(d + 1, off + i * v.stride[d]!);
      };
      write(0, v.offset);
      p._bump();
    }
  }

  /** A zero-filled state buffer with the parameter's dtype and size. */
  /**
   * A zero state buffer shaped like p; from SHARED_MIN elements in shared memory, as large
   * parameters are (nn/empty.ts), so that an update can split across the thread pool.
   */
  protected zerosLike(p: Tensor): StateBuffer {
    const n = p.numel();
    const f64 = p.dtype === 'float64';
    if (n < SHARED_MIN) return f64 ? new Float64Array(n) : new Float32Array(n);
    const b = new SharedArrayBuffer(n * (f64 ? 8 : 4));
    return f64 ? new Float64Array(b) : new Float32Array(b);
  }

  /**
   * The optimizer state as `{ state: { index: {...} }, paramGroups: [{ ...hyperparams, params: [indices] }] }`,
   * parameters numbered across groups in order. Buffers are copies, so later steps don't change
   * a saved dict. Use `stateDictToJSON` before `JSON.stringify`.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const packed: Record<string, HyperparamValue> = {};
      for (const [k, v] of Object.entries(g)) {
        if (k !== 'params')
          packed[k] = Array.isArray(v) ? [...(v as number[])] : (v as HyperparamValue);
      }
      const params = g.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...packed, params };
    });
    const state: OptimizerStateDict['state'] = {};
    for (const [p, st] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const out: Record<string, StateBuffer | number> = {};
      for (const [k, v] of Object.entries(st)) out[k] = typeof v === 'number' ? v : v.slice();
      state[String(i)] = out;
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state dict from `stateDict()` (or its JSON form, also after `JSON.parse`). The
   * groups' hyperparameters are replaced by the saved ones; buffers are copied into the
   * parameters' dtype. The group count, group sizes and buffer sizes must match.
   */
  loadStateDict(sd: OptimizerStateDict | OptimizerStateDictJSON): void {
    if (
      sd === null ||
      typeof sd !== 'object' ||
      !Array.isArray(sd.paramGroups) ||
      typeof sd.state !== 'object' ||
      sd.state === null
    ) {
      throw new Error('loadStateDict: expected an object with state and paramGroups');
    }
    const groups = this.paramGroups;
    const saved = sd.paramGroups;
    if (saved.length !== groups.length) {
      throw new Error(
        `loadStateDict: loaded state dict has ${saved.length} parameter groups, the optimizer has ${groups.length}`,
      );
    }
    const byIndex = new Map<number, Tensor>();
    for (const [gi, g] of groups.entries()) {
      const s = saved[gi]!;
      if (!Array.isArray(s.params) || s.params.length !== g.params.length) {
        throw new Error(
          `loadStateDict: parameter group ${gi} has ${Array.isArray(s.params) ? s.params.length : 'no'} parameters in the state dict, ${g.params.length} in the optimizer`,
        );
      }
      for (const [j, id] of s.params.entries()) byIndex.set(id, g.params[j]!);
    }
    // Build everything before touching the optimizer, so a bad dict leaves it unchanged.
    const newState = new Map<Tensor, ParamState>();
    for (const [key, st] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined)
        throw new Error(
          `loadStateDict: state for parameter ${key}, which is not in any saved parameter group`,
        );
      const out: ParamState = {};
      for (const [k, v] of Object.entries(st as Record<string, unknown>)) {
        const where = `state[${key}].${k}`;
        if (typeof v === 'number' || typeof v === 'string') {
          out[k] = parseNumber(v, where);
        } else if (v === null || v === undefined) {
          continue;
        } else if (ArrayBuffer.isView(v) || Array.isArray(v)) {
          const arr = v as ArrayLike<unknown>;
          if (arr.length !== p.numel()) {
            throw new Error(
              `loadStateDict: ${where} has ${arr.length} values, the parameter has ${p.numel()} (shape [${p.shape}])`,
            );
          }
          const buf = this.zerosLike(p);
          for (let i = 0; i < arr.length; i++) buf[i] = parseNumber(arr[i], `${where}[${i}]`);
          out[k] = buf;
        } else {
          throw new Error(`loadStateDict: ${where} should be a number or an array of numbers`);
        }
      }
      newState.set(p, out);
    }
    const newGroups = groups.map((g, gi) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(saved[gi]!)) {
        if (k === 'params') continue;
        out[k] =
          typeof v === 'string'
            ? parseNumber(v, `paramGroups[${gi}].${k}`)
            : Array.isArray(v)
              ? [...(v as unknown[])]
              : v;
      }
      const full = { ...out, params: g.params } as ParamGroup<H>;
      this.validate(full);
      return full;
    });
    this.paramGroups = newGroups;
    this.state = newState;
  }
}
