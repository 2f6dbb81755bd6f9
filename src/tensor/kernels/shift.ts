// Multiplication-free DeepShift inference kernels on Int32 fixed point.
//
// Numbers
//   Activations and biases are signed fixed point Q(I.F): q = clamp(floor(v·2^F), −2^(I+F−1),
//   2^(I+F−1) − 1) in an Int32Array (I + F ≤ 32; default 16.16 like DeepShift). Rounding is
//   FLOOR (DeepShift's round_to_fixed and ste.roundFixedPoint), out-of-range values SATURATE,
//   NaN becomes 0.
//   Weights are w = sign·2^shift with sign ∈ {−1, 0, +1} and shift ∈ [−31, 0] (PS: [−14, 0],
//   Q: [−15, 0]); zero-sign weights are skipped. A weight is applied as an arithmetic right
//   shift by r = −shift.
//
// Semantics of one output (linear: k over inF; conv: k over (c, u, v) of the receptive field)
//   y = b + Σ_r ( (Σ_{k: sign=+1, r_k=r} x_k − Σ_{k: sign=−1, r_k=r} x_k) >> r )
//   i.e. terms are GROUPED BY SHIFT: each group is a run of integer adds and subtracts, then one
//   arithmetic shift (= floor(S·2^−r)), then the group results and the bias are added.
//   This rounds once per group, not once per term (per-term shifting would floor each x_k·2^−r).
//   Overflow: every addition/subtraction WRAPS modulo 2^32 (two's complement, `| 0`), so the
//   result is independent of the order of terms inside a group and of the order of groups.
//   Without wrap-around the result equals the float64 simulation `shiftLinearFloatSim`.
//
// Layout of the tuned path (same for linear and conv):
//   Y[o, j] = bias[o] + Σ_groups(o) ((Σ± X[k, j]) >> r)            X [K, J], Y [O, J]
//   The weight becomes a ShiftPlan: per output row the non-empty (shift) groups, each a run of
//   + column indices then a run of − column indices (CSR-like, Int32 indices).
//   X is packed into panels of 8 columns (panel[k·8 + jj]; the last J mod 8 columns as single
//   contiguous columns), so one index load feeds 8 independent integer accumulators.
//   linear: X = xᵀ (K = inF, J = batch); conv2d: X = int32 im2col of one image and group
//   (K = cInG·kh·kw, J = outH·outW), zero padding only.
// The inner loops contain loads, integer adds/subtracts, `| 0` and `>>` only — no `*` on data.

import type { FloatArray } from './types.ts';
import type { Conv2dParams } from './conv2d.ts';
import type { MaxPool2dParams } from './pool.ts';

/** Signed fixed point: `integerBits` (sign included) + `fractionBits`, at most 32 in total. */
export interface FixedPointFormat {
  integerBits: number;
  fractionBits: number;
}

export const DEFAULT_FIXED_POINT: Readonly<FixedPointFormat> = {
  integerBits: 16,
  fractionBits: 16,
};

/** Throws unless I ≥ 1, F ≥ 0 and I + F ≤ 32 (integers). */
export function checkFixedPoint(fmt: FixedPointFormat): void {
  const { integerBits: i, fractionBits: f } = fmt;
  if (!Number.isInteger(i) || !Number.isInteger(f) || i < 1 || f < 0 || i + f > 32) {
    throw new Error(
      `fixed point: need integers integerBits >= 1, fractionBits >= 0, integerBits + fractionBits <= 32, got ${i}, ${f}`,
    );
  }
}

/** Smallest and largest representable integer code of a format. */
export function fixedPointRange(fmt: FixedPointFormat): [number, number] {
  const total = fmt.integerBits + fmt.fractionBits;
  return [-(2 ** (total - 1)), 2 ** (total - 1) - 1];
}

/** q[i] = clamp(floor(x[i]·2^F), lo, hi) for i < len; NaN → 0. */
export function toFixedPoint(
  q: Int32Array,
  x: ArrayLike<number>,
  len: number,
  fmt: FixedPointFormat = DEFAULT_FIXED_POINT,
): void {
  checkFixedPoint(fmt);
  const scale = 2 ** fmt.fractionBits;
  const [lo, hi] = fixedPointRange(fmt);
  for (let i = 0; i < len; i++) {
    const v = Math.floor(x[i]! * scale);
    q[i] = v > hi ? hi : v < lo ? lo : v === v ? v : 0;
  }
}

/** x[i] = q[i]·2^−F (exact in float64; float32 rounds values above 2^24 codes). */
export function fromFixedPoint(
  x: FloatArray,
  q: Int32Array,
  len: number,
  fractionBits = DEFAULT_FIXED_POINT.fractionBits,
): void {
  const inv = 2 ** -fractionBits;
  for (let i = 0; i < len; i++) x[i] = q[i]! * inv;
}

// ------------------------------------------------------------------------------- weights

/** Weights as (sign, shift) codes: sign ∈ {−1, 0, 1}, shift ∈ [−31, 0] (ignored where sign = 0). */
export interface ShiftCodes {
  sign: Int8Array;
  shift: Int8Array;
}

/**
 * Decodes float weights that are exactly 0 or ±2^k (k ∈ [−31, 0]) into (sign, shift) codes; any
 * other value throws (index and value in the message). Zero weights get shift 0.
 */
export function shiftCodesFromFloat(w: ArrayLike<number>, len = w.length): ShiftCodes {
  const sign = new Int8Array(len);
  const shift = new Int8Array(len);
  for (let i = 0; i < len; i++) {
    const v = w[i]!;
    if (v === 0) continue;
    const k = Math.log2(Math.abs(v));
    if (!Number.isInteger(k) || k > 0 || k < -31) {
      throw new Error(
        `shift weights: weight ${i} = ${v} is not 0 or ±2^k with k in [-31, 0] (multiplication-free kernels need sign·2^shift weights)`,
      );
    }
    sign[i] = v > 0 ? 1 : -1;
    shift[i] = k;
  }
  return { sign, shift };
}

/**
 * A [rows, cols] shift weight prepared for the tuned kernels. Row o owns groups
 * rowGroup[o] … rowGroup[o+1]−1; group g applies right shift gShift[g] to
 *   Σ_{t ∈ [gStart[g], gMid[g])} X[index[t], j] − Σ_{t ∈ [gMid[g], gStart[g+1])} X[index[t], j].
 */
export interface ShiftPlan {
  rows: number;
  cols: number;
  rowGroup: Int32Array;
  gShift: Int32Array;
  gStart: Int32Array;
  gMid: Int32Array;
  index: Int32Array;
  /** Number of non-zero weights (= index.length). */
  nnz: number;
}

/** Bytes a kernel call reads from a plan (index lists + group tables). */
export function shiftPlanBytes(p: ShiftPlan): number {
  return (
    p.index.byteLength +
    p.rowGroup.byteLength +
    p.gShift.byteLength +
    p.gStart.byteLength +
    p.gMid.byteLength
  );
}

/** Builds the grouped index lists of a [rows, cols] weight (groups by ascending r, then +, then −). */
export function shiftPlan(codes: ShiftCodes, rows: number, cols: number): ShiftPlan {
  const { sign, shift } = codes;
  if (sign.length < rows * cols || shift.length < rows * cols)
    throw new Error(`shiftPlan: codes hold ${sign.length} weights, need ${rows}×${cols}`);
  let nnz = 0;
  let nGroups = 0;
  const cnt = new Int32Array(64); // [r·2 + (sign < 0)]
  for (let o = 0; o < rows; o++) {
    cnt.fill(0);
    for (let k = 0, i = o * cols; k < cols; k++, i++) {
      const s = sign[i]!;
      if (s === 0) continue;
      const r = checkShift(shift[i]!, i);
      cnt[2 * r + (s < 0 ? 1 : 0)]++;
      nnz++;
    }
    for (let r = 0; r < 32; r++) if (cnt[2 * r]! + cnt[2 * r + 1]! > 0) nGroups++;
  }
  const rowGroup = new Int32Array(rows + 1);
  const gShift = new Int32Array(nGroups);
  const gStart = new Int32Array(nGroups + 1);
  const gMid = new Int32Array(nGroups);
  const index = new Int32Array(nnz);
  const pos = new Int32Array(64);
  let g = 0;
  let t = 0;
  for (let o = 0; o < rows; o++) {
    rowGroup[o] = g;
    cnt.fill(0);
    for (let k = 0, i = o * cols; k < cols; k++, i++) {
      const s = sign[i]!;
      if (s !== 0) cnt[2 * -shift[i]! + (s < 0 ? 1 : 0)]++;
    }
    for (let r = 0; r < 32; r++) {
      const np = cnt[2 * r]!;
      const nn = cnt[2 * r + 1]!;
      if (np + nn === 0) continue;
      gShift[g] = r;
      gStart[g] = t;
      gMid[g] = t + np;
      pos[2 * r] = t;
      pos[2 * r + 1] = t + np;
      t += np + nn;
      g++;
    }
    for (let k = 0, i = o * cols; k < cols; k++, i++) {
      const s = sign[i]!;
      if (s !== 0) index[pos[2 * -shift[i]! + (s < 0 ? 1 : 0)]++] = k;
    }
  }
  rowGroup[rows] = g;
  gStart[nGroups] = t;
  return { rows, cols, rowGroup, gShift, gStart, gMid, index, nnz };
}

function checkShift(k: number, i: number): number {
  if (!(k <= 0 && k >= -31))
    throw new Error(`shift weights: shift ${k} of weight ${i} is outside [-31, 0]`);
  return -k;
}

// ------------------------------------------------------------------------------- core

const PW = 8; // panel width

/** Packed size of a [K, J] matrix in panel layout. */
export const packedSize = (K: number, J: number): number => K * J;

/**
 * Packs X[k, j] = src[off + k·ks + j·js] (k < K, j < J) into panels: columns j0 … j0+7 of a full
 * panel at dst[j0·K + k·8 + (j − j0)]; each of the last J mod 8 columns contiguous at dst[j·K + k].
 */
export function packShiftPanels(
  dst: Int32Array,
  src: Int32Array,
  off: number,
  ks: number,
  js: number,
  K: number,
  J: number,
): void {
  const full = J - (J % PW);
  for (let j0 = 0; j0 < full; j0 += PW) {
    let d = j0 * K;
    const s0 = off + j0 * js;
    if (js === 1) {
      for (let k = 0; k < K; k++) {
        const s = s0 + k * ks;
        for (let jj = 0; jj < PW; jj++) dst[d++] = src[s + jj]!;
      }
    } else {
      for (let k = 0; k < K; k++) {
        const s = s0 + k * ks;
        for (let jj = 0; jj < PW; jj++) dst[d++] = src[s + jj * js]!;
      }
    }
  }
  for (let j = full; j < J; j++) {
    let d = j * K;
    const s = off + j * js;
    for (let k = 0; k < K; k++) dst[d++] = src[s + k * ks]!;
  }
}

// prettier-ignore
// Rows o0 … o1−1 of Y over the 8 columns of one panel (xp at xOff), Y[o, jj] at y[yOff + o·yos + jj·yjs].
function micro8(
  y: Int32Array, yOff: number, yos: number, yjs: number,
  xp: Int32Array, xOff: number, plan: ShiftPlan, bias: Int32Array | null, bOff: number,
  o0: number, o1: number,
): void {
  const { rowGroup, gShift, gStart, gMid, index } = plan;
  for (let o = o0; o < o1; o++) {
    const b = bias === null ? 0 : bias[bOff + o]!;
    let a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
    const gEnd = rowGroup[o + 1]!;
    for (let g = rowGroup[o]!; g < gEnd; g++) {
      const r = gShift[g]!;
      const mid = gMid[g]!;
      const end = gStart[g + 1]!;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      let t = gStart[g]!;
      for (; t < mid; t++) {
        const p = xOff + (index[t]! << 3);
        s0 = (s0 + xp[p]!) | 0; s1 = (s1 + xp[p + 1]!) | 0;
        s2 = (s2 + xp[p + 2]!) | 0; s3 = (s3 + xp[p + 3]!) | 0;
        s4 = (s4 + xp[p + 4]!) | 0; s5 = (s5 + xp[p + 5]!) | 0;
        s6 = (s6 + xp[p + 6]!) | 0; s7 = (s7 + xp[p + 7]!) | 0;
      }
      for (; t < end; t++) {
        const p = xOff + (index[t]! << 3);
        s0 = (s0 - xp[p]!) | 0; s1 = (s1 - xp[p + 1]!) | 0;
        s2 = (s2 - xp[p + 2]!) | 0; s3 = (s3 - xp[p + 3]!) | 0;
        s4 = (s4 - xp[p + 4]!) | 0; s5 = (s5 - xp[p + 5]!) | 0;
        s6 = (s6 - xp[p + 6]!) | 0; s7 = (s7 - xp[p + 7]!) | 0;
      }
      a0 = (a0 + (s0 >> r)) | 0; a1 = (a1 + (s1 >> r)) | 0;
      a2 = (a2 + (s2 >> r)) | 0; a3 = (a3 + (s3 >> r)) | 0;
      a4 = (a4 + (s4 >> r)) | 0; a5 = (a5 + (s5 >> r)) | 0;
      a6 = (a6 + (s6 >> r)) | 0; a7 = (a7 + (s7 >> r)) | 0;
    }
    const q = yOff + o * yos;
    y[q] = a0; y[q + yjs] = a1; y[q + 2 * yjs] = a2; y[q + 3 * yjs] = a3;
    y[q + 4 * yjs] = a4; y[q + 5 * yjs] = a5; y[q + 6 * yjs] = a6; y[q + 7 * yjs] = a7;
  }
}

// One contiguous column (xp at xOff, X[k] = xp[xOff + k]).
// prettier-ignore
function micro1(
  y: Int32Array, yOff: number, yos: number,
  xp: Int32Array, xOff: number, plan: ShiftPlan, bias: Int32Array | null, bOff: number,
  o0: number, o1: number,
): void {
  const { rowGroup, gShift, gStart, gMid, index } = plan;
  for (let o = o0; o < o1; o++) {
    let a = bias === null ? 0 : bias[bOff + o]!;
    const gEnd = rowGroup[o + 1]!;
    for (let g = rowGroup[o]!; g < gEnd; g++) {
      const mid = gMid[g]!;
      const end = gStart[g + 1]!;
      let s = 0;
      let t = gStart[g]!;
      for (; t < mid; t++) s = (s + xp[xOff + index[t]!]!) | 0;
      for (; t < end; t++) s = (s - xp[xOff + index[t]!]!) | 0;
      a = (a + (s >> gShift[g]!)) | 0;
    }
    y[yOff + o * yos] = a;
  }
}

/**
 * Y[o, j] = bias[bOff + o] + Σ_groups(o) ((Σ± X[k, j]) >> r) for rows o0 … o1−1 of `plan` and
 * j < J, with X packed by `packShiftPanels` (K = plan.cols) and Y[o, j] at y[yOff + o·yos + j·yjs].
 */
export function shiftMatmulPacked(
  y: Int32Array,
  yOff: number,
  yos: number,
  yjs: number,
  xp: Int32Array,
  plan: ShiftPlan,
  bias: Int32Array | null,
  bOff: number,
  o0: number,
  o1: number,
  J: number,
): void {
  const K = plan.cols;
  const full = J - (J % PW);
  for (let j0 = 0; j0 < full; j0 += PW) {
    micro8(y, yOff + j0 * yjs, yos, yjs, xp, j0 * K, plan, bias, bOff, o0, o1);
  }
  for (let j = full; j < J; j++)
    micro1(y, yOff + j * yjs, yos, xp, j * K, plan, bias, bOff, o0, o1);
}

let packBuf = new Int32Array(1024);
let colBuf = new Int32Array(1024);

function scratch(n: number, which: 'pack' | 'col'): Int32Array {
  if (which === 'pack') {
    if (packBuf.length < n) packBuf = new Int32Array(n);
    return packBuf;
  }
  if (colBuf.length < n) colBuf = new Int32Array(n);
  return colBuf;
}

// ------------------------------------------------------------------------------- linear

/**
 * y[batch, outF] = x[batch, inF] ⊛ W + b in fixed point, W [outF, inF] given as a plan
 * (rows = outF, cols = inF); b [outF] fixed point or null. Semantics: see the file header.
 */
export function shiftLinear(
  y: Int32Array,
  x: Int32Array,
  plan: ShiftPlan,
  bias: Int32Array | null,
  batch: number,
): void {
  const inF = plan.cols;
  const outF = plan.rows;
  if (x.length < batch * inF || y.length < batch * outF)
    throw new Error(`shiftLinear: buffers too small for batch ${batch}, ${inF} -> ${outF}`);
  if (batch === 1) {
    micro1(y, 0, 1, x, 0, plan, bias, 0, 0, outF);
    return;
  }
  const xp = scratch(inF * batch, 'pack');
  packShiftPanels(xp, x, 0, 1, inF, inF, batch); // X[k, j] = x[j, k]
  shiftMatmulPacked(y, 0, 1, outF, xp, plan, bias, 0, 0, outF, batch);
}

/** Per-element reference for `shiftLinear` (codes, no plan): buckets per shift, then one shift each. */
export function shiftLinearNaive(
  y: Int32Array,
  x: Int32Array,
  codes: ShiftCodes,
  bias: Int32Array | null,
  batch: number,
  inF: number,
  outF: number,
): void {
  const S = new Int32Array(32);
  for (let r = 0; r < batch; r++) {
    for (let o = 0; o < outF; o++) {
      S.fill(0);
      for (let i = 0; i < inF; i++) {
        const wi = o * inF + i;
        const s = codes.sign[wi]!;
        if (s === 0) continue;
        const sh = checkShift(codes.shift[wi]!, wi);
        const v = x[r * inF + i]!;
        S[sh] = s > 0 ? (S[sh]! + v) | 0 : (S[sh]! - v) | 0;
      }
      let a = bias === null ? 0 : bias[o]!;
      for (let sh = 0; sh < 32; sh++) a = (a + (S[sh]! >> sh)) | 0;
      y[r * outF + o] = a;
    }
  }
}

/**
 * Float64 simulation of `shiftLinear` on real values: xq = fixed-point(x), bq = fixed-point(b),
 * y = bq + Σ_r floor_F(2^−r·(Σ₊ xq − Σ₋ xq)), floor_F = floor to a multiple of 2^−F. Equals the
 * integer kernel (÷ 2^F) whenever no partial sum leaves the Int32 range. Only float arithmetic.
 */
export function shiftLinearFloatSim(
  y: Float64Array,
  x: ArrayLike<number>,
  codes: ShiftCodes,
  bias: ArrayLike<number> | null,
  batch: number,
  inF: number,
  outF: number,
  fmt: FixedPointFormat = DEFAULT_FIXED_POINT,
): void {
  const xq = quantizeFloat(x, batch * inF, fmt);
  const bq = bias === null ? null : quantizeFloat(bias, outF, fmt);
  const S = new Float64Array(32);
  for (let r = 0; r < batch; r++) {
    for (let o = 0; o < outF; o++) {
      S.fill(0);
      for (let i = 0; i < inF; i++) {
        const wi = o * inF + i;
        const s = codes.sign[wi]!;
        if (s !== 0) S[-codes.shift[wi]!] += s * xq[r * inF + i]!;
      }
      y[r * outF + o] = (bq === null ? 0 : bq[o]!) + sumGroups(S, fmt.fractionBits);
    }
  }
}

function quantizeFloat(x: ArrayLike<number>, len: number, fmt: FixedPointFormat): Float64Array {
  const scale = 2 ** fmt.fractionBits;
  const lo = -(2 ** (fmt.integerBits - 1));
  const hi = 2 ** (fmt.integerBits - 1) - 1 / scale;
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    const v = Math.floor(x[i]! * scale) / scale;
    out[i] = v > hi ? hi : v < lo ? lo : v === v ? v : 0;
  }
  return out;
}

function sumGroups(S: Float64Array, fractionBits: number): number {
  const scale = 2 ** fractionBits;
  let a = 0;
  for (let r = 0; r < 32; r++) if (S[r] !== 0) a += Math.floor(S[r]! * 2 ** -r * scale) / scale;
  return a;
}

// ------------------------------------------------------------------------------- conv2d

function checkZeros(op: string, p: Conv2dParams): void {
  if (p.paddingMode !== 'zeros')
    throw new Error(`${op}: only paddingMode 'zeros' is supported, got '${p.paddingMode}'`);
}

// col[(c·kh + u)·kw + v, oh·outW + ow] = x̂[xOff + c plane, ih, iw] (0 outside), [K, P] row-major.
function im2colInt(col: Int32Array, x: Int32Array, xOff: number, cInG: number, p: Conv2dParams) {
  const { h, w, kh, kw, outH, outW, strideH, strideW, padH, padW, dilH, dilW } = p;
  let d = 0;
  for (let c = 0; c < cInG; c++) {
    const xc = xOff + c * h * w;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH - padH + u * dilH;
          if (ih < 0 || ih >= h) {
            col.fill(0, d, d + outW);
            d += outW;
            continue;
          }
          const xr = xc + ih * w;
          for (let ow = 0; ow < outW; ow++) {
            const iw = ow * strideW - padW + v * dilW;
            col[d++] = iw < 0 || iw >= w ? 0 : x[xr + iw]!;
          }
        }
      }
    }
  }
}

/**
 * y[n, cOut, outH, outW] = conv2d(x[n, cIn, h, w], W) + b in fixed point; W [cOut, cIn/groups,
 * kh, kw] as a plan (rows = cOut, cols = cIn/groups·kh·kw); stride, padding (zeros), dilation,
 * groups as in `p`. Semantics: see the file header.
 */
export function shiftConv2d(
  y: Int32Array,
  x: Int32Array,
  plan: ShiftPlan,
  bias: Int32Array | null,
  p: Conv2dParams,
): void {
  checkZeros('shiftConv2d', p);
  const { n, cIn, h, w, cOut, groups, outH, outW } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = outH * outW;
  if (plan.rows !== cOut || plan.cols !== K)
    throw new Error(`shiftConv2d: plan is ${plan.rows}×${plan.cols}, expected ${cOut}×${K}`);
  const col = scratch(K * P, 'col');
  const xp = scratch(K * P, 'pack');
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < groups; g++) {
      im2colInt(col, x, (i * cIn + g * cInG) * h * w, cInG, p);
      packShiftPanels(xp, col, 0, P, 1, K, P);
      const yOff = (i * cOut + g * cOutG) * P - g * cOutG * P; // row o lands at yOff + o·P
      shiftMatmulPacked(y, yOff, P, 1, xp, plan, bias, 0, g * cOutG, (g + 1) * cOutG, P);
    }
  }
}

/** Direct per-element reference for `shiftConv2d` (codes, no plan, no im2col). */
export function shiftConv2dNaive(
  y: Int32Array,
  x: Int32Array,
  codes: ShiftCodes,
  bias: Int32Array | null,
  p: Conv2dParams,
): void {
  checkZeros('shiftConv2dNaive', p);
  const S = new Int32Array(32);
  convTerms(p, (yi, o, xi, wi) => {
    if (xi < 0) {
      if (yi >= 0) {
        let a = bias === null ? 0 : bias[o]!;
        for (let r = 0; r < 32; r++) a = (a + (S[r]! >> r)) | 0;
        y[yi] = a;
      } else S.fill(0);
      return;
    }
    const s = codes.sign[wi]!;
    if (s === 0) return;
    const r = checkShift(codes.shift[wi]!, wi);
    S[r] = s > 0 ? (S[r]! + x[xi]!) | 0 : (S[r]! - x[xi]!) | 0;
  });
}

/** Float64 simulation of `shiftConv2d` on real values (see `shiftLinearFloatSim`). */
export function shiftConv2dFloatSim(
  y: Float64Array,
  x: ArrayLike<number>,
  codes: ShiftCodes,
  bias: ArrayLike<number> | null,
  p: Conv2dParams,
  fmt: FixedPointFormat = DEFAULT_FIXED_POINT,
): void {
  checkZeros('shiftConv2dFloatSim', p);
  const xq = quantizeFloat(x, p.n * p.cIn * p.h * p.w, fmt);
  const bq = bias === null ? null : quantizeFloat(bias, p.cOut, fmt);
  const S = new Float64Array(32);
  convTerms(p, (yi, o, xi, wi) => {
    if (xi < 0) {
      if (yi >= 0) y[yi] = (bq === null ? 0 : bq[o]!) + sumGroups(S, fmt.fractionBits);
      else S.fill(0);
      return;
    }
    const s = codes.sign[wi]!;
    if (s !== 0) S[-codes.shift[wi]!] += s * xq[xi]!;
  });
}

// Visits every output of a direct conv: visit(−1, o, −1, −1) starts output yi, then one
// visit(yi, o, xi, wi) per in-bounds term, then visit(yi, o, −1, −1) finishes it.
function convTerms(
  p: Conv2dParams,
  visit: (yi: number, o: number, xi: number, wi: number) => void,
): void {
  const { n, cIn, h, w, cOut, kh, kw, groups, outH, outW } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < cOut; o++) {
      const g = Math.floor(o / cOutG);
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const yi = ((i * cOut + o) * outH + oh) * outW + ow;
          visit(-1, o, -1, -1);
          for (let c = 0; c < cInG; c++) {
            for (let u = 0; u < kh; u++) {
              const ih = oh * p.strideH - p.padH + u * p.dilH;
              if (ih < 0 || ih >= h) continue;
              for (let v = 0; v < kw; v++) {
                const iw = ow * p.strideW - p.padW + v * p.dilW;
                if (iw < 0 || iw >= w) continue;
                visit(
                  yi,
                  o,
                  ((i * cIn + g * cInG + c) * h + ih) * w + iw,
                  ((o * cInG + c) * kh + u) * kw + v,
                );
              }
            }
          }
          visit(yi, o, -1, -1);
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------- relu, max-pool

/** y = max(x, 0) on Int32 (y may alias x). */
export function reluInt(y: Int32Array, x: Int32Array, len: number): void {
  for (let i = 0; i < len; i++) {
    const v = x[i]!;
    y[i] = v < 0 ? 0 : v;
  }
}

/** Reference for `maxPool2dInt`: every window, padded positions skipped (empty window → −2^31). */
export function maxPool2dIntNaive(y: Int32Array, x: Int32Array, p: MaxPool2dParams): void {
  const { h, w, outH, outW } = p;
  for (let pl = 0; pl < p.n * p.c; pl++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let m = -2147483648;
        for (let i = 0; i < p.kH; i++) {
          const ih = oh * p.sH - p.padH + i * p.dH;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < p.kW; j++) {
            const iw = ow * p.sW - p.padW + j * p.dW;
            if (iw < 0 || iw >= w) continue;
            const v = x[pl * h * w + ih * w + iw]!;
            if (v > m) m = v;
          }
        }
        y[(pl * outH + oh) * outW + ow] = m;
      }
    }
  }
}

/** Max-pool on Int32 NCHW (params from `maxPool2dParams`); kernel 2 / stride 2 takes a fast path. */
export function maxPool2dInt(y: Int32Array, x: Int32Array, p: MaxPool2dParams): void {
  const { h, w, outH, outW } = p;
  const fast = p.kH === 2 && p.kW === 2 && p.sH === 2 && p.sW === 2 && p.padH === 0 && p.padW === 0;
  if (!fast || p.dH !== 1 || p.dW !== 1 || 2 * outH > h || 2 * outW > w) {
    maxPool2dIntNaive(y, x, p);
    return;
  }
  let o = 0;
  for (let pl = 0; pl < p.n * p.c; pl++) {
    const xo = pl * h * w;
    for (let oh = 0; oh < outH; oh++) {
      const r0 = xo + 2 * oh * w;
      for (let ow = 0; ow < outW; ow++, o++) {
        const i0 = r0 + 2 * ow;
        let m = x[i0]!;
        const b = x[i0 + 1]!;
        const c = x[i0 + w]!;
        const d = x[i0 + w + 1]!;
        if (b > m) m = b;
        if (c > m) m = c;
        if (d > m) m = d;
        y[o] = m;
      }
    }
  }
}
