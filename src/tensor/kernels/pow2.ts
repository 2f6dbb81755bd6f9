// DeepShift's power-of-two rounding, sign(x)·2^round(log2|x|) with torch.round (half to even),
// and a float32 array kernel for its deterministic form that works on the IEEE bits.
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
