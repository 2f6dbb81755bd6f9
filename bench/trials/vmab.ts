// Which operand's movement slows F(6×6)'s GEMM loop: each of U, V, M per ξ or fixed, alternating.
import { asmHeap } from '../../src/tensor/kernels/asm.ts';
const ki = 32,
  moP = 66,
  TB = 16,
  XI = 64,
  OB = 12;
const uStep = moP * ki,
  vStep = TB * ki + 8,
  mStep = OB * TB + 8;
const uSize = XI * uStep,
  vSize = XI * vStep,
  mSize = XI * mStep;
const hp = asmHeap(uSize + vSize + mSize);
for (let i = 0; i < uSize + vSize; i++) hp.f64[i] = Math.sin(i);
const vOff = uSize,
  mOff = uSize + vSize;
const variants: Record<string, [number, number, number]> = {
  all: [1, 1, 1],
  'U fixed': [0, 1, 1],
  'V fixed': [1, 0, 1],
  'M fixed': [1, 1, 0],
  'all fixed': [0, 0, 0],
};
const run = ([su, sv, sm]: [number, number, number]) => {
  for (let ob = 0; ob < moP; ob += OB) {
    const obEnd = Math.min(ob + OB, moP);
    for (let xi = 0; xi < XI; xi++) {
      hp.k.panels34(
        ki,
        (obEnd - ob) / 3,
        TB / 4,
        su * xi * uStep + ob * ki,
        3 * ki,
        vOff + sv * xi * vStep,
        4 * ki,
        mOff + sm * xi * mStep,
        TB,
      );
    }
  }
};
const names = Object.keys(variants);
const T = new Map<string, number[]>(names.map((o) => [o, []]));
for (let round = 0; round < 11; round++)
  for (const k of round % 2 ? [...names].reverse() : names) {
    const n = 40;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) run(variants[k]!);
    T.get(k)!.push((performance.now() - t0) / n);
  }
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
for (const k of names)
  console.log(
    `${k.padEnd(10)}: ${(med(T.get(k)!) * 1000).toFixed(0)} us/image, ${((2 * 66 * 32 * 16 * 64) / med(T.get(k)!) / 1e6).toFixed(2)} GF/s`,
  );
