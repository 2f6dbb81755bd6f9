import { describe, expect, it } from 'vitest';
import { BufferArena } from '../../src/tensor/arena.ts';
import { allocate, allocateUninitialized } from '../../src/tensor/dtype.ts';
import { randn, manualSeed } from '../../src/index.ts';
import { noGrad } from '../../src/autograd/grad-mode.ts';
import { BaselineNet } from '../../src/models/baseline.ts';

const BIG = 1 << 15; // float32 elements: 128 KB, above the arena's threshold

describe('BufferArena', () => {
  it('hands the k-th large allocation of a run the k-th buffer of the previous run, zeroed', () => {
    const arena = new BufferArena();
    const first = arena.run(() => {
      const a = allocate('float32', BIG);
      const b = allocate('float64', BIG);
      a.fill(3);
      b.fill(4);
      return [a, b];
    });
    expect(first[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    const second = arena.run(() => [allocate('float32', BIG), allocate('float64', BIG / 2)]);
    expect(second[0]!.buffer).toBe(first[0]!.buffer);
    expect(second[1]!.buffer).toBe(first[1]!.buffer); // smaller: a view of the same buffer
    expect(second[1]!.length).toBe(BIG / 2);
    expect(second[0]!.every((v) => v === 0)).toBe(true);
    expect(second[1]!.every((v) => v === 0)).toBe(true);
    // a larger request replaces the slot
    const third = arena.run(() => allocate('float32', 4 * BIG));
    expect(third.buffer).not.toBe(first[0]!.buffer);
    expect(third.length).toBe(4 * BIG);
    expect(arena.bytes).toBe(16 * BIG + 8 * BIG);
  });

  it('allocateUninitialized skips the zero fill of a reused buffer; fresh buffers are zero', () => {
    const arena = new BufferArena();
    const first = arena.run(() => {
      const a = allocateUninitialized('float32', BIG);
      expect(a.every((v) => v === 0)).toBe(true);
      a.fill(5);
      return a;
    });
    const second = arena.run(() => allocateUninitialized('float32', BIG));
    expect(second.buffer).toBe(first.buffer);
    expect(second.every((v) => v === 5)).toBe(true);
    expect(allocateUninitialized('float64', BIG).every((v) => v === 0)).toBe(true); // no arena
  });

  it('leaves small allocations and allocations outside a run to the garbage collector', () => {
    const arena = new BufferArena();
    arena.run(() => {
      expect(allocate('float32', 16).buffer).toBeInstanceOf(ArrayBuffer);
    });
    expect(allocate('float32', BIG).buffer).toBeInstanceOf(ArrayBuffer);
    expect(arena.bytes).toBe(0);
  });

  it('refuses to run inside its own run; another arena nests and the outer one resumes', () => {
    const outer = new BufferArena();
    const inner = new BufferArena();
    outer.run(() => {
      expect(() => outer.run(() => 0)).toThrow(/already running/);
      inner.run(() => allocate('float32', BIG));
      allocate('float32', BIG);
    });
    expect(inner.bytes).toBe(4 * BIG);
    expect(outer.bytes).toBe(4 * BIG);
  });

  it('a network forward in an arena gives the same output as without, run after run', () => {
    manualSeed(3);
    const net = new BaselineNet().eval();
    const x = randn([5, 1, 28, 28]);
    const arena = new BufferArena();
    noGrad(() => {
      const ref = Array.from(net.forward(x)._flat());
      const other = randn([5, 1, 28, 28]).mul(3);
      for (let r = 0; r < 3; r++) {
        arena.run(() => net.forward(other)); // buffers holding another slice's activations
        const out = arena.run(() => Array.from(net.forward(x)._flat()));
        expect(out).toEqual(ref);
      }
    });
    expect(arena.bytes).toBeGreaterThan(0);
  });
});
