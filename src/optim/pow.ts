/**
 * `x ** n` for a non-negative integer n, rounded like C's `pow` (glibc's is correctly rounded),
 * which is what Python's `beta1 ** step` in `torch.optim` computes. V8's `**` can be 1 ulp off
 * (0.7 ** 4 gives 0.24009999999999992, Python 0.24009999999999995), so the bias corrections of
 * Adam and StepLR's closed form use this instead: binary exponentiation in double-double
 * arithmetic (~100 bits), rounded once at the end.
 */

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp splitting)

/** Exact product a·b = hi + lo (Dekker's two-product without FMA). */
function twoProd(a: number, b: number): [number, number] {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const err = ah * bh - p + ah * bl + al * bh + al * bl;
  return [p, err];
}

/** (ah + al)·(bh + bl) in double-double. */
function ddMul(ah: number, al: number, bh: number, bl: number): [number, number] {
  const [p, e] = twoProd(ah, bh);
  const lo = e + (ah * bl + al * bh);
  const hi = p + lo;
  return [hi, lo - (hi - p)];
}

export function powInt(x: number, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 || !Number.isFinite(x) || x === 0) return x ** n;
  // stay clear of overflow/underflow in the splitting, where double-double loses its extra bits
  const approx = x ** n;
  if (
    !(Math.abs(approx) > 1e-290 && Math.abs(approx) < 1e290) ||
    Math.abs(x) > 1e150 ||
    Math.abs(x) < 1e-150
  )
    return approx;
  let rh = 1;
  let rl = 0;
  let bh = x;
  let bl = 0;
  let k = n;
  while (k > 0) {
    if (k & 1) [rh, rl] = ddMul(rh, rl, bh, bl);
    k >>>= 1;
    if (k > 0) [bh, bl] = ddMul(bh, bl, bh, bl);
  }
  return rh + rl;
}
