// F(6×6)'s GEMM loop as winograd6ForwardImage runs it for one image (64 ξ, 16 tiles, K = 32, 64
// rows in 2×4 tiles since session 16; the figures quoted for session 13 were 66 rows in 3×4
// tiles), variants alternating in one process (pin it: `taskset -c 0`):
//   - U, V and M each moving with ξ (as it runs) or fixed to one ξ (in L1): what memory costs;
//   - output-channel blocks OB = 16 (as it runs), 32, 64.
import { asmHeap } from '../../src/tensor/kernels/asm.ts';

const ki = 32;
const moP = 64;
const TB = 16;
const XI = 64;
const uStep = moP * ki;
const vStep = TB * ki + 8;
const mStepOf = (OB: number) => OB * TB + 8;
const uSize = XI * uStep;
const vSize = XI * vStep;
const hp = asmHeap(uSize + vSize + XI * mStepOf(moP));
for (let i = 0; i < uSize + vSize; i++) hp.f64[i] = Math.sin(i);
const vOff = uSize;
const mOff = uSize + vSize;

/** One image's GEMMs; su / sv / sm = 1: that operand moves with ξ, 0: fixed to ξ = 0. */
function run(OB: number, su: number, sv: number, sm: number): void {
  const mStep = mStepOf(OB);
  for (let ob = 0; ob < moP; ob += OB) {
    const obEnd = Math.min(ob + OB, moP);
    for (let xi = 0; xi < XI; xi++) {
      // prettier-ignore
      hp.k.panels24(ki, (obEnd - ob) / 2, TB / 4, su * xi * uStep + ob * ki, 2 * ki,
        vOff + sv * xi * vStep, 4 * ki, mOff + sm * xi * mStep, TB);
    }
  }
}

function compare(title: string, variants: Record<string, () => void>, rounds = 11): void {
  const names = Object.keys(variants);
  const T = new Map<string, number[]>(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? [...names].reverse() : names) {
      const n = 40;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) variants[k]!();
      T.get(k)!.push((performance.now() - t0) / n);
    }
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  console.log(title);
  for (const k of names) {
    const ms = med(T.get(k)!);
    const gf = (2 * moP * ki * TB * XI) / ms / 1e6;
    console.log(`  ${k.padEnd(10)} ${(ms * 1000).toFixed(0)} µs/image, ${gf.toFixed(2)} GFLOP/s`);
  }
}

compare('operands moving with ξ or fixed (OB = 16):', {
  all: () => run(16, 1, 1, 1),
  'U fixed': () => run(16, 0, 1, 1),
  'V fixed': () => run(16, 1, 0, 1),
  'M fixed': () => run(16, 1, 1, 0),
  'all fixed': () => run(16, 0, 0, 0),
});
compare('output-channel blocks:', {
  'OB = 16': () => run(16, 1, 1, 1),
  'OB = 32': () => run(32, 1, 1, 1),
  'OB = 64': () => run(64, 1, 1, 1),
});
