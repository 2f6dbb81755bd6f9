/**
 * Reverse-mode engine: an iterative topological sort from the output (deep graphs do not overflow
 * the stack), then one backward call per recorded op in reverse order, with gradient shape checks.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { isTensor } from './function.ts';
import { noGrad } from './grad-mode.ts';
import { shapeStr, sameShape } from '../tensor/shape.ts';

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

/** Tensors reachable from `root` through recorded ops, in topological order (inputs first). */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const child = inputs[i];
      if (child && child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

function accumulate(t: Tensor, g: Tensor): void {
  if (t.grad === null) {
    t.grad = g.detach().clone();
  } else if (t.grad.isContiguous()) {
    const acc = t.grad._flat();
    const add = g._flat();
    for (let i = 0; i < acc.length; i++) acc[i] += add[i]!;
    t.grad._bump();
  } else {
    // A user-assigned strided .grad: _flat() would be a copy, so add through the strided view.
    t.grad.add_(g);
  }
}

export function backward(
  root: Tensor,
  gradient: Tensor | undefined,
  options: BackwardOptions = {},
): void {
  if (!root.requiresGrad) {
    throw new Error(
      'backward: tensor does not require grad and has no gradFn (did you forget requiresGrad: true?)',
    );
  }
  let seed: Tensor;
  if (gradient === undefined) {
    if (root.numel() !== 1) {
      throw new Error(
        `backward: grad can be implicitly created only for one-element outputs; got shape ${shapeStr(root.shape)} (pass a gradient)`,
      );
    }
    seed = root.detach().clone().fill_(1);
  } else {
    if (!sameShape(gradient.shape, root.shape)) {
      throw new Error(
        `backward: gradient shape ${shapeStr(gradient.shape)} does not match output shape ${shapeStr(root.shape)}`,
      );
    }
    if (gradient.dtype !== root.dtype) {
      throw new Error(
        `backward: gradient dtype ${gradient.dtype} does not match output dtype ${root.dtype}`,
      );
    }
    seed = gradient.detach();
  }

  const order = topoSort(root);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  noGrad(() => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      if (g === undefined) continue;
      grads.delete(t);
      const node = t.gradFn;
      if (node === null) {
        accumulate(t, g);
        continue;
      }
      if (t._retainsGrad) accumulate(t, g);
      if (node.ctx.freed) {
        throw new Error(
          `backward: trying to backward through the graph a second time (${node.name} was freed); pass { retainGraph: true } to the first backward()`,
        );
      }
      const inputGrads = node.fn.backward(node.ctx, g);
      if (!Array.isArray(inputGrads) || inputGrads.length !== node.inputs.length) {
        throw new Error(
          `backward: ${node.fn.name}.backward returned ${Array.isArray(inputGrads) ? inputGrads.length : typeof inputGrads} gradients for ${node.inputs.length} forward arguments`,
        );
      }
      for (let i = 0; i < node.inputs.length; i++) {
        const input = node.inputs[i];
        const gi = inputGrads[i];
        if (!input || !input.requiresGrad || gi === null || gi === undefined) continue;
        if (!isTensor(gi))
          throw new Error(
            `backward: ${node.fn.name}.backward returned a non-tensor gradient for input ${i}`,
          );
        if (!sameShape(gi.shape, input.shape)) {
          throw new Error(
            `backward: ${node.fn.name}.backward returned a gradient of shape ${shapeStr(gi.shape)} for input ${i} of shape ${shapeStr(input.shape)}`,
          );
        }
        if (gi.dtype !== input.dtype) {
          throw new Error(
            `backward: ${node.fn.name}.backward returned a ${gi.dtype} gradient for a ${input.dtype} input ${i}`,
          );
        }
        const prev = grads.get(input);
        grads.set(input, prev === undefined ? gi : prev.add(gi));
      }
      if (!options.retainGraph) node.ctx.free();
    }
  });
}
