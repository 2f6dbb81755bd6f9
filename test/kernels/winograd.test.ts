import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conv2dAlgorithm,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dBackwardWeightNaive,
  conv2dForward,
  conv2dForwardAlgorithm,
  conv2dForwardNaive,
  conv2dParams,
  conv2dReluPoolForward,
  type Conv2dOptions,
} from '../../src/tensor/kernels/conv2d.ts';
import {
  setUniformTileReuse,
  uniformTileReuses,
  winograd6Cheaper,
  winograd6ForwardImage,
  winograd6Weights,
} from '../../src/tensor/kernels/winograd6.ts';
import { maxPool2dParams } from '../../src/tensor/kernels/pool.ts';
import {
  setZeroTileLists,
  setZeroTileSkip,
  zeroListBlocks,
} from '../../src/tensor/kernels/winograd.ts';
import { setAsm } from '../../src/tensor/kernels/asm.ts';
import {
  linearBackward,
  linearBackwardNaive,
  linearForward,
  linearForwardNaive,
} from '../../src/tensor/kernels/gemm.ts';
import { getNumThreads, poolStatus, setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';
import {
  convInputs,
  convLabel,
  dtypes,
  expectConvMatchesNaive,
  vsNaive,
  type ConvShape,
} from '../helpers/kernels.ts';
import { randomArray, rng } from '../helpers/random.ts';

// 3×3 / stride 1 / ≥ 8 channels: the Winograd path; odd and even outputs, padding 0–3, batch 1
const winoShapes: ConvShape[] = [
  { x: [2, 8, 7, 7], w: [8, 8, 3, 3], o: {} }, // 5×5 output: odd tiles
  { x: [1, 9, 6, 9], w: [10, 9, 3, 3], o: { padding: 1 } }, // batch 1, odd channel counts
  { x: [3, 8, 5, 8], w: [13, 8, 3, 3], o: { padding: [2, 1] } },
  { x: [1, 12, 4, 3], w: [8, 12, 3, 3], o: { padding: 2 } },
  { x: [2, 8, 6, 6], w: [8, 8, 3, 3], o: { padding: 3 } }, // bwd-input falls back to im2col
  { x: [1, 11, 3, 3], w: [9, 11, 3, 3], o: {} }, // 1×1 output
  { x: [5, 16, 13, 11], w: [12, 16, 3, 3], o: { padding: [0, 1] } },
  // more tiles × channels than one forward block holds (TILE_CHANNELS_MAX): 36 tiles of 64
  // channels in the forward; 25 tiles of 80 channels, the last block partial, in backward-input
  { x: [1, 64, 22, 22], w: [8, 64, 3, 3], o: { padding: 1 } },
  { x: [2, 8, 18, 18], w: [80, 8, 3, 3], o: {} },
];

describe('Winograd F(4×4,3×3) conv2d vs naive', () => {
  for (const [dt, C, rt] of dtypes) {
    winoShapes.forEach((s, si) => {
      it(`${dt} ${convLabel(s)}`, () => {
        const inputs = convInputs(C, s, 500 + si);
        const { p } = inputs;
        expect(conv2dAlgorithm(p, 'forward')).toBe('winograd');
        expect(conv2dAlgorithm(p, 'weight')).toBe('winograd');
        expect(conv2dAlgorithm(p, 'input')).toBe(p.padH > 2 || p.padW > 2 ? 'im2col' : 'winograd');
        expectConvMatchesNaive(C, inputs, rt, {
          forward: p.cIn * 9,
          input: p.cOut * 9,
          weight: p.n * p.outH * p.outW,
        });
      });
    });
  }
});

// inference forwards where F(6×6) does fewer multiplies: whole and partial 6×6 tiles, padding,
// output channels not a multiple of 3, more tiles than one block holds (54×54: 81 tiles)
const wino6Shapes: ConvShape[] = [
  { x: [3, 32, 26, 26], w: [64, 32, 3, 3], o: {} }, // conv2 of the MNIST net: 4×4 whole tiles
  { x: [2, 16, 23, 23], w: [16, 16, 3, 3], o: { padding: 1 } }, // partial last tiles
  { x: [1, 8, 54, 54], w: [10, 8, 3, 3], o: { padding: 1 } }, // two tile blocks
  { x: [2, 9, 20, 26], w: [17, 9, 3, 3], o: { padding: [2, 0] } },
];

describe('Winograd F(6×6,3×3) inference forward vs naive', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));
  it('is picked for an inference forward only, where it does fewer multiplies', () => {
    const { p } = convInputs(Float32Array, wino6Shapes[0]!, 1);
    expect(conv2dForwardAlgorithm(p, true)).toBe('winograd6');
    expect(conv2dForwardAlgorithm(p, false)).toBe('winograd');
    // 24×24: 16 tiles of 8×8 inputs (1024·66 multiplies per channel pair) vs 36 of 6×6 (1296·64)
    expect(winograd6Cheaper(64, 24, 24)).toBe(true);
    // 5×5: one tile either way, and F(6×6)'s is 64 positions, F(4×4)'s 4 of 36
    expect(winograd6Cheaper(64, 5, 5)).toBe(false);
    expect(conv2dForwardAlgorithm(convInputs(Float32Array, winoShapes[0]!, 1).p, true)).toBe(
      'winograd',
    );
  });
  it('refuses a pooled output that is not float32 or has more windows than the output holds', () => {
    const p = { n: 1, ki: 1, h: 6, w: 6, mo: 1, padH: 0, padW: 0, outH: 4, outW: 4 };
    const u = new Float64Array(64 * 3);
    const x = new Float32Array(36);
    const run = (y: FloatArray, pool: { outH: number; outW: number }) => () =>
      winograd6ForwardImage(y, x, u, null, p, 0, 0, pool);
    expect(run(new Float64Array(4), { outH: 2, outW: 2 })).toThrow(
      /winograd6: a pooled output needs float32 and at most \[2, 2\] windows, got Float64Array \[2, 2\]/,
    );
    expect(run(new Float32Array(6), { outH: 3, outW: 2 })).toThrow(/got Float32Array \[3, 2\]/);
    expect(run(new Float32Array(4), { outH: 2, outW: 2 })).not.toThrow();
  });
  for (const [dt, C, rt] of dtypes) {
    wino6Shapes.forEach((s, si) => {
      it(`${dt} ${convLabel(s)}, 1 and 2 threads`, () => {
        const { p, x, w, b, ySize } = convInputs(C, s, 700 + si);
        expect(conv2dForwardAlgorithm(p, true)).toBe('winograd6');
        const ref = new C(ySize);
        conv2dForwardNaive(ref, x, w, b, p);
        const ys = [1, 2].map((threads) => {
          setNumThreads(threads);
          const y = new C(ySize).fill(NaN);
          conv2dForward(y, x, w, b, p, true);
          return y;
        });
        expect(ys[1]).toEqual(ys[0]);
        // float64: the float64 sums' own rounding (F(6×6)'s transforms have entries up to 32 and
        // 1/90); float32: the naive kernel's float32 rounding of the same values
        const tol = C === Float64Array ? 1e-12 : rt;
        expect(ys[0]).toBeAllClose(ref, vsNaive(tol, tol * p.cIn * 9));
        // against the training forward (F(4×4)): float32 outputs agree to the last bit or one ulp
        const y4 = new C(ySize);
        conv2dForward(y4, x, w, b, p, false);
        expect(ys[0]).toBeAllClose(y4, vsNaive(C === Float64Array ? 1e-12 : 2.4e-7, 1e-12));
      });
    });
  }
});

describe('Winograd F(4×4): tiles of zeros skip the transform, same bits', () => {
  const before = getNumThreads();
  afterAll(() => {
    setZeroTileSkip(true);
    setNumThreads(before);
  });
  for (const [dt, C] of dtypes) {
    it(`${dt}: conv2-like gradients with dropped channels, ±0 and zero blocks`, () => {
      setNumThreads(1);
      const s: ConvShape = { x: [3, 16, 14, 14], w: [16, 16, 3, 3], o: {} };
      const { p, x, w, gy } = convInputs(C, s, 990);
      const P = p.outH * p.outW;
      // as conv2's gradient in training: whole channels dropped (−0 where dropout multiplied a
      // negative gradient by 0), most other entries zero, some tiles all zero
      // negative gradient by 0), the rest mostly zeros: many tiles with a single non-zero, in
      // every position of the tile
      const r = rng(991);
      gy.forEach((v, i) => {
        const ch = Math.floor(i / P) % p.cOut;
        gy[i] = ch % 4 === 0 ? v * -0 : r() < 1 / 40 ? v : r() < 0.5 ? -0 : 0;
      });
      // the input: zero planes and single non-zeros too (forward and backward-weight tiles)
      x.forEach((v, i) => {
        x[i] = i < 4 * 14 * 14 ? (r() < 1 / 30 ? v : -0) : v;
      });
      const y = new C(p.n * p.cOut * P);
      const run = (on: boolean) => {
        setZeroTileSkip(on);
        const gx = new C(x.length);
        const gw = new C(w.length);
        conv2dForward(y, x, w, null, p);
        conv2dBackwardInput(gx, gy, w, p);
        conv2dBackwardWeight(gw, gy, x, p);
        return [y.slice(), gx, gw] as const;
      };
      const on = run(true);
      const off = run(false);
      for (let k = 0; k < 3; k++) {
        const a = on[k]!;
        const b = off[k]!;
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++) {
          if (!Object.is(a[i], b[i])) expect.fail(`output ${k} element ${i}: ${a[i]} vs ${b[i]}`);
        }
      }
    });
  }
});

describe('Winograd F(4×4): GEMMs over lists of non-zero tiles, same bits', () => {
  // one thread: the switches and the block counter are per thread
  const before = getNumThreads();
  beforeAll(() => setNumThreads(1));
  afterAll(() => {
    setZeroTileLists(true);
    setAsm(true);
    setNumThreads(before);
  });
  // conv2 of the MNIST net at batch 2, gy as in training (97 % zeros: a quarter of the channels
  // dropped, one of four positions passed by the pool, ReLU zeroing some of those), x = ReLU'd
  const s: ConvShape = { x: [2, 32, 26, 26], w: [64, 32, 3, 3], o: {} };
  const sparseInputs = (seed: number) => {
    const inputs = convInputs(Float32Array, s, seed);
    const { p, x, gy } = inputs;
    const P = p.outH * p.outW;
    const r = rng(seed + 1);
    gy.forEach((v, i) => {
      const ch = Math.floor(i / P) % p.cOut;
      const pos = i % P;
      const pooled = Math.floor(pos / p.outW) % 2 === 0 && pos % 2 === 0;
      gy[i] = ch % 4 === 1 ? v * -0 : pooled && r() < 0.07 ? v : r() < 0.5 ? -0 : 0;
    });
    x.forEach((v, i) => (x[i] = v > 0 ? v : 0));
    return inputs;
  };
  const run = (inputs: ReturnType<typeof sparseInputs>, lists: boolean) => {
    setZeroTileLists(lists);
    const { p, x, w, gy } = inputs;
    const y = new Float32Array(p.n * p.cOut * p.outH * p.outW);
    const gx = new Float32Array(x.length);
    const gw = new Float32Array(w.length);
    conv2dForward(y, x, w, null, p);
    conv2dBackwardInput(gx, gy, w, p);
    conv2dBackwardWeight(gw, gy, x, p);
    return [y, gx, gw];
  };
  const sameBits = (a: Float32Array[], b: Float32Array[]) => {
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < a[k]!.length; i++) {
        if (!Object.is(a[k]![i], b[k]![i]))
          expect.fail(`output ${k} element ${i}: ${a[k]![i]} vs ${b[k]![i]}`);
      }
    }
  };

  it('backward-input and backward-weight on a conv2-like gradient: lists on and off, bit for bit', () => {
    setAsm(true);
    const inputs = sparseInputs(1201);
    const blocks = zeroListBlocks();
    const on = run(inputs, true);
    // the lists really ran: not in the forward (x has few zero tiles), in backward-input (two
    // images, two blocks of tiles each) and backward-weight (one chunk of 72 tiles: one block)
    expect(zeroListBlocks() - blocks).toBe(5);
    sameBits(on, run(inputs, false));
  });

  it('a non-finite weight or input turns the lists off: NaN where the dense sums give NaN', () => {
    setAsm(true);
    for (const where of ['w', 'x'] as const) {
      const inputs = sparseInputs(1301);
      if (where === 'w') inputs.w[5] = Infinity;
      else inputs.x[3 * 26 + 4] = -Infinity; // image 0, channel 0
      const on = run(inputs, true);
      const off = run(inputs, false);
      sameBits(on, off);
      expect(on[where === 'w' ? 1 : 2]!.some(Number.isNaN)).toBe(true); // 0 · ±Inf reached a sum
    }
  });
});

describe('thread pool: results are bit-identical for 1 and 2 threads', () => {
  const before = getNumThreads();
  afterAll(() => setNumThreads(before));

  function both<T extends FloatArray>(run: () => T): [T, T] {
    setNumThreads(1);
    const a = run();
    setNumThreads(2);
    const b = run();
    return [a, b];
  }

  const convShapes: ConvShape[] = [
    { x: [9, 16, 12, 12], w: [16, 16, 3, 3], o: { padding: 1 } }, // Winograd
    { x: [7, 4, 10, 9], w: [6, 2, 3, 3], o: { groups: 2, stride: 2, padding: 1 } }, // im2col
    { x: [5, 3, 6, 6], w: [8, 3, 1, 1], o: {} }, // pointwise
    { x: [70, 8, 6, 6], w: [8, 8, 3, 3], o: {} }, // more than 16 weight chunks
    { x: [9, 1, 12, 12], w: [8, 1, 3, 3], o: {} }, // direct 3×3 forward (one input channel)
  ];
  for (const [dt, C] of dtypes) {
    convShapes.forEach((s, si) => {
      it(`conv2d ${dt} ${convLabel(s)}`, () => {
        const { p, x, w, b, gy, ySize } = convInputs(C, s, 900 + si);
        const [y1, y2] = both(() => {
          const y = new C(ySize);
          conv2dForward(y, x, w, b, p);
          return y;
        });
        expect(y2).toEqual(y1);
        expect(poolStatus()).toEqual({ workers: 1, broken: false });
        const [gx1, gx2] = both(() => {
          const g = new C(x.length);
          conv2dBackwardInput(g, gy, w, p);
          return g;
        });
        expect(gx2).toEqual(gx1);
        const [gw1, gw2] = both(() => {
          const g = new C(w.length);
          conv2dBackwardWeight(g, gy, x, p);
          return g;
        });
        expect(gw2).toEqual(gw1);
        const ref = new C(w.length);
        conv2dBackwardWeightNaive(ref, gy, x, p);
        expect(gw1).toBeAllClose(ref, vsNaive(C === Float64Array ? 1e-12 : 2e-5, 1e-4));
      });
    });

    it(`linear ${dt}: k-split forward and column-split backward (9216 → 20, batch 5)`, () => {
      const [batch, inF, outF] = [5, 9216, 20];
      const r = rng(77);
      const x = randomArray(C, batch * inF, r);
      const w = randomArray(C, outF * inF, r);
      const b = randomArray(C, outF, r);
      const gy = randomArray(C, batch * outF, r);
      const [y1, y2] = both(() => {
        const y = new C(batch * outF);
        linearForward(y, x, w, b, batch, inF, outF);
        return y;
      });
      expect(y2).toEqual(y1);
      const yRef = new C(batch * outF);
      linearForwardNaive(yRef, x, w, b, batch, inF, outF);
      expect(y1).toBeAllClose(
        yRef,
        vsNaive(C === Float64Array ? 1e-12 : 1e-4, C === Float64Array ? 1e-12 : 1e-4),
      );
      const run = () => {
        const gx = new C(batch * inF);
        const gw = new C(outF * inF);
        linearBackward(gx, gw, null, gy, x, w, batch, inF, outF);
        return [gx, gw] as const;
      };
      setNumThreads(1);
      const [gx1, gw1] = run();
      setNumThreads(2);
      const [gx2, gw2] = run();
      expect(gx2).toEqual(gx1);
      expect(gw2).toEqual(gw1);
      const gxRef = new C(batch * inF);
      const gwRef = new C(outF * inF);
      linearBackwardNaive(gxRef, gwRef, null, gy, x, w, batch, inF, outF);
      expect(gx1).toBeAllClose(gxRef, vsNaive(1e-4, 1e-5));
      expect(gw1).toBeAllClose(gwRef, vsNaive(1e-4, 1e-5));
    });
  }
});

describe('Winograd F(6×6): uniform tiles reuse a kept tile’s outputs, same bits', () => {
  // one thread unless said: the switch and the counter are per thread
  const before = getNumThreads();
  beforeAll(() => setNumThreads(1));
  afterAll(() => {
    setUniformTileReuse(true);
    setAsm(true);
    setNumThreads(before);
  });
  // 7 images [8, 26, 26] (16 tiles each): every channel a background value (two of them +0, as
  // ReLU leaves them) except each listed tile's 4×4 middle (which no other tile's window reaches),
  // random in one channel; so a tile is uniform when it is not listed and none of the changes
  // below reaches its window
  const ki = 8;
  const mo = 10;
  const uniformTiles = [
    [0, 5, 10], // the first image with one: its first becomes the kept tile, nothing reused
    [...Array(16).keys()], // all 16 reused: no tile computed
    [3], // 15 tiles computed: a last panel of three (panel23)
    [0, 15], // 14: a last panel of two (panel22)
    [1, 2, 7], // 13: a last panel of one (panel22)
    [6, 15], // tile 6's window: −0 in channel 0 (background +0): only tile 15 reused
    [12], // tile 12's window: channel 3 one ulp off the background: nothing reused
  ];
  const expectedReuses = 0 + 16 + 1 + 2 + 3 + 1 + 0;
  const inputs = () => {
    const r = rng(1501);
    const bg = Float32Array.from({ length: ki }, (_, c) => (c % 4 === 1 ? 0 : r() + 0.1));
    const x = new Float32Array(uniformTiles.length * ki * 676);
    uniformTiles.forEach((tiles, i) => {
      for (let c = 0; c < ki; c++) x.fill(bg[c]!, (i * ki + c) * 676, (i * ki + c + 1) * 676);
      const window = (tt: number, c: number, v: (old: number) => number, from = 0, size = 8) => {
        const [ty, tx] = [Math.floor(tt / 4), tt % 4];
        for (let a = from; a < from + size; a++) {
          for (let b = from; b < from + size; b++) {
            const k = (i * ki + c) * 676 + (6 * ty + a) * 26 + 6 * tx + b;
            x[k] = v(x[k]!);
          }
        }
      };
      for (let tt = 0; tt < 16; tt++) if (!tiles.includes(tt)) window(tt, tt % ki, () => r(), 2, 4);
      if (i === 5) window(6, 1, () => -0);
      if (i === 6) window(12, 3, (v) => v * (1 + 2 ** -20));
    });
    const w = randomArray(Float32Array, [mo, ki, 3, 3], r) as Float32Array;
    const b = randomArray(Float32Array, mo, r) as Float32Array;
    return { x, w, b, p: conv2dParams([uniformTiles.length, ki, 26, 26], [mo, ki, 3, 3], {}) };
  };
  const { x, w, b, p } = inputs();
  const pool = maxPool2dParams([p.n, mo, 24, 24], 2, 2, 0, 1, false);
  const forward = (reuse: boolean, pooled: boolean, bias: Float32Array | null) => {
    setUniformTileReuse(reuse);
    const y = new Float32Array(p.n * mo * (pooled ? 144 : 576)).fill(NaN);
    if (pooled) conv2dReluPoolForward(y, x, w, bias, p, pool);
    else conv2dForward(y, x, w, bias, p, true);
    return y;
  };
  const sameBits = (a: Float32Array, b: Float32Array) => {
    expect(a.some(Number.isNaN)).toBe(false); // every output written
    const i = a.findIndex((v, k) => !Object.is(v, b[k]));
    if (i >= 0) expect.fail(`element ${i}: ${a[i]} vs ${b[i]}`);
  };

  it('conv2d forward and conv2d + ReLU + max-pool, asm.js and JavaScript, with and without bias: reuse on and off agree bit for bit; the counted reuses', () => {
    expect(conv2dForwardAlgorithm(p, true)).toBe('winograd6');
    for (const asm of [true, false]) {
      setAsm(asm);
      for (const pooled of [true, false]) {
        for (const bias of [b, null]) {
          const n0 = uniformTileReuses();
          const on = forward(true, pooled, bias);
          expect(uniformTileReuses() - n0).toBe(expectedReuses);
          sameBits(on, forward(false, pooled, bias));
        }
      }
    }
  });

  it('larger images, two tile blocks, zero padding and partial tiles: reuse on and off agree bit for bit', () => {
    // a background with a few random 4×4 patches: most interior tiles uniform; 20 output
    // channels: two blocks of output channels
    for (const [xs, o, patches] of [
      [[2, 8, 54, 54], {}, 3], // 81 tiles (two blocks without reuse, one with it)
      [[1, 8, 54, 54], {}, 40], // most tiles computed: still two blocks
      [[2, 8, 31, 29], { padding: 1 }, 2], // padded border tiles and partial last tiles
    ] as [number[], Conv2dOptions, number][]) {
      const r = rng(1601 + patches);
      const [n, c, h, w] = xs as [number, number, number, number];
      const x = new Float32Array(n * c * h * w);
      for (let k = 0; k < n * c; k++) {
        const bg = (k % c) % 3 === 0 ? 0 : 0.5 + (k % c); // per channel, the same in every image
        x.fill(bg, k * h * w, (k + 1) * h * w);
      }
      for (let k = 0; k < patches * n; k++) {
        const [i, ch] = [k % n, Math.floor(r() * c)];
        const [r0, c0] = [Math.floor(r() * (h - 4)), Math.floor(r() * (w - 4))];
        for (let a = 0; a < 4; a++)
          for (let b = 0; b < 4; b++) x[((i * c + ch) * h + r0 + a) * w + c0 + b] = r() - 0.5;
      }
      const p2 = conv2dParams(xs, [20, c, 3, 3], o);
      expect(conv2dForwardAlgorithm(p2, true)).toBe('winograd6');
      const w2 = randomArray(Float32Array, [20, c, 3, 3], r) as Float32Array;
      const b2 = randomArray(Float32Array, 20, r) as Float32Array;
      const pl = maxPool2dParams([n, 20, p2.outH, p2.outW], 2, 2, 0, 1, false);
      for (const asm of [true, false]) {
        setAsm(asm);
        for (const pooled of [true, false]) {
          const run = (reuse: boolean) => {
            setUniformTileReuse(reuse);
            const size = n * 20 * (pooled ? pl.outH * pl.outW : p2.outH * p2.outW);
            const y = new Float32Array(size).fill(NaN);
            if (pooled) conv2dReluPoolForward(y, x, w2, b2, p2, pl);
            else conv2dForward(y, x, w2, b2, p2, true);
            return y;
          };
          const n0 = uniformTileReuses();
          const on = run(true);
          if (patches < 10) expect(uniformTileReuses() - n0).toBeGreaterThan(0);
          sameBits(on, run(false));
        }
      }
    }
  });

  it('two threads give one thread’s bits', () => {
    setAsm(true);
    const one = forward(true, true, b);
    setNumThreads(2);
    try {
      sameBits(forward(true, true, b), one);
    } finally {
      setNumThreads(1);
    }
  });

  it('a kept tile is not reused under another bias, other weights or a NaN background', () => {
    setAsm(true);
    setUniformTileReuse(true);
    const u = new Float64Array(64 * 12 * ki + 1); // mo = 10 rounds up to 12, plus the stamp
    const wp = { n: p.n, ki, h: 26, w: 26, mo, padH: 0, padW: 0, outH: 24, outW: 24 };
    const pl = { outH: 12, outW: 12 };
    const image = (bias: Float32Array, xs = x) => {
      const y = new Float32Array(mo * 144);
      winograd6ForwardImage(y, xs, u, bias, wp, 1, 0, pl); // image 1: all 16 tiles uniform
      return y;
    };
    const fresh = (bias: Float32Array, xs = x) => {
      setUniformTileReuse(false);
      try {
        return image(bias, xs);
      } finally {
        setUniformTileReuse(true);
      }
    };
    winograd6Weights(u, w, mo, ki);
    image(b); // keeps tile 0
    const n0 = uniformTileReuses();
    sameBits(image(b), fresh(b));
    expect(uniformTileReuses() - n0).toBe(16);
    // the same U stamp, another bias
    const b2 = b.map((v) => v + 0.5);
    sameBits(image(b2), fresh(b2));
    // other weights, transformed into the same buffer (a new stamp)
    winograd6Weights(
      u,
      w.map((v) => -v),
      mo,
      ki,
    );
    sameBits(image(b2), fresh(b2));
    // a NaN background (identical bits in every window) is never kept
    const xn = x.slice();
    xn.fill(NaN, (1 * ki + 2) * 676, (1 * ki + 3) * 676);
    const n1 = uniformTileReuses();
    image(b2, xn);
    image(b2, xn);
    expect(uniformTileReuses() - n1).toBe(0);
  });
});
