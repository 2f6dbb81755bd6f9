/** Optimizer behaviour beyond the golden vectors: zeroGrad, skipping, state dicts, groups, errors. */
import { describe, it, expect } from 'vitest';
import { tensor, manualSeed, randn, nn, type Tensor } from '../../src/index.ts';
import { Parameter } from '../../src/nn/module.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import {
  Optimizer,
  SGD,
  Adadelta,
  Adam,
  AdamW,
  stateDictToJSON,
  type OptimizerStateDict,
  type SGDOptions,
} from '../../src/optim/index.ts';

const f64 = (v: number[] | number[][]): Parameter => new Parameter(tensor(v, { dtype: 'float64' }));
const f32 = (v: number[] | number[][]): Parameter => new Parameter(tensor(v, { dtype: 'float32' }));
const grad64 = (v: number[] | number[][]): Tensor => tensor(v, { dtype: 'float64' });

type Params = Parameter[] | { params: Parameter[]; lr?: number }[];
type Factory = (params: Params) => Optimizer;
const FACTORIES: [string, Factory][] = [
  ['SGD', (p) => new SGD(p, { lr: 0.1 })],
  [
    'SGD momentum nesterov wd',
    (p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
  ],
  ['SGD momentum dampening', (p) => new SGD(p, { lr: 0.05, momentum: 0.8, dampening: 0.3 })],
  ['Adadelta', (p) => new Adadelta(p, { weightDecay: 1e-3 })],
  ['Adam', (p) => new Adam(p, { lr: 0.01, weightDecay: 1e-3 })],
  ['Adam amsgrad', (p) => new Adam(p, { lr: 0.01, amsgrad: true })],
  ['AdamW', (p) => new AdamW(p, { lr: 0.01 })],
  ['AdamW amsgrad', (p) => new AdamW(p, { lr: 0.01, amsgrad: true, weightDecay: 0.1 })],
];

/** Deterministic gradients that change from step to step (and shrink, so amsgrad's max matters). */
function fakeGrad(p: Tensor, step: number, salt: number): Tensor {
  const x = p.toTypedArray();
  const g = Array.from(
    x,
    (v, i) => Math.sin(1.7 * i + 0.9 * step + salt) * (3 / (1 + step)) + 0.3 * v,
  );
  return tensor(g, { dtype: p.dtype }).reshape(p.shape);
}

function runSteps(opt: Optimizer, params: Tensor[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    opt.zeroGrad();
    params.forEach((p, k) => (p.grad = fakeGrad(p, s, k)));
    opt.step();
  }
}

/** Two groups (the second with its own lr), float64 and float32 parameters. */
function makeSetup(factory: Factory) {
  const a = f64([
    [0.5, -1.0, 2.0],
    [0.25, 0.0, -3.0],
  ]);
  const b = f32([1.5, -0.5]);
  const c = f64([0.1]);
  const opt = factory([{ params: [a, b] }, { params: [c], lr: 0.02 }]);
  return { params: [a, b, c], opt };
}

describe('zeroGrad', () => {
  it('sets grads to null by default', () => {
    const p = f64([1, 2]);
    const q = f64([3]);
    const opt = new SGD([p, q], { lr: 0.1 });
    p.grad = grad64([1, 1]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(q.grad).toBeNull();
  });

  it('zeros in place with setToNone: false (same tensor), detaching grads that are part of a graph', () => {
    const p = f64([1, 2]);
    const opt = new SGD([p], { lr: 0.1 });
    const g = grad64([1, -2]);
    p.grad = g;
    opt.zeroGrad({ setToNone: false });
    expect(p.grad).toBe(g);
    expect(Array.from(g.toTypedArray())).toEqual([0, 0]);

    const w = f64([2, 3]);
    p.grad = w.mul(2); // a grad with a gradFn (as after backward with createGraph)
    opt.zeroGrad({ setToNone: false });
    expect(p.grad.gradFn).toBeNull();
    expect(Array.from(p.grad.toTypedArray())).toEqual([0, 0]);
    expect(Array.from(w.toTypedArray())).toEqual([2, 3]); // the graph input is untouched
  });

  it('works with gradients from backward()', () => {
    const p = f64([1, 2, 3]);
    const opt = new SGD([p], { lr: 0.5 });
    p.square().sum().backward();
    expect(p.grad!).toBeAllClose([2, 4, 6]);
    opt.step();
    expect(p).toBeAllClose([0, 0, 0], { atol: 0, rtol: 0 });
    opt.zeroGrad();
    p.add(1).square().sum().backward();
    expect(p.grad!).toBeAllClose([2, 2, 2]); // not accumulated onto the old gradient
  });
});

describe('step', () => {
  for (const [name, factory] of FACTORIES) {
    it(`${name}: skips parameters without a gradient and bumps the version of updated ones`, () => {
      const p = f64([1, 2]);
      const q = f64([3, 4]);
      const opt = factory([p, q]);
      const vp = p._version;
      const vq = q._version;
      p.grad = grad64([0.5, -0.5]);
      opt.step();
      expect(Array.from(q.toTypedArray())).toEqual([3, 4]);
      expect(q._version).toBe(vq);
      expect(opt.state.has(q)).toBe(false);
      expect(p._version).toBe(vp + 1);
      expect(Array.from(p.toTypedArray())).not.toEqual([1, 2]);
      expect(opt.state.has(p)).toBe(true);
    });

    it(`${name}: maximize equals minimizing with the negated gradient`, () => {
      const p = f64([1, -2, 0.5]);
      const q = f64([1, -2, 0.5]);
      const maxOpt = factory([p]);
      (maxOpt.paramGroups[0] as unknown as { maximize: boolean }).maximize = true;
      const minOpt = factory([q]);
      for (let s = 0; s < 4; s++) {
        p.grad = fakeGrad(p, s, 0);
        q.grad = fakeGrad(q, s, 0).neg();
        maxOpt.step();
        minOpt.step();
      }
      expect(Array.from(p.toTypedArray())).toEqual(Array.from(q.toTypedArray()));
    });

    it(`${name}: float32 parameters keep float32 state and track float64 closely`, () => {
      const init = [
        [0.5, -1.0, 2.0],
        [0.25, 0.0, -3.0],
      ];
      const p32 = f32(init);
      const p64 = f64(init);
      const o32 = factory([p32]);
      const o64 = factory([p64]);
      for (let s = 0; s < 5; s++) {
        p32.grad = fakeGrad(p64, s, 0).to('float32');
        p64.grad = fakeGrad(p64, s, 0);
        o32.step();
        o64.step();
      }
      expect(p32.dtype).toBe('float32');
      for (const v of Object.values(o32.state.get(p32)!))
        if (typeof v !== 'number') expect(v).toBeInstanceOf(Float32Array);
      for (const v of Object.values(o64.state.get(p64)!))
        if (typeof v !== 'number') expect(v).toBeInstanceOf(Float64Array);
      expect(p32).toBeAllClose(p64.toTypedArray(), { atol: 1e-5, rtol: 1e-5 });
    });
  }

  it('updates a non-contiguous parameter through its strides', () => {
    const base = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'float64' },
    );
    const p = new Parameter(base.t()); // [3, 2] view, not contiguous
    expect(p.isContiguous()).toBe(false);
    const opt = new SGD([p], { lr: 1 });
    p.grad = grad64([
      [1, 0],
      [0, 0],
      [0, 2],
    ]);
    opt.step();
    expect(p.toArray()).toEqual([
      [0, 4],
      [2, 5],
      [3, 4],
    ]);
  });

  it('returns the closure loss, evaluated with grad enabled', () => {
    const p = f64([3]);
    const opt = new SGD([p], { lr: 0.25 });
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = p.square().sum();
      l.backward();
      return l;
    });
    expect((loss as Tensor).item()).toBe(9);
    expect(p.item()).toBe(1.5);
  });

  it('SGD: momentum buffer starts as a copy of the first gradient; dampening applies afterwards', () => {
    const p = f64([0]);
    const opt = new SGD([p], { lr: 1, momentum: 0.5, dampening: 0.5 });
    p.grad = grad64([2]);
    opt.step();
    expect(opt.state.get(p)!.momentumBuffer).toEqual(new Float64Array([2]));
    expect(p.item()).toBe(-2);
    p.grad = grad64([4]);
    opt.step();
    expect(opt.state.get(p)!.momentumBuffer).toEqual(new Float64Array([0.5 * 2 + 0.5 * 4]));
    expect(p.item()).toBe(-5);
  });

  it('Adam amsgrad follows the reference formulas (max of second moments)', () => {
    const [b1, b2, eps, lr] = [0.9, 0.999, 1e-8, 0.1];
    const grads = [3, 0.1, 0.05, -0.02];
    const p = f64([1]);
    const opt = new Adam([p], { lr, amsgrad: true });
    let [x, m, v, vmax] = [1, 0, 0, 0];
    grads.forEach((g, k) => {
      const t = k + 1;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      vmax = Math.max(vmax, v);
      x -= ((lr / (1 - b1 ** t)) * m) / (Math.sqrt(vmax) / Math.sqrt(1 - b2 ** t) + eps);
      p.grad = grad64([g]);
      opt.step();
      expect(p.item()).toBeAllClose(x, { atol: 0, rtol: 1e-14 });
    });
    const st = opt.state.get(p)!;
    expect((st.maxExpAvgSq as Float64Array)[0]).toBeGreaterThan((st.expAvgSq as Float64Array)[0]!);
    expect(opt.state.get(p)!.step).toBe(4);
  });

  it('AdamW decays the weights even with a zero gradient; Adam does not', () => {
    const p = f64([2]);
    const q = f64([2]);
    const w = new AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    const a = new Adam([q], { lr: 0.1 });
    p.grad = grad64([0]);
    q.grad = grad64([0]);
    w.step();
    a.step();
    expect(p.item()).toBe(2 * (1 - 0.1 * 0.5));
    expect(q.item()).toBe(2);
  });

  it('trains a small nn.Linear regression (loss goes down)', () => {
    manualSeed(0);
    const model = new nn.Linear(3, 1);
    const x = randn([32, 3]);
    const y = x.matmul(tensor([[1], [-2], [0.5]])).add(0.3);
    for (const make of [
      (p: Parameter[]) => new SGD(p, { lr: 0.1, momentum: 0.9 }),
      (p: Parameter[]) => new Adam(p, { lr: 0.05 }),
    ]) {
      const m = new nn.Linear(3, 1);
      const opt = make(m.parameters());
      const lossAt = () => m.forward(x).sub(y).square().mean();
      const first = lossAt().item();
      for (let i = 0; i < 100; i++) {
        opt.zeroGrad();
        const loss = lossAt();
        loss.backward();
        opt.step();
      }
      expect(lossAt().item()).toBeLessThan(first * 0.01);
    }
    expect(model.parameters().length).toBe(2);
  });
});

describe('param groups', () => {
  it('use their own lr and inherit the other defaults', () => {
    const p = f64([1, 1]);
    const q = f64([1, 1]);
    const opt = new SGD([{ params: [p] }, { params: [q], lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.01]);
    expect(opt.paramGroups[1]!.momentum).toBe(0.9);
    p.grad = grad64([1, 2]);
    q.grad = grad64([1, 2]);
    opt.step();
    expect(Array.from(p.toTypedArray())).toEqual([1 - 0.1 * 1, 1 - 0.1 * 2]);
    expect(Array.from(q.toTypedArray())).toEqual([1 - 0.01 * 1, 1 - 0.01 * 2]);
  });

  it('addParamGroup adds parameters (e.g. unfrozen layers) with defaults filled in', () => {
    const p = f64([1]);
    const q = f64([1]);
    const opt = new Adam([p], { lr: 0.01 });
    opt.addParamGroup({ params: [q], lr: 0.5 });
    expect(opt.paramGroups[1]).toMatchObject({
      lr: 0.5,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
    });
    expect(() => opt.addParamGroup({ params: [p] })).toThrow(/more than one parameter group/);
    expect(() => opt.addParamGroup({ params: [f64([1])], lr: -1 })).toThrow(
      /Invalid learning rate: -1/,
    );
  });

  it('accepts module.parameters() and a generator of parameters', () => {
    const m = new nn.Linear(2, 2);
    expect(new SGD(m.parameters(), { lr: 0.1 }).paramGroups[0]!.params).toHaveLength(2);
    const gen = (function* () {
      yield* m.parameters();
    })();
    expect(new SGD(gen, { lr: 0.1 }).paramGroups[0]!.params).toEqual(m.parameters());
  });
});

describe('hyperparameter and argument errors', () => {
  const p = () => [f64([1])];
  it.each([
    ['negative lr', () => new SGD(p(), { lr: -0.1 }), /Invalid learning rate: -0.1/],
    [
      'missing SGD lr',
      () => new SGD(p(), {} as unknown as SGDOptions),
      /required optimization parameter lr/,
    ],
    [
      'negative momentum',
      () => new SGD(p(), { lr: 0.1, momentum: -0.5 }),
      /Invalid momentum value/,
    ],
    [
      'negative weightDecay',
      () => new SGD(p(), { lr: 0.1, weightDecay: -1 }),
      /Invalid weight_decay value/,
    ],
    [
      'nesterov with dampening',
      () => new SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
      /Nesterov momentum requires a momentum and zero dampening/,
    ],
    [
      'nesterov without momentum',
      () => new SGD(p(), { lr: 0.1, nesterov: true }),
      /Nesterov momentum requires/,
    ],
    ['rho > 1', () => new Adadelta(p(), { rho: 1.5 }), /Invalid rho value: 1.5/],
    ['rho < 0', () => new Adadelta(p(), { rho: -0.1 }), /Invalid rho value/],
    ['negative eps', () => new Adadelta(p(), { eps: -1e-6 }), /Invalid epsilon value/],
    ['negative Adadelta lr', () => new Adadelta(p(), { lr: -1 }), /Invalid learning rate/],
    [
      'beta1 = 1',
      () => new Adam(p(), { betas: [1, 0.999] }),
      /Invalid beta parameter at index 0: 1/,
    ],
    [
      'beta2 < 0',
      () => new AdamW(p(), { betas: [0.9, -0.1] }),
      /Invalid beta parameter at index 1/,
    ],
    ['NaN lr', () => new Adam(p(), { lr: NaN }), /Invalid learning rate: NaN/],
    [
      'negative AdamW weight decay',
      () => new AdamW(p(), { weightDecay: -0.01 }),
      /Invalid weight_decay value/,
    ],
    [
      'bad group lr',
      () => new SGD([{ params: p(), lr: -1 }], { lr: 0.1 }),
      /Invalid learning rate: -1/,
    ],
    ['empty parameter list', () => new SGD([], { lr: 0.1 }), /empty parameter list/],
    [
      'a single Tensor',
      () => new SGD(f64([1]) as unknown as Parameter[], { lr: 0.1 }),
      /iterable of Tensors/,
    ],
    ['non-leaf tensor', () => new SGD([f64([1]).mul(2)], { lr: 0.1 }), /non-leaf/],
    [
      'duplicate parameter across groups',
      () => {
        const q = f64([1]);
        return new SGD([{ params: [q] }, { params: [q] }], { lr: 0.1 });
      },
      /more than one parameter group/,
    ],
  ])('%s', (_name, make, msg) => {
    expect(make).toThrow(msg);
  });
});

describe('stateDict / loadStateDict', () => {
  for (const [name, factory] of FACTORIES) {
    for (const viaJson of [false, true]) {
      it(`${name}: a fresh optimizer loaded from the state dict${viaJson ? ' (through JSON)' : ''} continues identically`, () => {
        const ref = makeSetup(factory);
        runSteps(ref.opt, ref.params, 0, 3);
        ref.opt.paramGroups[0]!.lr *= 0.5; // as a scheduler would
        let sd: unknown = ref.opt.stateDict();
        if (viaJson) sd = JSON.parse(JSON.stringify(stateDictToJSON(sd as OptimizerStateDict)));

        const copy = makeSetup(factory);
        copy.params.forEach((p, k) => noGradCopy(p, ref.params[k]!));
        copy.opt.loadStateDict(sd as OptimizerStateDict);
        expect(copy.opt.paramGroups.map((g) => g.lr)).toEqual(ref.opt.paramGroups.map((g) => g.lr));

        runSteps(ref.opt, ref.params, 3, 6);
        runSteps(copy.opt, copy.params, 3, 6);
        copy.params.forEach((p, k) => {
          expect(p.dtype).toBe(ref.params[k]!.dtype);
          expect(Array.from(p.toTypedArray())).toEqual(Array.from(ref.params[k]!.toTypedArray()));
        });
        expect(JSON.stringify(stateDictToJSON(copy.opt.stateDict()))).toBe(
          JSON.stringify(stateDictToJSON(ref.opt.stateDict())),
        );
      });
    }
  }

  it('is PyTorch-shaped, a snapshot, and numbers parameters across groups', () => {
    const { params, opt } = makeSetup((p) => new Adam(p, { lr: 0.01 }));
    params[0]!.grad = fakeGrad(params[0]!, 0, 0);
    params[2]!.grad = fakeGrad(params[2]!, 0, 2);
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0', '2']); // params[1] had no gradient, so no state
    expect(sd.paramGroups).toEqual([
      {
        lr: 0.01,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        amsgrad: false,
        maximize: false,
        params: [0, 1],
      },
      {
        lr: 0.02,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        amsgrad: false,
        maximize: false,
        params: [2],
      },
    ]);
    expect(sd.state['0']!.step).toBe(1);
    const saved = (sd.state['0']!.expAvg as Float64Array).slice();
    opt.step();
    expect(sd.state['0']!.expAvg).toEqual(saved);
    expect(sd.state['0']!.step).toBe(1);
  });

  it('round-trips non-finite values through JSON', () => {
    const p = f64([1, 2]);
    const opt = new Adam([p]);
    p.grad = grad64([Infinity, 1]);
    opt.step();
    const json = JSON.stringify(stateDictToJSON(opt.stateDict()));
    expect(json).toContain('"Infinity"');
    const opt2 = new Adam([f64([1, 2])]);
    opt2.loadStateDict(JSON.parse(json));
    const st = [...opt2.state.values()][0]!;
    expect((st.expAvgSq as Float64Array)[0]).toBe(Infinity);
  });

  it('rejects mismatched state dicts with clear errors, leaving the optimizer unchanged', () => {
    const { params, opt } = makeSetup((p) => new SGD(p, { lr: 0.1, momentum: 0.9 }));
    runSteps(opt, params, 0, 1);
    const sd = opt.stateDict();
    const other = new SGD([f64([1])], { lr: 0.1, momentum: 0.9 });
    expect(() => other.loadStateDict(sd)).toThrow(/2 parameter groups, the optimizer has 1/);
    const fewer = new SGD([{ params: [f64([1])] }, { params: [f64([1])] }], { lr: 0.1 });
    expect(() => fewer.loadStateDict(sd)).toThrow(
      /parameter group 0 has 2 parameters in the state dict, 1 in the optimizer/,
    );
    const json = stateDictToJSON(sd);
    (json.state['1']!.momentumBuffer as number[]).push(0);
    const target = makeSetup((p) => new SGD(p, { lr: 0.3, momentum: 0.9 }));
    expect(() => target.opt.loadStateDict(json)).toThrow(
      /state\[1\]\.momentumBuffer has 3 values, the parameter has 2/,
    );
    expect(target.opt.state.size).toBe(0);
    expect(target.opt.paramGroups[0]!.lr).toBe(0.3);
    const bad = stateDictToJSON(sd);
    bad.state['7'] = { momentumBuffer: [1] };
    expect(() => target.opt.loadStateDict(bad)).toThrow(/state for parameter 7/);
    const badLr = stateDictToJSON(sd);
    badLr.paramGroups[0]!.lr = -1;
    expect(() => target.opt.loadStateDict(badLr)).toThrow(/Invalid learning rate: -1/);
    expect(() => target.opt.loadStateDict({} as unknown as OptimizerStateDict)).toThrow(
      /expected an object with state and paramGroups/,
    );
  });
});

function noGradCopy(dst: Tensor, src: Tensor): void {
  dst._flat().set(src._flat());
  dst._bump();
}

describe('Adadelta on the thread pool', () => {
  it('updates a shared-memory parameter across threads with the one-thread bits', () => {
    const before = getNumThreads();
    try {
      const run = (threads: number) => {
        setNumThreads(threads);
        manualSeed(5);
        const layer = new nn.Linear(1000, 150); // 150,000 weights: three update chunks
        expect(layer.weight._flat().buffer).toBeInstanceOf(SharedArrayBuffer);
        const opt = new Adadelta(layer.parameters(), { weightDecay: 1e-3 });
        for (let s = 0; s < 3; s++) {
          for (const p of layer.parameters()) p.grad = randn(p.shape);
          opt.step();
        }
        return Float32Array.from(layer.weight._flat() as Float32Array);
      };
      const one = run(1);
      const two = run(2);
      expect(poolStatus().broken).toBe(false);
      expect(two).toEqual(one);
      expect(one.some((v, i) => v !== two[i])).toBe(false);
    } finally {
      setNumThreads(before);
    }
  });
});
