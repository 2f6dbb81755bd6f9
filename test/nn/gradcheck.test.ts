/** float64 gradcheck of every layer op in nn.functional through its autograd Function. */
import { beforeEach, describe, expect, it } from 'vitest';
import { Generator, Tensor, autograd, nn } from '../../src/index.ts';
import { distinct, labels, normal, reseed } from '../helpers/random.ts';

const F = nn.functional;
const opts = { eps: 1e-6, atol: 1e-6, rtol: 1e-4 };
const check = (fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]) =>
  expect(autograd.gradcheck(fn, inputs, opts)).toBe(true);

beforeEach(() => reseed(7));

describe('gradcheck: conv2d', () => {
  const cases: [string, number[], number[], boolean, nn.functional.Conv2dOptions][] = [
    ['plain 3x3', [2, 2, 5, 4], [3, 2, 3, 3], true, {}],
    ['stride 2, padding 1', [1, 2, 5, 5], [2, 2, 3, 3], true, { stride: 2, padding: 1 }],
    [
      'stride (2,1), padding (1,0)',
      [1, 2, 5, 4],
      [2, 2, 3, 2],
      true,
      { stride: [2, 1], padding: [1, 0] },
    ],
    ['dilation 2', [1, 1, 6, 5], [2, 1, 2, 2], true, { dilation: 2 }],
    [
      'dilation (1,2), padding 2',
      [1, 2, 4, 4],
      [2, 2, 2, 2],
      true,
      { dilation: [1, 2], padding: 2 },
    ],
    ['groups 2', [1, 4, 4, 4], [4, 2, 2, 2], true, { groups: 2, padding: 1 }],
    ['depthwise (groups = channels)', [1, 3, 4, 4], [3, 1, 3, 3], true, { groups: 3, padding: 1 }],
    ['non-square kernel 1x3', [1, 2, 4, 5], [2, 2, 1, 3], true, { stride: [1, 2] }],
    ['non-square kernel 3x1, no bias', [2, 2, 5, 3], [2, 2, 3, 1], false, {}],
    [
      'circular padding 1',
      [1, 2, 4, 4],
      [2, 2, 3, 3],
      true,
      { padding: 1, paddingMode: 'circular' },
    ],
    [
      'circular padding (2,1), stride 2',
      [1, 1, 5, 4],
      [2, 1, 3, 2],
      true,
      { padding: [2, 1], stride: 2, paddingMode: 'circular' },
    ],
    ['1x1 kernel', [2, 3, 3, 3], [2, 3, 1, 1], true, {}],
  ];
  for (const [name, xs, ws, bias, o] of cases) {
    it(name, () => {
      const inputs = [normal(xs), normal(ws)];
      if (bias) inputs.push(normal([ws[0]!]));
      check((x, w, b) => F.conv2d(x!, w!, b ?? null, o), inputs);
    });
  }

  it('unbatched CHW input gives a CHW output', () => {
    const x = normal([2, 4, 4]);
    const w = normal([3, 2, 3, 3]);
    const b = normal([3]);
    expect(F.conv2d(x, w, b, { padding: 1 }).shape).toEqual([3, 4, 4]);
    check((x, w, b) => F.conv2d(x!, w!, b!, { padding: 1 }), [x, w, b]);
  });

  it('only the weight requires grad', () => {
    const x = normal([1, 2, 4, 4], false);
    check((w) => F.conv2d(x, w!, null), [normal([2, 2, 2, 2])]);
  });
});

describe('gradcheck: linear', () => {
  it('2-D input with bias', () =>
    check((x, w, b) => F.linear(x!, w!, b!), [normal([3, 4]), normal([5, 4]), normal([5])]));
  it('2-D input without bias', () =>
    check((x, w) => F.linear(x!, w!), [normal([3, 4]), normal([2, 4])]));
  it('3-D input (leading dims are batch)', () => {
    const x = normal([2, 3, 4]);
    expect(F.linear(x, normal([5, 4]), normal([5])).shape).toEqual([2, 3, 5]);
    check((x, w, b) => F.linear(x!, w!, b!), [x, normal([5, 4]), normal([5])]);
  });
  it('1-D input', () =>
    check((x, w, b) => F.linear(x!, w!, b!), [normal([4]), normal([3, 4]), normal([3])]));
  it('non-contiguous (transposed) input', () =>
    check((x, w) => F.linear(x!.transpose(0, 1), w!), [normal([4, 3]), normal([2, 4])]));
});

describe('gradcheck: maxPool2d (inputs without ties)', () => {
  /** A ramp of spacing 0.1, jittered by up to 0.02. */
  const ramp = (shape: number[]) => distinct(shape, 0.1, 0.02);
  const cases: [string, number[], number | [number, number], nn.functional.MaxPool2dOptions][] = [
    ['kernel 2 (stride = kernel)', [2, 2, 4, 4], 2, {}],
    ['kernel 2 on odd sizes (floor)', [1, 2, 5, 3], 2, {}],
    ['kernel 3, stride 2, padding 1 (overlapping)', [1, 2, 5, 5], 3, { stride: 2, padding: 1 }],
    ['kernel (2,3), stride (1,2)', [1, 1, 4, 6], [2, 3], { stride: [1, 2] }],
    ['dilation 2', [1, 1, 6, 6], 2, { stride: 1, dilation: 2 }],
    ['ceilMode', [1, 2, 5, 5], 2, { ceilMode: true }],
    [
      'ceilMode with padding and stride 2',
      [1, 1, 6, 6],
      3,
      { stride: 2, padding: 1, ceilMode: true },
    ],
  ];
  for (const [name, shape, k, o] of cases) {
    it(name, () => check((x) => F.maxPool2d(x!, k, o), [ramp(shape)]));
  }
  it('unbatched CHW input', () => {
    const x = ramp([2, 4, 4]);
    expect(F.maxPool2d(x, 2).shape).toEqual([2, 2, 2]);
    check((x) => F.maxPool2d(x!, 2), [x]);
  });
  it('ceilMode output size follows PyTorch', () => {
    expect(F.maxPool2d(ramp([1, 1, 5, 5]), 2, { ceilMode: true }).shape).toEqual([1, 1, 3, 3]);
    expect(F.maxPool2d(ramp([1, 1, 5, 5]), 2).shape).toEqual([1, 1, 2, 2]);
  });
});

describe('gradcheck: logSoftmax', () => {
  it('dim 1 of [3, 5]', () => check((x) => F.logSoftmax(x!, 1), [normal([3, 5])]));
  it('dim 0 of [3, 5]', () => check((x) => F.logSoftmax(x!, 0), [normal([3, 5])]));
  it('last dim (-1) of [2, 3, 4]', () => check((x) => F.logSoftmax(x!, -1), [normal([2, 3, 4])]));
  it('middle dim of [2, 3, 4]', () => check((x) => F.logSoftmax(x!, 1), [normal([2, 3, 4])]));
  it('1-D', () => check((x) => F.logSoftmax(x!, 0), [normal([6])]));
  it('softmax', () => check((x) => F.softmax(x!, 1), [normal([2, 4])]));
});

describe('gradcheck: nllLoss and crossEntropy', () => {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`nllLoss reduction ${reduction}`, () => {
      const t = labels(4, 3);
      check((x) => F.nllLoss(x!, t, { reduction }), [normal([4, 3])]);
    });
    it(`crossEntropy reduction ${reduction}`, () => {
      const t = labels(5, 4);
      check((x) => F.crossEntropy(x!, t, { reduction }), [normal([5, 4])]);
    });
  }
  it('nllLoss after logSoftmax (the training loss)', () => {
    const t = labels(4, 10);
    check((x) => F.nllLoss(F.logSoftmax(x!, 1), t), [normal([4, 10])]);
  });
});

describe('gradcheck: dropout, dropout2d, relu (fixed mask via a fresh generator per call)', () => {
  it('dropout p=0.5', () =>
    check((x) => F.dropout(x!, 0.5, true, new Generator(0)), [normal([4, 5])]));
  it('dropout p=0.2', () =>
    check((x) => F.dropout(x!, 0.2, true, new Generator(3)), [normal([3, 3, 2])]));
  it('dropout2d on NCHW', () =>
    check((x) => F.dropout2d(x!, 0.5, true, new Generator(0)), [normal([2, 3, 2, 2])]));
  it('dropout2d on CHW', () =>
    check((x) => F.dropout2d(x!, 0.4, true, new Generator(1)), [normal([4, 2, 2])]));
  it('dropout2d on [N, F]', () =>
    check((x) => F.dropout2d(x!, 0.5, true, new Generator(2)), [normal([3, 4])]));
  it('relu (away from the kink)', () => {
    const x = normal([3, 4], false);
    const away = x.add(x.sign().mul(0.1)).detach().requiresGrad_();
    check((x) => F.relu(x!), [away]);
  });
  it('the whole baseline head: flatten → linear → relu → dropout2d → linear → logSoftmax → nllLoss', () => {
    const t = labels(2, 3);
    const fn = (x: Tensor, w1: Tensor, w2: Tensor) =>
      F.nllLoss(
        F.logSoftmax(
          F.linear(
            F.dropout2d(F.relu(F.linear(F.flatten(x, 1), w1)), 0.5, true, new Generator(5)),
            w2,
          ),
          1,
        ),
        t,
      );
    check((x, w1, w2) => fn(x!, w1!, w2!), [normal([2, 2, 2, 2]), normal([4, 8]), normal([3, 4])]);
  });
});
