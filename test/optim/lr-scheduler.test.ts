/** StepLR behaviour: in-place lr changes, initialLr, state dicts, resuming. */
import { describe, it, expect } from 'vitest';
import { tensor } from '../../src/index.ts';
import { Parameter } from '../../src/nn/module.ts';
import { SGD, Adadelta, stateDictToJSON, lrScheduler } from '../../src/optim/index.ts';

const param = () => new Parameter(tensor([1], { dtype: 'float64' }));

describe('StepLR', () => {
  it('multiplies the lr in place in the optimizer groups and records initialLr', () => {
    const opt = new Adadelta([param()], { lr: 1.0 });
    const group = opt.paramGroups[0]!;
    const sched = new lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.7 });
    expect(group.initialLr).toBe(1.0);
    expect(sched.lastEpoch).toBe(0);
    expect(sched.getLastLr()).toEqual([1.0]);
    sched.step();
    expect(opt.paramGroups[0]).toBe(group); // the same group object, lr changed in place
    expect(group.lr).toBe(0.7);
    group.lr = 0.5; // someone else changed it: StepLR builds on the current value
    sched.step();
    expect(group.lr).toBe(0.5 * 0.7);
    expect(group.initialLr).toBe(1.0);
    expect(sched.baseLrs).toEqual([1.0]);
  });

  it('defaults gamma to 0.1 and only decays at multiples of stepSize', () => {
    const opt = new SGD([param()], { lr: 1 });
    const sched = new lrScheduler.StepLR(opt, { stepSize: 2 });
    const lrs = [];
    for (let i = 0; i < 5; i++) {
      lrs.push(sched.getLastLr()[0]);
      sched.step();
    }
    expect(lrs).toEqual([1, 1, 0.1, 0.1, 0.1 * 0.1]);
  });

  it('handles several param groups', () => {
    const opt = new SGD([{ params: [param()] }, { params: [param()], lr: 0.01 }], { lr: 0.1 });
    const sched = new lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    sched.step();
    expect(sched.getLastLr()).toEqual([0.05, 0.005]);
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.01]);
  });

  it('state dict round trip (optimizer + scheduler, through JSON) continues identically', () => {
    const make = () => {
      const opt = new SGD([param()], { lr: 1, momentum: 0.9 });
      return { opt, sched: new lrScheduler.StepLR(opt, { stepSize: 2, gamma: 0.7 }) };
    };
    const a = make();
    for (let i = 0; i < 5; i++) a.sched.step();
    const ckpt = JSON.parse(
      JSON.stringify({
        optimizer: stateDictToJSON(a.opt.stateDict()),
        scheduler: a.sched.stateDict(),
      }),
    );
    expect(ckpt.scheduler).toMatchObject({
      stepSize: 2,
      gamma: 0.7,
      baseLrs: [1],
      lastEpoch: 5,
      _stepCount: 6,
      _lastLr: [0.48999999999999994],
    });
    const b = make();
    b.opt.loadStateDict(ckpt.optimizer);
    b.sched.loadStateDict(ckpt.scheduler);
    expect(b.opt.paramGroups[0]!.lr).toBe(a.opt.paramGroups[0]!.lr);
    expect(b.opt.paramGroups[0]!.initialLr).toBe(1);
    for (let i = 0; i < 5; i++) {
      a.sched.step();
      b.sched.step();
      expect(b.opt.paramGroups[0]!.lr).toBe(a.opt.paramGroups[0]!.lr);
      expect(b.sched.getLastLr()).toEqual(a.sched.getLastLr());
    }
    expect(() => b.sched.loadStateDict({ ...ckpt.scheduler, bogus: 1 })).toThrow(
      /unexpected key bogus/,
    );
  });

  it('resuming with lastEpoch needs initialLr in the groups (like PyTorch)', () => {
    const opt = new SGD([param()], { lr: 0.1 });
    expect(() => new lrScheduler.StepLR(opt, { stepSize: 1, lastEpoch: 3 })).toThrow(/initialLr/);
    opt.paramGroups[0]!.initialLr = 1;
    const sched = new lrScheduler.StepLR(opt, { stepSize: 2, gamma: 0.5, lastEpoch: 3 });
    expect(sched.lastEpoch).toBe(4);
    expect(opt.paramGroups[0]!.lr).toBe(0.05); // epoch 4 is a boundary: the current lr is decayed once
  });

  it('rejects a bad stepSize', () => {
    const opt = new SGD([param()], { lr: 0.1 });
    expect(() => new lrScheduler.StepLR(opt, { stepSize: 0 })).toThrow(/Invalid stepSize/);
    expect(() => new lrScheduler.StepLR(opt, { stepSize: 1.5 })).toThrow(/Invalid stepSize/);
  });
});
