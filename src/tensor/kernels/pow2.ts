// DeepShift's power-of-two rounding, sign(x)·2^round(log2|x|) with torch.round (half to even),
// and a float32 array kernel for its deterministic form that works on the IEEE bits; and the
// DeepShift-PS weight W = 2^round(shift)·sign(round(sign)) of float32 parameters, forward and
// backward, split across the thread pool when the arrays are shared.
//
// On a float32 tensor PyTorch computes every step in float32: log2|x| is rounded to float32
// before it is rounded to an integer, so the cut-over between 2^e and 2^(e+1) lies near, not at,
// √2·2^e, and where depends on e (the float32 spacing of log2|x| grows with |e|). Within one
// binade [2^e, 2^(e+1)) the result can only be 2^e or 2^(e+1), and it never decreases as |x|
// grows (log2, the float32 rounding, round and 2^r all are monotonic), so one threshold per
// exponent decides it: the first mantissa whose result is the upper power, found by bisection
// with the scalar definition the first time that exponent is met. Per element that leaves a table
// lookup and an integer compare in place of a log2 and a power (the crude-Q net rounds its 1.2 M
// fc1 weights before every forward). Zeros, subnormals, infinities and NaN take the scalar
// definition.

import { parallelFor, registerTask, threadedOnShared } from './parallel.ts';

/** torch.round on one value: nearest integer, ties to even (2.5 → 2, −3.5 → −4, −0.5 → −0). */
export function roundHalfEven(x: number): number {
  let r = Math.round(x); // ties go towards +∞
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

/** sign with sign(0) = 0 (and +0 for −0, as torch.sign), NaN kept. */
export function signOf(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN;
}

/**
 * sign(x)·2^r(log2|x|) for a rounding `r` of the exponent, in float32 arithmetic (`f32`: each
 * step rounded with Math.fround, as a float32 tensor's kernels round) or float64; 0 gives +0.
 */
export function powerOf2With(x: number, f32: boolean, r: (v: number) => number): number {
  const s = signOf(x);
  if (s === 0 || Number.isNaN(s)) return s; // log2(0) = −inf → 2^−inf · 0 = 0
  if (!f32) return 2 ** r(Math.log2(Math.abs(x))) * s;
  return Math.fround(Math.fround(2 ** r(Math.fround(Math.log2(Math.abs(x))))) * s);
}

const MANT = 0x7fffff;
// per biased exponent E (1 … 254): the first mantissa rounding up (-1: not computed yet), and the
// bits of the two results
const threshold = new Int32Array(256).fill(-1);
const lowBits = new Int32Array(256);
const highBits = new Int32Array(256);
const one = new Float32Array(1);
const oneBits = new Int32Array(one.buffer);

// bits of the scalar definition's result for the positive float32 with bits b
function scalarBits(b: number): number {
  oneBits[0] = b;
  one[0] = powerOf2With(one[0]!, true, roundHalfEven);
  return oneBits[0]!;
}

function binade(E: number): number {
  const base = E << 23;
  const lo = scalarBits(base);
  const hi = scalarBits(base | MANT);
  // first mantissa m with result hi (MANT + 1: none); the result is lo below it
  let a = 0;
  let b = MANT + 1;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (scalarBits(base | m) === hi) b = m;
    else a = m + 1;
  }
  lowBits[E] = lo;
  highBits[E] = hi;
  threshold[E] = a;
  return a;
}

/**
 * y[i] = sign(x[i])·2^round(log2|x[i]|) for i < n, float32 arithmetic, round half to even: the
 * scalar definition's values bit for bit. y may be x (in place).
 */
export function roundPowerOf2F32(y: Float32Array, x: Float32Array, n: number): void {
  const xb = new Int32Array(x.buffer, x.byteOffset, n);
  const yb = new Int32Array(y.buffer, y.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const v = xb[i]!;
    const E = (v >>> 23) & 0xff;
    if (E === 0 || E === 0xff) {
      y[i] = powerOf2With(x[i]!, true, roundHalfEven);
      continue;
    }
    let t = threshold[E]!;
    if (t < 0) t = binade(E);
    // mantissa below the threshold: all ones (pick low), else zero (pick high); no branch
    const below = ((v & MANT) - t) >> 31;
    const lo = lowBits[E]!;
    const hi = highBits[E]!;
    yb[i] = (hi ^ ((hi ^ lo) & below)) | (v & 0x80000000);
  }
}

// ------------------------------------------------------------------ DeepShift-PS weight

const HALF_BITS = 0x3f000000; // float32 0.5
const ROUNDER = 6755399441055744; // 1.5·2^52: x + ROUNDER − ROUNDER rounds x half to even
const TWO51 = 2 ** 51; // … for |x| below this
const POW2_BIAS = 160;
/** 2^k for integer k in [−160, 160] (exact; beyond float32's range either way). */
const POW2 = Float64Array.from({ length: 2 * POW2_BIAS + 1 }, (_, i) => 2 ** (i - POW2_BIAS));

/** Elements per chunk of the threaded PS weight kernels (fixed: any thread count, same work). */
const PS_CHUNK = 1 << 16;

/**
 * w[i] = 2^round(s[i]) · sign(round(g[i])) for i < n (rounding half to even; sign(0) = +0, NaN
 * kept): the DeepShift-PS weight of float32 shift and sign parameters, on the IEEE bits.
 */
export function psWeightF32(w: Float32Array, s: Float32Array, g: Float32Array, n: number): void {
  const chunks = Math.ceil(n / PS_CHUNK);
  if (threadedOnShared(chunks, w, s, g)) {
    parallelFor('ps.weight', [w, s, g, n], chunks);
    return;
  }
  psWeightRange(w, s, g, 0, n);
}

registerTask('ps.weight', (a, c) => {
  const i0 = c * PS_CHUNK;
  psWeightRange(a[0], a[1], a[2], i0, Math.min(i0 + PS_CHUNK, a[3] as number));
});

// W's float32 bits built directly, without a branch on the (random) signs: sign(round(g)) is ±1
// exactly when |g| > 0.5 (magnitude bits above those of 0.5; a tie rounds to even, 0), so W =
// (g's sign bit | the exponent bits of 2^k) under an all-ones mask, else +0. A shift outside
// float32's normal exponents or a NaN takes the arithmetic path. On fc1's 1.2 M weights (ad-hoc,
// one thread) the loop took 17–20 ms with `roundHalfEven` (Math.round and a tie check) and
// 5–10 ms rounding by an add.
function psWeightRange(w: Float32Array, s: Float32Array, g: Float32Array, i0: number, i1: number) {
  const gb = new Int32Array(g.buffer, g.byteOffset, g.length);
  const wb = new Int32Array(w.buffer, w.byteOffset, w.length);
  for (let i = i0; i < i1; i++) {
    const x = s[i]!;
    const b = gb[i]!;
    const mag = b & 0x7fffffff;
    if (x > -TWO51 && x < TWO51 && mag <= 0x7f800000) {
      // round half to even by the add's own rounding: x + 1.5·2^52 lands on an integer
      const r = x + ROUNDER - ROUNDER;
      if (r >= -126 && r <= 127) {
        wb[i] = ((HALF_BITS - mag) >> 31) & ((b & 0x80000000) | ((r + 127) << 23));
        continue;
      }
    }
    const k = roundHalfEven(x);
    const p = k >= -POW2_BIAS && k <= POW2_BIAS ? POW2[k + POW2_BIAS]! : 2 ** k;
    let sg = ((HALF_BITS - mag) >>> 31) * (1 - 2 * (b >>> 31)) + 0; // + 0: no −0
    if (mag > 0x7f800000) sg = NaN; // NaN sign stays NaN
    w[i] = p * sg;
  }
}

/**
 * gShift[i] = gW[i] · fround(W[i] · ln 2) for i < n: the shift gradient of the PS weight (dW/dshift
 * = W·ln 2 through the rounding STE, rounded to float32 as a stored factor would be).
 */
export function psWeightGradF32(
  gShift: Float32Array,
  gW: Float32Array,
  w: Float32Array,
  n: number,
) {
  const chunks = Math.ceil(n / PS_CHUNK);
  if (threadedOnShared(chunks, gShift, gW, w)) {
    parallelFor('ps.grad', [gShift, gW, w, n], chunks);
    return;
  }
  psGradRange(gShift, gW, w, 0, n);
}

registerTask('ps.grad', (a, c) => {
  const i0 = c * PS_CHUNK;
  psGradRange(a[0], a[1], a[2], i0, Math.min(i0 + PS_CHUNK, a[3] as number));
});

function psGradRange(gs: Float32Array, g: Float32Array, w: Float32Array, i0: number, i1: number) {
  for (let i = i0; i < i1; i++) gs[i] = g[i]! * Math.fround(w[i]! * Math.LN2);
}
