/**
 * Seeded test inputs. Tensors: float64 leaves drawn from one module-level Generator (each test file
 * reseeds it, so inputs do not depend on test order). Kernel tests: plain typed arrays from a small
 * seeded PRNG, independent of the library's own generator.
 */
import { Generator, Tensor, rand, randn, tensor } from '../../src/index.ts';
import type { FloatArray } from '../../src/tensor/kernels/types.ts';

let gen = new Generator(1234);

/** Reseed the helper generator. */
export function reseed(seed: number): void {
  gen = new Generator(seed);
}

/** Standard normal float64 leaf, requiring grad unless told otherwise. */
export function normal(shape: number[], requiresGrad = true): Tensor {
  return randn(shape, { dtype: 'float64', generator: gen, requiresGrad });
}

/** Uniform in [lo, hi) float64 leaf requiring grad. */
export function uniform(shape: number[], lo = -1, hi = 1): Tensor {
  return rand(shape, { dtype: 'float64', generator: gen })
    .mul(hi - lo)
    .add(lo)
    .detach()
    .requiresGrad_();
}

/** Values with |x| in [0.2, 1.2) and random signs: far from the kinks of abs/relu/sign/clamp. */
export function awayFromZero(shape: number[]): Tensor {
  const mag = rand(shape, { dtype: 'float64', generator: gen }).add(0.2);
  const sign = rand(shape, { dtype: 'float64', generator: gen })
    .gt(0.5)
    .to('float64')
    .mul(2)
    .sub(1);
  return mag.mul(sign).detach().requiresGrad_();
}

/**
 * Distinct values requiring grad (a shuffled ramp of spacing `step`, each value jittered by up to
 * `jitter`): no ties for max/min/maximum/max-pool gradchecks.
 */
export function distinct(shape: number[], step = 0.3, jitter = 0.05): Tensor {
  const n = shape.reduce((p, s) => p * s, 1);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = gen.int(0, i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const data = perm.map((p) => (p - n / 2) * step + jitter * gen.uniform64());
  return tensor(data, { dtype: 'float64', shape, requiresGrad: true });
}

/** Integer class labels in [0, classes). */
export function labels(n: number, classes: number): Tensor {
  return tensor(
    Array.from({ length: n }, () => gen.int(0, classes)),
    { dtype: 'int32' },
  );
}

// ---- typed arrays for the kernel tests ---------------------------------------------------------

export type FloatCtor = Float32ArrayConstructor | Float64ArrayConstructor;

/** A seeded uniform [0, 1) source (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform [−1, 1) values: `size` of them, or as many as the product of a shape. */
export function randomArray(
  C: FloatCtor,
  size: number | readonly number[],
  r: () => number,
): FloatArray {
  const n = typeof size === 'number' ? size : size.reduce((a, b) => a * b, 1);
  const a = new C(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}
