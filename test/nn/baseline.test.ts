/** BaselineNet (PyTorch's MNIST example CNN): shapes, log-probabilities, gradients, training steps. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BaselineNet,
  ExampleNet,
  Generator,
  Tensor,
  manualSeed,
  nn,
  noGrad,
  ones,
  randint,
  randn,
} from '../../src/index.ts';

const F = nn.functional;

describe('BaselineNet on a batch of 64', () => {
  let net: BaselineNet;
  let x: Tensor;
  let target: Tensor;
  let out: Tensor;
  beforeAll(() => {
    manualSeed(0);
    net = new BaselineNet();
    const gen = new Generator(1);
    x = randn([64, 1, 28, 28], { generator: gen });
    target = randint(0, 10, [64], { generator: gen });
    out = net.forward(x);
  });

  it('gives [64, 10] float32 log-probabilities (rows logsumexp to 0)', () => {
    expect(out.shape).toEqual([64, 10]);
    expect(out.dtype).toBe('float32');
    const v = out.toTypedArray();
    for (let r = 0; r < 64; r++) {
      let s = 0;
      for (let c = 0; c < 10; c++) {
        expect(v[r * 10 + c]!).toBeLessThanOrEqual(0);
        s += Math.exp(v[r * 10 + c]!);
      }
      expect(Math.log(s)).toBeCloseTo(0, 5);
    }
  });

  it('backward fills every parameter grad with the right shape and finite values', () => {
    net.zeroGrad();
    const loss = F.nllLoss(out, target);
    expect(Number.isFinite(loss.item())).toBe(true);
    // an untrained net is close to uniform over 10 classes: loss ≈ ln 10
    expect(loss.item()).toBeGreaterThan(1.5);
    expect(loss.item()).toBeLessThan(3.5);
    loss.backward();
    for (const [name, p] of net.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.shape, name).toEqual(p.shape);
      expect(p.grad!.dtype, name).toBe('float32');
      const g = p.grad!.toTypedArray();
      expect(g.every(Number.isFinite), name).toBe(true);
      expect(
        g.some((v) => v !== 0),
        name,
      ).toBe(true);
    }
  });
});

describe('BaselineNet training steps', () => {
  it('a few SGD steps on a fixed small batch lower the loss', () => {
    manualSeed(3);
    const net = new BaselineNet();
    const gen = new Generator(2);
    const x = randn([4, 1, 28, 28], { generator: gen });
    const target = randint(0, 10, [4], { generator: gen });
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      net.zeroGrad();
      const loss = F.nllLoss(net.forward(x), target);
      losses.push(loss.item());
      loss.backward();
      noGrad(() => {
        for (const p of net.parameters()) p.add_(p.grad!, -0.01); // p -= 0.01·grad
      });
    }
    net.eval();
    const final = F.nllLoss(net.forward(x), target).item();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(final).toBeLessThan(losses[0]!);
    expect(losses[3]!).toBeLessThan(losses[0]!);
  });

  it('eval mode: the same input gives the same output; train mode uses dropout', () => {
    manualSeed(4);
    const net = new BaselineNet();
    const x = randn([2, 1, 28, 28]);
    const a = net.forward(x);
    const b = net.forward(x);
    expect(a).not.toBeAllClose(b, { atol: 0, rtol: 0 });
    net.eval();
    expect(net.forward(x)).toBeAllClose(net.forward(x), { atol: 0, rtol: 0 });
  });

  it('rejects inputs that are not 1×28×28', () => {
    manualSeed(5);
    const net = new BaselineNet();
    expect(() => net.forward(randn([1, 3, 28, 28]))).toThrow(/conv2d/);
    expect(() => net.forward(randn([1, 1, 32, 32]))).toThrow(/linear.*9216/);
  });
});

describe('ExampleNet (PyTorch examples/mnist: Dropout where the notebook has Dropout2d)', () => {
  it('has the baseline parameters, initialised the same for the same seed', () => {
    manualSeed(5);
    const a = new BaselineNet();
    manualSeed(5);
    const b = new ExampleNet();
    const pa = [...a.namedParameters()];
    const pb = [...b.namedParameters()];
    expect(pb.map(([n, p]) => [n, p.shape])).toEqual(pa.map(([n, p]) => [n, p.shape]));
    for (let i = 0; i < pa.length; i++) {
      expect(Array.from(pb[i]![1]._flat())).toEqual(Array.from(pa[i]![1]._flat()));
    }
  });

  it("dropout1 drops single elements of the pooled maps, the notebook's drops whole channels", () => {
    const x = ones([8, 64, 12, 12]);
    // channels whose 144 values are neither all dropped nor all kept
    const mixed = (net: BaselineNet): number => {
      const y = net.dropout1.forward(x)._flat();
      let n = 0;
      for (let c = 0; c < 8 * 64; c++) {
        let zeros = 0;
        for (let i = 0; i < 144; i++) if (y[c * 144 + i] === 0) zeros++;
        if (zeros > 0 && zeros < 144) n++;
      }
      return n;
    };
    manualSeed(6);
    expect(mixed(new ExampleNet().train())).toBeGreaterThan(500);
    manualSeed(6);
    expect(mixed(new BaselineNet().train())).toBe(0);
  });
});
