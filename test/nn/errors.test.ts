/** Error messages of the layer ops name the op and the offending shapes or values. */
import { describe, expect, it } from 'vitest';
import { nn, randn, tensor, zeros } from '../../src/index.ts';

const F = nn.functional;

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('conv2d errors', () => {
  it('wrong channel count names both shapes', () => {
    const msg = message(() => F.conv2d(randn([2, 3, 8, 8]), randn([4, 2, 3, 3])));
    expect(msg).toMatch(/conv2d/);
    expect(msg).toMatch(/\[2,\s?3,\s?8,\s?8\]/);
    expect(msg).toMatch(/\[4,\s?2,\s?3,\s?3\]/);
  });

  it('the Conv2d layer given the wrong channel count', () => {
    const msg = message(() => new nn.Conv2d(1, 4, 3).forward(randn([1, 3, 8, 8])));
    expect(msg).toMatch(/\[1,\s?3,\s?8,\s?8\]/);
    expect(msg).toMatch(/\[4,\s?1,\s?3,\s?3\]/);
  });

  it('input smaller than the kernel, 2-D input, bad bias, bad groups, dtype mismatch', () => {
    expect(() => F.conv2d(randn([1, 1, 2, 2]), randn([1, 1, 3, 3]))).toThrow(/conv2d.*too small/);
    expect(() => F.conv2d(randn([8, 8]), randn([1, 1, 3, 3]))).toThrow(/conv2d.*4-D/);
    expect(() => F.conv2d(randn([1, 1, 5, 5]), randn([2, 1, 3, 3]), randn([3]))).toThrow(
      /conv2d: bias.*\[3\].*2 output channels/,
    );
    expect(() => F.conv2d(randn([1, 3, 5, 5]), randn([2, 1, 3, 3]), null, { groups: 2 })).toThrow(
      /conv2d.*divisible by groups 2/,
    );
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/divisible by groups/);
    expect(() => F.conv2d(randn([1, 1, 5, 5], { dtype: 'float64' }), randn([1, 1, 3, 3]))).toThrow(
      /conv2d: dtype mismatch/,
    );
    expect(() => F.conv2d(tensor([[[[1]]]], { dtype: 'int32' }), randn([1, 1, 1, 1]))).toThrow(
      /conv2d.*float/,
    );
  });
});

describe('linear errors', () => {
  it('a shape mismatch names both shapes', () => {
    const msg = message(() => F.linear(randn([4, 7]), randn([5, 6])));
    expect(msg).toMatch(/linear/);
    expect(msg).toMatch(/\[4, 7\]/);
    expect(msg).toMatch(/\[5, 6\]/);
  });

  it('the Linear layer given the wrong feature count', () => {
    expect(() => new nn.Linear(9216, 128).forward(randn([2, 100]))).toThrow(
      /linear.*\[2, 100\].*\[128, 9216\]/,
    );
  });

  it('bad weight rank and bad bias', () => {
    expect(() => F.linear(randn([2, 3]), randn([3]))).toThrow(/linear: weight must be 2-D/);
    expect(() => F.linear(randn([2, 3]), randn([4, 3]), randn([5]))).toThrow(
      /linear: bias.*\[5\].*4 outputs/,
    );
  });
});

describe('nllLoss errors', () => {
  it('an out-of-range target names the value and the class count', () => {
    const x = randn([3, 4]);
    expect(() => F.nllLoss(x, tensor([0, 4, 1], { dtype: 'int32' }))).toThrow(
      /nllLoss.*target 4.*4 classes/,
    );
    expect(() => F.nllLoss(x, tensor([0, -1, 1], { dtype: 'int32' }))).toThrow(
      /nllLoss.*target -1/,
    );
    expect(() => F.crossEntropy(x, tensor([0, 1, 9], { dtype: 'int32' }))).toThrow(/target 9/);
  });

  it('a float target is rejected', () => {
    expect(() => F.nllLoss(randn([3, 4]), tensor([0, 1, 2]))).toThrow(
      /nllLoss: target must be an int32.*float32/,
    );
  });

  it('shape mismatches and an unknown reduction', () => {
    expect(() => F.nllLoss(randn([3, 4]), tensor([0, 1], { dtype: 'int32' }))).toThrow(
      /nllLoss.*\[3, 4\].*\[2\]/,
    );
    expect(() => F.nllLoss(randn([3]), tensor([0, 1, 2], { dtype: 'int32' }))).toThrow(
      /nllLoss.*input \[N, C\]/,
    );
    expect(() =>
      F.nllLoss(randn([1, 2]), zeros([1], { dtype: 'int32' }), { reduction: 'avg' as 'mean' }),
    ).toThrow(/unknown reduction 'avg'/);
  });
});

describe('maxPool2d errors', () => {
  it('an input smaller than the kernel', () => {
    const msg = message(() => F.maxPool2d(randn([1, 2, 1, 1]), 2));
    expect(msg).toMatch(/maxPool2d/);
    expect(msg).toMatch(/too small/);
    expect(msg).toMatch(/2x1x1/);
  });

  it('a 2-D input, too much padding, zero stride', () => {
    expect(() => F.maxPool2d(randn([4, 4]), 2)).toThrow(/maxPool2d.*\[4, 4\]/);
    expect(() => F.maxPool2d(randn([1, 1, 4, 4]), 2, { padding: 2 })).toThrow(
      /maxPool2d: padding should be at most half/,
    );
    expect(() => F.maxPool2d(randn([1, 1, 4, 4]), 2, { stride: 0 })).toThrow(/maxPool2d: stride/);
  });
});

describe('logSoftmax errors', () => {
  it('a dim out of range', () => {
    expect(() => F.logSoftmax(randn([2, 3]), 2)).toThrow(/logSoftmax/);
  });
});
