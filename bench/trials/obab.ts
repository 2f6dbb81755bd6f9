// F(6×6)'s GEMM loop (64 ξ, 16 tiles, K = 32, 66 rows) with output-channel blocks OB = 12 / 24 / 33 / 66, alternating in one process.
import { asmHeap } from '../../src/tensor/kernels/asm.ts';
const ki = 32,
  moP = 66,
  TB = 16,
  XI = 64;
const OBS = [12, 24, 33, 66];
const uStep = moP * ki,
  vStep = TB * ki + 8;
const mStepOf = (OB: number) => OB * TB + 8;
const uSize = XI * uStep,
  vSize = XI * vStep,
  mSize = XI * mStepOf(66);
const hp = asmHeap(uSize + vSize + mSize);
for (let i = 0; i < uSize + vSize; i++) hp.f64[i] = Math.sin(i);
const vOff = uSize,
  mOff = uSize + vSize;
const run = (OB: number) => {
  const mStep = mStepOf(OB);
  for (let ob = 0; ob < moP; ob += OB) {
    const obEnd = Math.min(ob + OB, moP);
    for (let xi = 0; xi < XI; xi++) {
      hp.k.panels34(
        ki,
        (obEnd - ob) / 3,
        TB / 4,
        xi * uStep + ob * ki,
        3 * ki,
        vOff + xi * vStep,
        4 * ki,
        mOff + xi * mStep,
        TB,
      );
    }
  }
};
const T = new Map<number, number[]>(OBS.map((o) => [o, []]));
for (let round = 0; round < 15; round++)
  for (const OB of round % 2 ? [...OBS].reverse() : OBS) {
    const n = 40;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) run(OB);
    T.get(OB)!.push((performance.now() - t0) / n);
  }
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
for (const OB of OBS)
  console.log(
    `OB=${OB}: ${(med(T.get(OB)!) * 1000).toFixed(0)} us/image, ${((2 * 66 * 32 * 16 * 64) / med(T.get(OB)!) / 1e6).toFixed(2)} GF/s`,
  );
