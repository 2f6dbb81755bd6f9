// What conv2's evaluation could still leave out, on the trained baseline and N test images
// (default 256), per F(6×6) tile (6×6 outputs, 16 per image):
// - how many (tile, output channel) pairs have all 36 outputs ≤ 0 (ReLU then zeroes the whole
//   pooled 3×3 block), against how many of them a cheap rigorous bound proves: bias + Σ_c (sum of
//   the channel's positive weights) · (max of the channel's 8×8 input window) < 0;
// - how many of a tile's outputs have a 3×3×32 input window that is not all background (the
//   image's top-left value per channel), and the share of GEMM multiply-adds saved if whole
//   background tiles were reused (as they are) and tiles with few other outputs ran direct
//   convolution (288 · 64 multiply-adds per output) instead of F(6×6) (64 · 32 · 64 per tile).
// `npx tsx bench/trials/tilebounds.ts`
import * as F from '../../src/nn/functional.ts';
import { noGrad } from '../../src/autograd/grad-mode.ts';
import { trainedBaseline } from './common.ts';

const N = Number(process.env.N ?? 256);
const { m, images } = await trainedBaseline(N);
const a1 = noGrad(() => F.relu(m.conv1.forward(images)));
const y2 = noGrad(() => m.conv2.forward(a1)); // before ReLU
const X = a1._flat();
const Y = y2._flat();
const W = m.conv2.weight._flat();
const B = m.conv2.bias!._flat();
const [C, O, H, OH] = [32, 64, 26, 24];

const pos = new Float64Array(O * C); // per (o, c): the sum of the positive weights
for (let o = 0; o < O; o++)
  for (let c = 0; c < C; c++)
    for (let k = 0; k < 9; k++) pos[o * C + c]! += Math.max(0, W[(o * C + c) * 9 + k]!);

const tileMac = 64 * C * O;
const directMac = 9 * C * O;
let pairs = 0;
let nonPositive = 0;
let proved = 0;
let saved = 0;
const byCount = new Array<number>(37).fill(0);
const x = (n: number, c: number, r: number, q: number) => X[((n * C + c) * H + r) * H + q]!;
for (let n = 0; n < N; n++)
  for (let ty = 0; ty < 4; ty++)
    for (let tx = 0; tx < 4; tx++) {
      const top = new Float64Array(C);
      for (let c = 0; c < C; c++)
        for (let r = 0; r < 8; r++)
          for (let q = 0; q < 8; q++) top[c] = Math.max(top[c]!, x(n, c, 6 * ty + r, 6 * tx + q));
      for (let o = 0; o < O; o++) {
        pairs++;
        let all = true;
        for (let r = 0; r < 6 && all; r++)
          for (let q = 0; q < 6 && all; q++)
            all = Y[((n * O + o) * OH + 6 * ty + r) * OH + 6 * tx + q]! <= 0;
        if (all) nonPositive++;
        let bound = B[o]!;
        for (let c = 0; c < C; c++) bound += pos[o * C + c]! * top[c]!;
        if (bound < 0) proved++;
      }
      let other = 0;
      for (let r = 0; r < 6; r++)
        for (let q = 0; q < 6; q++) {
          let background = true;
          for (let c = 0; c < C && background; c++)
            for (let i = 0; i < 9 && background; i++)
              background =
                x(n, c, 6 * ty + r + Math.floor(i / 3), 6 * tx + q + (i % 3)) === x(n, c, 0, 0);
          if (!background) other++;
        }
      byCount[other]!++;
      if (other === 0) saved += tileMac;
      else saved += Math.max(0, tileMac - other * directMac);
    }
const share = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
console.log(`(tile, output channel) pairs with all 36 outputs ≤ 0: ${share(nonPositive, pairs)}`);
console.log(`… proved by the bound: ${share(proved, pairs)}`);
console.log(`tiles whose outputs all see background only: ${share(byCount[0]!, N * 16)}`);
console.log(
  `… with 1–6 other outputs: ${share(
    byCount.slice(1, 7).reduce((a, b) => a + b, 0),
    N * 16,
  )}; run direct, they would save ${share(saved - byCount[0]! * tileMac, N * 16 * tileMac)} more of the GEMMs' multiply-adds`,
);
