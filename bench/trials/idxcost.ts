// asm.js panelsIdx with a full list vs panels (dense) on backward-input's GEMM shape: per-term cost.
import { asmHeap } from '../../src/tensor/kernels/asm.ts';
const kc = 64,
  mp = 2,
  np = 9;
const aSize = mp * 4 * kc,
  bSize = np * 3 * kc,
  cSize = mp * 4 * np * 3;
const hp = asmHeap(aSize + bSize + cSize + 4096);
for (let i = 0; i < aSize + bSize; i++) hp.f64[i] = Math.sin(i);
const a = 0,
  b = aSize,
  c = aSize + bSize,
  lOff = 2 * (c + cSize);
const frac = Number(process.env.FRAC ?? 1);
const cnt = lOff + np * kc;
for (let j = 0; j < np; j++) {
  let k = 0;
  for (let p = 0; p < kc; p++)
    if ((p * 7919 + j * 31) % 100 < frac * 100) hp.i32[lOff + j * kc + k++] = p;
  hp.i32[cnt + j] = k;
}
const reps = 20000;
for (let round = 0; round < 3; round++) {
  let t0 = performance.now();
  for (let r = 0; r < reps; r++) hp.k.panels(kc, mp, np, a, 4 * kc, b, 3 * kc, c, np * 3, 0);
  const dense = performance.now() - t0;
  t0 = performance.now();
  for (let r = 0; r < reps; r++)
    hp.k.panelsIdx(mp, np, a, 4 * kc, b, 3 * kc, c, np * 3, 0, lOff, kc, cnt, 0);
  const idx = performance.now() - t0;
  console.log(
    `list of ${frac * 100}%: panelsIdx / panels = ${(idx / dense).toFixed(3)} (${dense.toFixed(0)} ms dense)`,
  );
}
