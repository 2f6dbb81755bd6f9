/** Shared inputs for the autograd tests: seeded float64 tensors that require grad. */
import { Generator, Tensor, randn, rand, tensor } from '../../src/index.ts';

let gen = new Generator(1234);

/** Reseed the helper generator (each test file calls this so inputs do not depend on test order). */
export function reseed(seed: number): void {
  gen = new Generator(seed);
}

/** Standard normal float64 leaf requiring grad. */
export function normal(shape: number[]): Tensor {
  return randn(shape, { dtype: 'float64', generator: gen, requiresGrad: true });
}

/** Uniform in [lo, hi) float64 leaf requiring grad. */
export function uniform(shape: number[], lo: number, hi: number): Tensor {
  const u = rand(shape, { dtype: 'float64', generator: gen });
  return u
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

/** Distinct values (a shuffled, jittered ramp): no ties for max/min/maximum gradchecks. */
export function distinct(shape: number[]): Tensor {
  const n = shape.reduce((p, s) => p * s, 1);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = gen.int(0, i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return tensor(
    perm.map((p) => (p - n / 2) * 0.3 + 0.05 * gen.uniform64()),
    { dtype: 'float64', shape, requiresGrad: true },
  );
}

export function f64(data: Parameters<typeof tensor>[0], requiresGrad = false): Tensor {
  return tensor(data, { dtype: 'float64', requiresGrad });
}
