/** Matrix products: 2-D and batched `mm` on the tuned GEMM kernel, and `matmul` built on them. */
import { Tensor } from '../../tensor/tensor.ts';
import { Function, type Context } from '../function.ts';
import { allocate } from '../../tensor/dtype.ts';
import { broadcastShapes, shapeStr } from '../../tensor/shape.ts';
import { gemm } from '../../tensor/kernels/gemm.ts';
import type { FloatArray } from '../../tensor/kernels/types.ts';
import { assertFloat } from './util.ts';

/** Batched product of contiguous [B, m, k] and [B, k, n] (either may be given transposed). */
function bmmRaw(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [batch, ar, ac] = a.shape as [number, number, number];
  const [, br, bc] = b.shape as [number, number, number];
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const ad = a._flat() as FloatArray;
  const bd = b._flat() as FloatArray;
  const out = allocate(a.dtype, batch * m * n) as FloatArray;
  for (let i = 0; i < batch; i++) {
    gemm(
      out.subarray(i * m * n, (i + 1) * m * n),
      ad.subarray(i * m * k, (i + 1) * m * k),
      bd.subarray(i * k * n, (i + 1) * k * n),
      m,
      n,
      k,
      { transA, transB },
    );
  }
  return Tensor.fromData(out, [batch, m, n]);
}

class Bmm extends Function {
  static forward(ctx: Context, a: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(a, b);
    return bmmRaw(a, b, false, false);
  }
  // d(AB) = dA B + A dB  →  gA = g Bᵀ, gB = Aᵀ g
  static backward(ctx: Context, g: Tensor) {
    const [a, b] = ctx.saved as [Tensor, Tensor];
    const gc = g.contiguous();
    return [
      ctx.needsInputGrad[0] ? bmmRaw(gc, b, false, true) : null,
      ctx.needsInputGrad[1] ? bmmRaw(a, gc, true, false) : null,
    ];
  }
}

/**
 * `torch.matmul`: 1-D·1-D is a dot product, 1-D operands are promoted to a row/column and the
 * added dim removed afterwards, and leading (batch) dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertFloat('matmul', a);
  assertFloat('matmul', b);
  if (a.dtype !== b.dtype) throw new Error(`matmul: dtype mismatch, ${a.dtype} and ${b.dtype}`);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(
      `matmul: both arguments need at least 1 dim, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`,
    );
  }
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const [m, k] = a2.shape.slice(-2) as [number, number];
  const [k2, n] = b2.shape.slice(-2) as [number, number];
  if (k !== k2)
    throw new Error(`matmul: cannot multiply ${shapeStr(a.shape)} by ${shapeStr(b.shape)}`);
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const B = batch.reduce((p, s) => p * s, 1);
  const a3 = a2.expand([...batch, m, k]).reshape([B, m, k]);
  const b3 = b2.expand([...batch, k, n]).reshape([B, k, n]);
  let out = Bmm.apply(a3, b3).reshape([...batch, m, n]);
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}
