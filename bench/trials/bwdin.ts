// conv2's backward-input and backward-weight on the trained net's output gradient (97 % zeros),
// one switch on / off, alternating (TH threads; the switches are per thread, so TH=1 for them):
//   SWITCH=skip (default)  the zero-tile shortcuts: transforms stored as +0 and the GEMMs' lists
//   SWITCH=lists           the GEMMs' lists of non-zero tiles alone
//   SWITCH=sparse          the opt-in scatter kernels (on) against Winograd (off)
// skip and lists must keep every bit (checked); sparse changes the last bits.
import { setNumThreads } from '../../src/tensor/kernels/parallel.ts';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  setConvSparseBackward,
} from '../../src/tensor/kernels/conv2d.ts';
import { setZeroTileLists, setZeroTileSkip } from '../../src/tensor/kernels/winograd.ts';
import { alternateMs, conv2Grad } from './conv2-grad.ts';

setNumThreads(Number(process.env.TH ?? 1));
const which = process.env.SWITCH ?? 'skip';
const set = { skip: setZeroTileSkip, lists: setZeroTileLists, sparse: setConvSparseBackward }[
  which
];
if (set === undefined) throw new Error(`bwdin: SWITCH must be skip, lists or sparse, got ${which}`);
const { x, w, gy, p } = await conv2Grad();
let z = 0;
for (const v of gy) z += +(v === 0);
console.log(`gy zeros ${(z / gy.length).toFixed(3)}; switch: ${which}`);
const gx = new Float32Array(x.length);
const gw = new Float32Array(w.length);
for (const [name, out, run] of [
  ['bwd-input', gx, () => conv2dBackwardInput(gx, gy, w, p)],
  ['bwd-weight', gw, () => conv2dBackwardWeight(gw, gy, x, p)],
] as const) {
  let ref: Float32Array | null = null;
  const check = () => {
    if (which === 'sparse') return;
    if (ref === null) ref = out.slice();
    else
      for (let i = 0; i < out.length; i++) if (!Object.is(out[i], ref[i])) throw new Error('bits');
  };
  const t = alternateMs(set, run, 10, check);
  console.log(
    `${name}: on ${t.on.toFixed(1)} ms, off ${t.off.toFixed(1)} ms, ratio ${(t.on / t.off).toFixed(3)}`,
  );
}
setConvSparseBackward(false);
