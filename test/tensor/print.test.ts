/** toString() in PyTorch's format. Expected strings are what `print(torch.tensor(...))` shows. */
import { describe, expect, it } from 'vitest';
import { arange, ones, tensor, zeros } from '../../src/index.ts';

describe('printing like PyTorch', () => {
  it('2-D float32', () => {
    expect(
      String(
        tensor([
          [1, 2],
          [3, 4],
        ]),
      ),
    ).toBe('tensor([[1., 2.],\n        [3., 4.]])');
  });

  it('3-D with a blank line between blocks', () => {
    expect(arange(8).float().reshape(2, 2, 2).toString()).toBe(
      'tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])',
    );
  });

  it('0-d scalars', () => {
    expect(tensor(3).toString()).toBe('tensor(3.)');
    expect(tensor(2.5).toString()).toBe('tensor(2.5000)');
    expect(tensor(7, { dtype: 'int32' }).toString()).toBe('tensor(7, dtype=torch.int32)');
    expect(tensor(true).toString()).toBe('tensor(True)');
  });

  it('four decimals, right-aligned, negatives', () => {
    expect(tensor([1.5, 2.25]).toString()).toBe('tensor([1.5000, 2.2500])');
    expect(tensor([-1.5, 2.25]).toString()).toBe('tensor([-1.5000,  2.2500])');
    expect(tensor([0.1, 10.5]).toString()).toBe('tensor([ 0.1000, 10.5000])');
    expect(tensor([-1, 2]).toString()).toBe('tensor([-1.,  2.])');
    expect(tensor([100, 2]).toString()).toBe('tensor([100.,   2.])');
  });

  it('dtype, requires_grad and grad_fn suffixes', () => {
    expect(tensor([1, 2], { dtype: 'float64' }).toString()).toBe(
      'tensor([1., 2.], dtype=torch.float64)',
    );
    expect(tensor([1, 2], { dtype: 'int32' }).toString()).toBe('tensor([1, 2], dtype=torch.int32)');
    const x = tensor([1, 2], { requiresGrad: true });
    expect(x.toString()).toBe('tensor([1., 2.], requires_grad=True)');
    expect(x.add(1).toString()).toBe('tensor([2., 3.], grad_fn=<AddBackward0>)');
    expect(x.mul(x).toString()).toBe('tensor([1., 4.], grad_fn=<MulBackward0>)');
    expect(x.sum().toString()).toBe('tensor(3., grad_fn=<SumBackward0>)');
    expect(x.double().mul(2).toString()).toBe(
      'tensor([2., 4.], dtype=torch.float64, grad_fn=<MulBackward0>)',
    );
    expect(x.detach().toString()).toBe('tensor([1., 2.])');
  });

  it('scientific mode', () => {
    expect(tensor([1e-5, 1]).toString()).toBe('tensor([1.0000e-05, 1.0000e+00])');
    expect(tensor([1e10, 1]).toString()).toBe('tensor([1.0000e+10, 1.0000e+00])');
    expect(tensor([0.00001234]).toString()).toBe('tensor([1.2340e-05])');
    expect(tensor([1, 2000]).toString()).toBe('tensor([1.0000e+00, 2.0000e+03])');
    expect(tensor([1, 999]).toString()).toBe('tensor([  1., 999.])');
  });

  it('bool', () => {
    expect(tensor([true, false]).toString()).toBe('tensor([ True, False])');
    expect(tensor([1, 2]).gt(1).toString()).toBe('tensor([False,  True])');
  });

  it('nan and inf (the width comes from the finite values, as in PyTorch)', () => {
    expect(tensor([1, NaN, Infinity]).toString()).toBe('tensor([1., nan, inf])');
    expect(tensor([-Infinity, 0.5]).toString()).toBe('tensor([  -inf, 0.5000])');
    expect(tensor([NaN]).toString()).toBe('tensor([nan])');
  });

  it('zeros, empty', () => {
    expect(zeros([3]).toString()).toBe('tensor([0., 0., 0.])');
    expect(tensor([]).toString()).toBe('tensor([])');
  });

  it('long rows wrap at 80 columns', () => {
    expect(arange(20).float().toString()).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19.])',
    );
  });

  it('more than 1000 elements are summarized with the values shown deciding the format', () => {
    expect(arange(2000).float().toString()).toBe(
      'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])',
    );
    expect(ones([40, 40]).toString()).toBe(
      'tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        ...,\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.],\n' +
        '        [1., 1., 1.,  ..., 1., 1., 1.]])',
    );
  });

  it('printing a large tensor does not overflow the stack', () => {
    const s = zeros([1000, 1000]).toString();
    expect(s.startsWith('tensor([[0., 0., 0.,  ..., 0., 0., 0.],')).toBe(true);
  });

  it('non-contiguous tensors print their logical order', () => {
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ])
        .t()
        .toString(),
    ).toBe('tensor([[1., 3.],\n        [2., 4.]])');
  });
});
