/** Shared helpers for the nn tests: seeded float64 leaves and PyTorch fixture loading. */
import { readFileSync } from 'node:fs';
import { Generator, Tensor, rand, randn, tensor } from '../../src/index.ts';

let gen = new Generator(1234);

/** Reseed the helper generator (each file calls this so inputs do not depend on test order). */
export function reseed(seed: number): void {
  gen = new Generator(seed);
}

/** Standard normal float64 leaf requiring grad. */
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

/** Distinct values (a shuffled, jittered ramp) requiring grad: no ties for max-pool gradchecks. */
export function distinct(shape: number[]): Tensor {
  const n = shape.reduce((p, s) => p * s, 1);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = gen.int(0, i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const data = perm.map((p) => (p - n / 2) * 0.1 + 0.02 * gen.uniform64());
  return tensor(data, { dtype: 'float64', shape, requiresGrad: true });
}

/** Integer class labels in [0, classes). */
export function labels(n: number, classes: number): Tensor {
  return tensor(
    Array.from({ length: n }, () => gen.int(0, classes)),
    { dtype: 'int32' },
  );
}

// ---- PyTorch golden vectors (test/fixtures, format in /work/shared/golden/README.md) ----------

export interface Json {
  shape: number[];
  data: (number | string)[];
  dtype?: string;
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** A fixture tensor: float64 (optionally requiring grad), or int32 for int64 class indices. */
export function fromJson(t: Json, requiresGrad = false): Tensor {
  const values = t.data.map(Number);
  if (t.dtype === 'int64') return tensor(values, { dtype: 'int32', shape: t.shape });
  return tensor(values, { dtype: 'float64', shape: t.shape, requiresGrad });
}
