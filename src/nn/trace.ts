/**
 * Inference plans: record the ops one forward applies and replay them on new inputs, like
 * `torch.jit.trace` followed by `torch.jit.freeze`, for evaluation loops that run the same
 * forward thousands of times.
 *
 *   const { output, plan } = traceInference((x) => model.forward(x), x0, model.parameters());
 *   plan?.run(x1); // the same values as model.forward(x1), for x1 of x0's shape and dtype
 *
 * What the plan does beyond replaying:
 * - **Freezing**: an op whose arguments are all constants (parameters, buffers, or outputs of
 *   such ops — a DeepShift layer's weight built from `shift` and `sign`) is computed once, while
 *   tracing, and its result is reused; a linear or fused conv step's constant weight is
 *   prepared for its kernel once (the linear weight's non-finite rows found and its copy in each
 *   thread's asm.js heap kept; the conv's algorithm chosen and Winograd's transformed weight
 *   made). So the plan assumes the constants do not change while it is used (as a frozen
 *   TorchScript module does).
 * - **Fusion**: conv2d → relu (→ maxPool2d) where each result feeds only the next op becomes one
 *   `conv2dReluPool` call, which computes the same values without writing the full-size
 *   activations to memory.
 *
 * Only what is certain is traced. The recorder sees every top-level Function call (ops inside
 * another op's forward belong to that op); the trace is refused, with a reason, when an op is not
 * marked pure (`traceTag`: no random numbers, no state — so dropout in training mode refuses), when
 * an op reads a tensor that is neither the input, an earlier op's output nor a constant (a tensor
 * built outside the recorded ops), when an argument is not plain data (a typed array, a
 * generator), or when the output is not an op's result. A refused trace still returns the
 * forward's output; callers then run the forward eagerly. Shapes are baked in (reshape records
 * its target shape): a plan runs only on inputs of the traced shape and dtype.
 *
 * Trace outside a BufferArena: frozen results must outlive the run that computed them.
 */
import { setTraceHook, isTensor, type FunctionClass } from '../autograd/function.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import { arenaRunning } from '../tensor/arena.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { shapeStr } from '../tensor/shape.ts';
import { freezeConvWeight, type Conv2dParams, type FrozenConv } from '../tensor/kernels/conv2d.ts';
import type { MaxPool2dParams } from '../tensor/kernels/pool.ts';
import { freezeWeight, type FrozenWeight } from '../tensor/kernels/gemm.ts';
import type { FloatArray } from '../tensor/kernels/types.ts';
import { conv2dReluPool, conv2dReluPoolFrozen, linearFrozen } from './functional.ts';

type Arg =
  | { kind: 'slot'; slot: number }
  | { kind: 'const'; tensor: Tensor }
  | { kind: 'value'; value: unknown };

interface Step {
  /** The op's tag, or the fused ops' tags joined by '+'. */
  name: string;
  run: (args: unknown[]) => Tensor;
  args: Arg[];
  out: number;
}

export interface InferencePlan {
  /** The traced input's shape; `run` accepts only this shape and dtype. */
  readonly inputShape: readonly number[];
  /** The steps a run takes, e.g. ['conv2d+relu', 'conv2d+relu+maxPool2d', 'reshape', …]. */
  readonly ops: readonly string[];
  /** Ops computed once while tracing (they depend on constants only). */
  readonly frozen: number;
  /** The traced forward on x (no graph is recorded). */
  run(x: Tensor): Tensor;
}

export interface TraceResult {
  /** The forward's output on the example input (computed while tracing). */
  output: Tensor;
  /** null when the forward could not be traced; `reason` says why. */
  plan: InferencePlan | null;
  reason: string | null;
}

interface Call {
  fn: FunctionClass;
  args: unknown[];
  out: Tensor;
}

/** Numbers, strings, booleans, null and arrays / plain objects of them (op parameters). */
function isPlain(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === 'number' || t === 'string' || t === 'boolean') return true;
  if (t !== 'object' || depth > 4) return false;
  if (Array.isArray(v)) return v.every((e) => isPlain(e, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return false; // typed arrays, generators, …
  return Object.values(v as object).every((e) => isPlain(e, depth + 1));
}

const applyOf =
  (fn: FunctionClass) =>
  (args: unknown[]): Tensor =>
    (fn as unknown as { apply(...a: unknown[]): Tensor }).apply(...args);

/**
 * Run `forward(example)` once under noGrad, recording its ops, and build a plan that replays them
 * (see the module comment). `constants`: the tensors the forward may read besides its input —
 * a module's parameters and buffers.
 */
export function traceInference(
  forward: (x: Tensor) => Tensor,
  example: Tensor,
  constants: Iterable<Tensor>,
): TraceResult {
  if (arenaRunning()) {
    throw new Error(
      'traceInference: trace outside BufferArena.run (frozen results must outlive the run)',
    );
  }
  const calls: Call[] = [];
  const prev = setTraceHook((fn, args, out) => calls.push({ fn, args: [...args], out }));
  if (prev !== null) {
    // inside another trace: leave the calls to it
    setTraceHook(prev);
    return { output: noGrad(() => forward(example)), plan: null, reason: 'a trace is recording' };
  }
  let output: Tensor;
  try {
    output = noGrad(() => forward(example));
  } finally {
    setTraceHook(null);
  }
  const refuse = (reason: string): TraceResult => ({ output, plan: null, reason });

  const consts = new Set(constants);
  const slots = new Map<Tensor, number>([[example, 0]]);
  const frozen = new Set<Tensor>();
  let steps: Step[] = [];
  for (const c of calls) {
    const tag = c.fn.traceTag;
    if (tag === undefined) return refuse(`${c.fn.name} is not marked pure (random or stateful)`);
    const args: Arg[] = [];
    let fromInput = false;
    for (const a of c.args) {
      if (isTensor(a)) {
        const s = slots.get(a);
        if (s !== undefined) {
          args.push({ kind: 'slot', slot: s });
          fromInput = true;
        } else if (consts.has(a) || frozen.has(a)) {
          args.push({ kind: 'const', tensor: a });
        } else {
          return refuse(
            `${tag} reads a tensor of shape ${shapeStr(a.shape)} that is neither the input, an earlier op's output nor a constant`,
          );
        }
      } else if (isPlain(a)) {
        args.push({ kind: 'value', value: a });
      } else {
        return refuse(`${tag} takes an argument that is not plain data`);
      }
    }
    if (!fromInput) {
      frozen.add(c.out); // computed once, now
      continue;
    }
    if (slots.has(c.out) || consts.has(c.out) || frozen.has(c.out)) {
      return refuse(`${tag} returns one of its arguments (an in-place op)`);
    }
    slots.set(c.out, slots.size);
    steps.push({ name: tag, run: applyOf(c.fn), args, out: slots.size - 1 });
  }
  const outSlot = slots.get(output);
  if (outSlot === undefined) return refuse("the forward's output is not the result of a traced op");
  steps = freezeWeights(fuse(steps, outSlot));
  return { output, plan: makePlan(example, steps, outSlot, frozen.size), reason: null };
}

/** Uses of each slot by the steps, plus one for the plan's output. */
function useCounts(steps: Step[], outSlot: number): Map<number, number> {
  const uses = new Map<number, number>([[outSlot, 1]]);
  for (const s of steps)
    for (const a of s.args) if (a.kind === 'slot') uses.set(a.slot, (uses.get(a.slot) ?? 0) + 1);
  return uses;
}

const readsOnly = (s: Step | undefined, slot: number): boolean =>
  s !== undefined && s.args.length > 0 && s.args[0]!.kind === 'slot' && s.args[0]!.slot === slot;

/** conv2d → relu (→ maxPool2d), each result read only by the next op, becomes conv2dReluPool. */
function fuse(steps: Step[], outSlot: number): Step[] {
  const uses = useCounts(steps, outSlot);
  const out: Step[] = [];
  for (let i = 0; i < steps.length; i++) {
    const conv = steps[i]!;
    const relu = steps[i + 1];
    if (
      conv.name !== 'conv2d' ||
      relu?.name !== 'relu' ||
      uses.get(conv.out) !== 1 ||
      !readsOnly(relu, conv.out)
    ) {
      out.push(conv);
      continue;
    }
    const pool = steps[i + 2];
    const withPool =
      pool?.name === 'maxPool2d' && uses.get(relu.out) === 1 && readsOnly(pool, relu.out);
    const last = withPool ? pool! : relu;
    // Conv2dFn's arguments: (x, weight, bias, p); MaxPool2dFn's: (x, p)
    const args: Arg[] = [...conv.args, withPool ? pool!.args[1]! : { kind: 'value', value: null }];
    out.push({
      name: withPool ? 'conv2d+relu+maxPool2d' : 'conv2d+relu',
      run: (a) =>
        conv2dReluPool(
          a[0] as Tensor,
          a[1] as Tensor,
          a[2] as Tensor | null,
          a[3] as Conv2dParams,
          a[4] as MaxPool2dParams | null,
        ),
      args,
      out: last.out,
    });
    i += withPool ? 2 : 1;
  }
  return out;
}

/**
 * A linear or fused conv step whose weight is a constant: the weight frozen once for the plan
 * (gemm.ts freezeWeight: its non-finite rows found and its copy in each thread's asm.js heap
 * kept; conv2d.ts freezeConvWeight: the algorithm chosen and Winograd's transformed weight made
 * and stamped once), instead of in every run.
 */
function freezeWeights(steps: Step[]): Step[] {
  return steps.map((s) => {
    if (s.args[1]?.kind !== 'const') return s;
    if (s.name === 'linear') {
      let frozen: FrozenWeight | null = null;
      const run = (a: unknown[]): Tensor => {
        const w = a[1] as Tensor;
        frozen ??= freezeWeight(w._flat() as FloatArray, w.size(0), w.size(1));
        return linearFrozen(a[0] as Tensor, a[2] as Tensor | null, frozen);
      };
      return { ...s, run };
    }
    if (s.name.startsWith('conv2d+relu')) {
      // conv2dReluPool's arguments: (x, weight, bias, p, pool)
      let frozen: FrozenConv | null = null;
      const run = (a: unknown[]): Tensor => {
        const p = a[3] as Conv2dParams;
        frozen ??= freezeConvWeight((a[1] as Tensor)._flat() as FloatArray, p);
        const pool = a[4] as MaxPool2dParams | null;
        return conv2dReluPoolFrozen(a[0] as Tensor, a[2] as Tensor | null, p, pool, frozen);
      };
      return { ...s, run };
    }
    return s;
  });
}

function makePlan(example: Tensor, steps: Step[], outSlot: number, frozen: number): InferencePlan {
  const inputShape = [...example.shape];
  const dtype = example.dtype;
  // the last step reading each slot, so a run drops intermediates as soon as they are used up
  const lastUse = new Map<number, number>();
  steps.forEach((s, i) => {
    for (const a of s.args) if (a.kind === 'slot') lastUse.set(a.slot, i);
  });
  const nSlots = Math.max(outSlot, ...steps.map((s) => s.out)) + 1;
  return {
    inputShape,
    ops: steps.map((s) => s.name),
    frozen,
    run(x: Tensor): Tensor {
      if (
        x.dtype !== dtype ||
        x.ndim !== inputShape.length ||
        x.shape.some((d, i) => d !== inputShape[i])
      ) {
        throw new Error(
          `InferencePlan.run: traced for a ${dtype} input of shape ${shapeStr(inputShape)}, got ${x.dtype} ${shapeStr(x.shape)}`,
        );
      }
      return noGrad(() => {
        const v: (Tensor | undefined)[] = new Array(nSlots);
        v[0] = x;
        steps.forEach((s, i) => {
          const args = s.args.map((a) =>
            a.kind === 'slot' ? v[a.slot] : a.kind === 'const' ? a.tensor : a.value,
          );
          for (const a of s.args) {
            if (a.kind === 'slot' && lastUse.get(a.slot) === i && a.slot !== outSlot)
              v[a.slot] = undefined;
          }
          v[s.out] = s.run(args);
        });
        return v[outSlot]!;
      });
    },
  };
}
