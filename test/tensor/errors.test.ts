/** Every error names the op and the offending shapes, dims or values. */
import { describe, expect, it } from 'vitest';
import {
  cat,
  expand,
  indexSelect,
  matmul,
  narrow,
  permute,
  stack,
  tensor,
  where,
  zeros,
  ones,
  Tensor,
} from '../../src/index.ts';

describe('error messages', () => {
  it('matmul with mismatched inner dims', () => {
    expect(() => matmul(zeros([64, 9216]), zeros([128, 10]))).toThrow(
      'matmul: cannot multiply [64, 9216] by [128, 10]',
    );
    expect(() => matmul(zeros([3]), zeros([4]))).toThrow('matmul: cannot multiply [3] by [4]');
    expect(() => matmul(zeros([2, 2, 3]), zeros([3, 3, 2]))).toThrow(
      /matmul: shapes \[2\] and \[3\] cannot be broadcast together/,
    );
    expect(() => matmul(zeros([]), zeros([2]))).toThrow(
      'matmul: both arguments need at least 1 dim, got [] and [2]',
    );
    expect(() => matmul(zeros([2], { dtype: 'int32' }), zeros([2], { dtype: 'int32' }))).toThrow(
      'matmul: expected a float32 or float64 tensor, got int32',
    );
  });

  it('broadcasting failures name both shapes and the dim', () => {
    expect(() => zeros([2, 3]).add(zeros([4]))).toThrow(
      'add: shapes [2, 3] and [4] cannot be broadcast together (dim -1: 3 vs 4)',
    );
    expect(() => zeros([2, 3]).mul(zeros([3, 3]))).toThrow(
      'mul: shapes [2, 3] and [3, 3] cannot be broadcast together (dim -2: 2 vs 3)',
    );
    expect(() => where(tensor([true, false, true]), zeros([2]), 0)).toThrow(
      /where: shapes \[3\] and \[2\] and \[\] cannot be broadcast/,
    );
    expect(() => expand(zeros([2, 3]), [4, 3, 3])).toThrow(
      'expand: cannot expand shape [2, 3] to [4, 3, 3] (dim 1: 2 vs 3)',
    );
    expect(() => expand(zeros([2, 3]), [3])).toThrow(
      "expand: the target shape [3] has fewer dims than the tensor's [2, 3]",
    );
  });

  it('bad dims', () => {
    expect(() => zeros([2, 3]).sum(5)).toThrow(
      'sum: dim 5 out of range for a tensor with 2 dims (expected -2..1)',
    );
    expect(() => zeros([2, 3]).mean(-3)).toThrow(
      'mean: dim -3 out of range for a tensor with 2 dims (expected -2..1)',
    );
    expect(() => zeros([2, 3]).sum([0, -2])).toThrow('sum: dim [0, -2] has a repeated dim');
    expect(() => zeros([2, 3]).max(2)).toThrow('max: dim 2 out of range');
    expect(() => zeros([2, 3]).argmax(2)).toThrow('argmax: dim 2 out of range');
    expect(() => permute(zeros([2, 3, 4]), [0, 1, 1])).toThrow(
      'permute: repeated dim in [0, 1, 1]',
    );
    expect(() => permute(zeros([2, 3, 4]), [0, 1])).toThrow(
      'permute: got 2 dims [0, 1] for a tensor with 3 dims',
    );
    expect(() => zeros([2, 3]).transpose(0, 2)).toThrow('transpose: dim 2 out of range');
    expect(() => zeros([2, 3]).unsqueeze(3)).toThrow(
      'unsqueeze: dim 3 out of range for a tensor with 3 dims',
    );
    expect(() => narrow(zeros([2, 3]), 1, 2, 2)).toThrow(
      'narrow: start 2 and length 2 out of range for dim 1 of size 3',
    );
    expect(() => narrow(zeros([2, 3]), 2, 0, 1)).toThrow('narrow: dim 2 out of range');
    expect(() => zeros([2, 3]).slice(1, 0, 3, 0)).toThrow(
      'slice: step must be a positive integer, got 0',
    );
    expect(() => indexSelect(zeros([2, 3]), 1, [0, 3])).toThrow(
      'indexSelect: index 3 at position 1 is out of range for dim 1 of size 3',
    );
    expect(() => indexSelect(zeros([2, 3]), 0, tensor([[0]], { dtype: 'int32' }))).toThrow(
      'indexSelect: index must be 1-D, got shape [1, 1]',
    );
    expect(() => zeros([2, 3]).size(2)).toThrow(
      'size: dim 2 out of range for a tensor with 2 dims',
    );
    expect(() => zeros([2, 3]).flatten(1, 0)).toThrow(
      'flatten: startDim 1 cannot come after endDim 0',
    );
    expect(() => zeros([2, 3, 4]).t()).toThrow('t: expects a tensor with <= 2 dims, got 3');
  });

  it('cat/stack mismatches', () => {
    expect(() => cat([zeros([2, 3]), zeros([2, 4])])).toThrow(
      'cat: shapes [2, 3] and [2, 4] differ outside dim 0',
    );
    expect(() => cat([zeros([2]), zeros([2], { dtype: 'float64' })])).toThrow(
      'cat: dtype mismatch, float32 and float64',
    );
    expect(() => cat([])).toThrow('cat: expected a non-empty list of tensors');
    expect(() => stack([zeros([2]), zeros([3])])).toThrow(
      'stack: all tensors must have the same shape, got [2] and [3]',
    );
  });

  it('dtype mixes: float32 with float64 throws', () => {
    const a = zeros([2]);
    const b = zeros([2], { dtype: 'float64' });
    expect(() => a.add(b)).toThrow(
      "add: dtype mismatch, float32 and float64 (convert one with .to('float32') or .to('float64'))",
    );
    expect(() => b.mul(a)).toThrow('mul: dtype mismatch, float64 and float32');
    expect(() => matmul(ones([2, 2]), ones([2, 2], { dtype: 'float64' }))).toThrow(
      'matmul: dtype mismatch, float32 and float64',
    );
    expect(() => a.lt(b)).toThrow('lt: dtype mismatch, float32 and float64');
    expect(() => zeros([2], { dtype: 'int32' }).exp()).toThrow(
      'exp: expected a float32 or float64 tensor, got int32',
    );
    expect(() => where(tensor([1, 0]), a, a)).toThrow(
      'where: condition must be a bool tensor, got float32',
    );
    expect(() => zeros([2], { dtype: 'float16' as never })).toThrow(/full: unknown dtype float16/);
  });

  it('backward() on a non-scalar without a gradient', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(
      'backward: grad can be implicitly created only for one-element outputs; got shape [2] (pass a gradient)',
    );
    expect(() => x.mul(2).backward(tensor([1, 2, 3]))).toThrow(
      'backward: gradient shape [3] does not match output shape [2]',
    );
    expect(() => x.mul(2).backward(tensor([1, 2], { dtype: 'float64' }))).toThrow(
      'backward: gradient dtype float64 does not match output dtype float32',
    );
    expect(() => tensor(1).backward()).toThrow(/backward: tensor does not require grad/);
  });

  it('reshape/view with a wrong size', () => {
    expect(() => zeros([2, 3]).reshape(4, 2)).toThrow(
      'reshape: shape [4, 2] is invalid for input of size 6',
    );
    expect(() => zeros([2, 3]).reshape(-1, 4)).toThrow(
      'reshape: shape [-1, 4] is invalid for input of size 6',
    );
    expect(() => zeros([2, 3]).reshape(-1, -1)).toThrow(
      'reshape: only one dimension can be inferred (-1) in [-1, -1]',
    );
    expect(() => zeros([2, 3]).view(5)).toThrow('view: shape [5] is invalid for input of size 6');
  });

  it('view on a non-contiguous tensor', () => {
    expect(() => zeros([2, 3]).t().view(6)).toThrow(
      /view: size \[6\] is not compatible with the strides \[1, 3\] of a non-contiguous tensor of shape \[3, 2\]/,
    );
  });

  it('item() on a multi-element tensor', () => {
    expect(() => zeros([2, 2]).item()).toThrow(
      'item: only one-element tensors can be converted to a number (shape [2, 2])',
    );
  });

  it('requiresGrad on an int or bool tensor', () => {
    expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true })).toThrow(
      'requiresGrad: only float32/float64 tensors can require gradients (got int32)',
    );
    expect(() => tensor([true]).requiresGrad_()).toThrow(
      'requiresGrad: only float32/float64 tensors can require gradients (got bool)',
    );
    const x = tensor([1.5], { requiresGrad: true });
    expect(() => x.to('int32')).toThrow(
      'to: cannot convert a tensor that requires grad to int32; detach() it first',
    );
    expect(() => x.mul(2).requiresGrad_(false)).toThrow(
      /cannot turn off gradients of a non-leaf tensor/,
    );
    expect(() => tensor([1]).retainGrad()).toThrow(
      /retainGrad: can't retain the grad of a tensor that does not require grad/,
    );
  });

  it('bad data', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(
      'tensor: ragged nested array: expected length 2 at data[1], got 1',
    );
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow(
      'tensor: 3 values cannot fill shape [2, 2]',
    );
    expect(() => tensor([1.5], { dtype: 'int32' })).toThrow(
      'tensor: value 1.5 at index 0 is not an integer (dtype int32)',
    );
    expect(() => zeros([2, -1])).toThrow(
      'full: invalid shape [2, -1]: sizes must be non-negative integers',
    );
    expect(() => Tensor.fromData(new Float32Array(3), [2])).toThrow(
      'tensor: 3 values cannot fill shape [2]',
    );
    expect(() => zeros([0]).max()).toThrow('max: cannot reduce over a zero-size dim (shape [0])');
    expect(() => zeros([0]).argmax()).toThrow('argmax: cannot take the argmax of an empty tensor');
    expect(() => zeros([2]).clamp(null, null)).toThrow(
      'clamp: at least one of min and max must be given',
    );
  });
});
