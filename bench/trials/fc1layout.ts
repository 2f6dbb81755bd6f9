// fc1's sparse-input product (asm.ts sparseRows8's inner loop, one k-slice) with its weight laid
// out three ways, on the trained baseline's fc1 inputs for 64 test images (14 % non-zero): the
// eight rows of an output block where they lie in W (float32, as asm.ts reads them), the block
// interleaved as float64 (w8[k·8 + i]: one cache line per non-zero, no float32 conversion, no
// address steps), and interleaved as float32. Alternating, 41 rounds, medians, and the three
// outputs compared bit for bit. `taskset -c 0 npx tsx bench/trials/fc1layout.ts`.
import * as F from '../../src/nn/functional.ts';
import { noGrad } from '../../src/autograd/grad-mode.ts';
import { linkAsm } from './alternate.ts';
import { trainedBaseline } from './common.ts';

const rows = 64;
const inF = 9216;
const outF = 128;
const { m, images } = await trainedBaseline(rows);
const act = noGrad(() =>
  F.flatten(F.maxPool2d(F.relu(m.conv2.forward(F.relu(m.conv1.forward(images)))), 2), 1),
);
const X = act._flat() as Float32Array;
const W = m.fc1.weight._flat() as Float32Array;

// one kernel per layout; `load(i)` is the i-th weight of the block at non-zero k
function kernel(name: string, setup: string, load: (i: number) => string): string {
  const acc = [...Array(8).keys()];
  return `function ${name}(x, w, idx, ends, y) {
  x = x | 0; w = w | 0; idx = idx | 0; ends = ends | 0; y = y | 0;
  var r = 0, o0 = 0, t = 0, e = 0, k = 0, wb = 0, wp = 0, xr = 0, q = 0, v = 0.0;
  var ${acc.map((i) => `a${i} = 0.0`).join(', ')};
  for (o0 = 0; (o0 | 0) < ${outF}; o0 = (o0 + 8) | 0) {
    wb = ${setup};
    for (r = 0; (r | 0) < ${rows}; r = (r + 1) | 0) {
      xr = (x + imul(r, ${inF})) | 0;
      t = (idx + imul(r, ${inF})) | 0;
      e = (idx + (I32[(ends + r) << 2 >> 2] | 0)) | 0;
      ${acc.map((i) => `a${i} = 0.0;`).join(' ')}
      for (; (t | 0) < (e | 0); t = (t + 1) | 0) {
        k = I32[t << 2 >> 2] | 0;
        v = +F32[(xr + k) << 2 >> 2];
        ${acc.map((i) => `a${i} = a${i} + v * ${load(i)};`).join('\n        ')}
      }
      q = (y + imul(r, ${outF}) + o0) << 3;
      ${acc.map((i) => `H[(q + ${8 * i}) >> 3] = a${i};`).join(' ')}
    }
  }
}`;
}
const src = `'use asm';
var H = new stdlib.Float64Array(heap);
var F32 = new stdlib.Float32Array(heap);
var I32 = new stdlib.Int32Array(heap);
var imul = stdlib.Math.imul;
${kernel('rows', `(w + imul(o0, ${inF})) << 2`, (i) => `+F32[((wb + (k << 2)) + ${i * inF * 4}) >> 2]`)}
${kernel('il64', `(w + imul(o0, ${inF})) << 3`, (i) => `+H[((wb + (k << 6)) + ${8 * i}) >> 3]`)}
${kernel('il32', `(w + imul(o0, ${inF})) << 2`, (i) => `+F32[((wb + (k << 5)) + ${4 * i}) >> 2]`)}
return { rows: rows, il64: il64, il32: il32 };`;
type K = (x: number, w: number, idx: number, ends: number, y: number) => void;
const { heap, k } = linkAsm<K>(src, 1 << 26);
const f32 = new Float32Array(heap);
const i32 = new Int32Array(heap);
const f64 = new Float64Array(heap);
// 4-byte offsets: W | X | idx | ends | W interleaved float32; 8-byte: W interleaved float64 | y ×3
const wOff = 0;
const xOff = outF * inF;
const idxOff = xOff + rows * inF;
const endsOff = idxOff + rows * inF;
const w32 = endsOff + rows;
const w64 = Math.ceil((w32 + outF * inF) / 2);
const ys = [0, 1, 2].map((i) => w64 + outF * inF + i * rows * outF);
f32.set(W, wOff);
f32.set(X, xOff);
for (let r = 0; r < rows; r++) {
  let c = 0;
  for (let j = 0; j < inF; j++) if (X[r * inF + j] !== 0) i32[idxOff + r * inF + c++] = j;
  i32[endsOff + r] = r * inF + c;
}
for (let o0 = 0; o0 < outF; o0 += 8)
  for (let j = 0; j < inF; j++)
    for (let i = 0; i < 8; i++) {
      f64[w64 + o0 * inF + 8 * j + i] = W[(o0 + i) * inF + j]!;
      f32[w32 + o0 * inF + 8 * j + i] = W[(o0 + i) * inF + j]!;
    }
const runs: [string, () => void][] = [
  ['rows (float32, as asm.ts)', () => k.rows!(xOff, wOff, idxOff, endsOff, ys[0]!)],
  ['interleaved float64', () => k.il64!(xOff, w64, idxOff, endsOff, ys[1]!)],
  ['interleaved float32', () => k.il32!(xOff, w32, idxOff, endsOff, ys[2]!)],
];
const times = runs.map(() => [] as number[]);
for (let w = 0; w < 10; w++) for (const [, f] of runs) f();
for (let rep = 0; rep < 41; rep++) {
  for (let j = 0; j < runs.length; j++) {
    const i = (j + rep) % runs.length;
    const t0 = performance.now();
    runs[i]![1]();
    times[i]!.push(performance.now() - t0);
  }
}
for (let i = 1; i < 3; i++)
  for (let j = 0; j < rows * outF; j++)
    if (f64[ys[i]! + j] !== f64[ys[0]! + j]) throw new Error(`${runs[i]![0]}: outputs differ`);
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const base = med(times[0]!);
for (let i = 0; i < runs.length; i++) {
  const t = med(times[i]!);
  console.log(`${runs[i]![0].padEnd(26)} ${t.toFixed(2)} ms  ${(t / base).toFixed(3)}`);
}
