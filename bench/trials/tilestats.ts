// Fraction of conv2's output-gradient tiles that are all zero (trained baseline, first batch).
import { conv2Grad } from './conv2-grad.ts';
// FRESH=1: the initial weights instead of the trained ones
const { gy } = await conv2Grad(process.env.FRESH !== undefined);
const N = 64,
  C = 64,
  H = 24;
// output tiles (bwd-weight): 4×4 at (4i, 4j), 6×6 grid; input-grad tiles (bwd-input): gy window 6×6 at (4i-2, 4j-2), 7×7 grid
function stats(size: number, grid: number, off: number, panel: number) {
  let zero = 0,
    tot = 0,
    pz = 0,
    ptot = 0;
  for (let c = 0; c < C; c++) {
    const flags: boolean[] = [];
    for (let n = 0; n < N; n++)
      for (let ti = 0; ti < grid; ti++)
        for (let tj = 0; tj < grid; tj++) {
          let z = true;
          for (let r = 0; r < size && z; r++)
            for (let q = 0; q < size; q++) {
              const y = 4 * ti + off + r,
                x = 4 * tj + off + q;
              if (y < 0 || x < 0 || y >= H || x >= H) continue;
              if (gy[((n * C + c) * H + y) * H + x] !== 0) {
                z = false;
                break;
              }
            }
          flags.push(z);
          zero += +z;
          tot++;
        }
    for (let t = 0; t < flags.length; t += panel) {
      let all = true;
      for (let k = t; k < Math.min(t + panel, flags.length); k++) all &&= flags[k]!;
      pz += +all;
      ptot++;
    }
  }
  return `zero tiles ${(zero / tot).toFixed(3)}, zero ${panel}-tile panels ${(pz / ptot).toFixed(3)}`;
}
let z = 0;
for (const v of gy) z += +(v === 0);
console.log('gy zeros', (z / gy.length).toFixed(3));
console.log('bwd-weight 4x4:', stats(4, 6, 0, 3), '|', stats(4, 6, 0, 4));
console.log('bwd-input 6x6:', stats(6, 7, -2, 3), '|', stats(6, 7, -2, 4));
// bwd-weight: (n, t) positions where 4 consecutive channels o0..o0+3 all have a zero 4×4 tile
{
  let z = 0,
    tot = 0;
  for (let o0 = 0; o0 < C; o0 += 4)
    for (let n = 0; n < N; n++)
      for (let ti = 0; ti < 6; ti++)
        for (let tj = 0; tj < 6; tj++) {
          let all = true;
          for (let o = o0; o < o0 + 4 && all; o++)
            for (let r = 0; r < 4 && all; r++)
              for (let q = 0; q < 4; q++)
                if (gy[((n * C + o) * H + 4 * ti + r) * H + 4 * tj + q] !== 0) {
                  all = false;
                  break;
                }
          z += +all;
          tot++;
        }
  console.log('bwd-weight 4-channel panels zero at a tile:', (z / tot).toFixed(3));
}
