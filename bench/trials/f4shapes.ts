// Training's F(4×4) GEMMs (winograd.ts) in 4×3 register tiles (asm.ts `panels` / `panelsIdx` until
// session 16) against 4×2, both generated here with asm.ts's loops (one module), alternating in
// one process, on conv2's shapes:
//   - forward: 36 ξ × [64 out-channels × 32 in-channels] · [32 × 36 tiles], dense;
//   - backward-input over lists: 36 ξ × [32 × 64] · [64 × 26 tiles], each tile panel summing over
//     the channels listed for it (DENSITY of them, default 0.25: the trained net's gradient leaves
//     77 % of backward-input's windows zero);
//   - backward-weight: 36 ξ × [64 × 96 tiles] · [96 × 32], accumulating into C.
// Run alone, pinned: `taskset -c 0 npx tsx bench/trials/f4shapes.ts`.
import { linkAsm, printAlternating } from './alternate.ts';
const XI = 36;
const DENSITY = Number(process.env.DENSITY ?? 0.25);

const range = (n: number) => [...Array(n).keys()];

/** asm.ts `panels` (acc) or `panelsIdx` (lists per B panel) for an r×c tile. */
function kernel(r: number, c: number, idx: boolean): string {
  const acc = range(r).flatMap((i) => range(c).map((j) => `c${i}${j}`));
  const vars = [...acc, ...range(r).map((i) => `a${i}`), ...range(c).map((j) => `b${j}`)];
  const loads = [
    ...range(r).map((i) => `a${i} = +H[(ai + ${8 * i}) >> 3];`),
    ...range(c).map((j) => `b${j} = +H[(bi + ${8 * j}) >> 3];`),
  ].join(' ');
  const macs = acc.map((v, q) => `${v} = ${v} + a${Math.floor(q / c)} * b${q % c};`).join(' ');
  const inner = idx
    ? `l = (lst + imul(j, lStep)) << 2;
      lEnd = (l + ((I32[(cnt + j) << 2 >> 2] | 0) << 2)) | 0;
      for (; (l | 0) < (lEnd | 0); l = (l + 4) | 0) {
        k = I32[l >> 2] | 0;
        ai = (a0i + (k << ${Math.log2(8 * r)})) | 0;
        bi = (b0i + imul(k, ${8 * c})) | 0;
        ${loads} ${macs}
      }`
    : `for (p = 0; (p | 0) < (kc | 0); p = (p + 1) | 0) {
        ${loads} ${macs}
        ai = (ai + ${8 * r}) | 0; bi = (bi + ${8 * c}) | 0;
      }`;
  const stores = range(r)
    .map(
      (i) =>
        (i > 0 ? 'ci = (ci + row) | 0; ' : '') +
        range(c)
          .map(
            (j) => `H[(ci + ${8 * j}) >> 3] = c${i}${j} + (acc ? +H[(ci + ${8 * j}) >> 3] : 0.0);`,
          )
          .join(' '),
    )
    .join('\n      ');
  return `function k${r}${c}${idx ? 'i' : ''}(kc, mp, np, a, aStep, b, bStep, c, ldc, acc, lst, lStep, cnt) {
  kc = kc | 0; mp = mp | 0; np = np | 0; a = a | 0; aStep = aStep | 0; b = b | 0;
  bStep = bStep | 0; c = c | 0; ldc = ldc | 0; acc = acc | 0; lst = lst | 0; lStep = lStep | 0;
  cnt = cnt | 0;
  var i = 0, j = 0, p = 0, ai = 0, bi = 0, ci = 0, row = 0, l = 0, lEnd = 0, k = 0, a0i = 0, b0i = 0;
  var ${vars.map((v) => `${v} = 0.0`).join(', ')};
  row = ldc << 3;
  for (j = 0; (j | 0) < (np | 0); j = (j + 1) | 0) {
    for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
      a0i = (a + imul(i, aStep)) << 3; ai = a0i;
      b0i = (b + imul(j, bStep)) << 3; bi = b0i;
      ${acc.map((v) => `${v} = 0.0;`).join(' ')}
      ${inner}
      ci = (c + imul(imul(i, ${r}), ldc) + imul(j, ${c})) << 3;
      ${stores}
    }
  }
}`;
}

const shapes: [number, number][] = [
  [4, 3],
  [4, 2],
];
const names = shapes.flatMap(([r, c]) => [`k${r}${c}`, `k${r}${c}i`]);
const src = `'use asm';
var H = new stdlib.Float64Array(heap);
var I32 = new stdlib.Int32Array(heap);
var imul = stdlib.Math.imul;
${shapes.flatMap(([r, c]) => [kernel(r, c, false), kernel(r, c, true)]).join('\n')}
return { ${names.map((n) => `${n}: ${n}`).join(', ')} };`;
type K = (...a: number[]) => void;
const { heap, k } = linkAsm<K>(src, 1 << 25);
const f64 = new Float64Array(heap);
const i32 = new Int32Array(heap);
for (let i = 0; i < 3_000_000; i++) f64[i] = Math.sin(i);
const LIST = 3_200_000; // float64 index of the lists (int32 at 2·LIST)

/** 36 GEMMs C[ξ] (rows × cols) (+)= A[ξ] (rows × depth) · B[ξ] (depth × cols), packed. */
function gemms(r: number, c: number, rows: number, depth: number, cols: number, mode: string) {
  const aStep = rows * depth;
  const colsP = Math.ceil(cols / c) * c;
  const bStep = colsP * depth;
  const cStep = rows * colsP;
  const bOff = XI * aStep;
  const cOff = bOff + XI * bStep;
  const np = colsP / c;
  // lists per B panel: channels (depth) kept with probability DENSITY (the same draw for both)
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const lst = 2 * LIST;
  const cnt = lst + 64 * depth;
  for (let j = 0; j < np; j++) {
    let n = 0;
    for (let q = 0; q < depth; q++) if (rnd() < DENSITY) i32[lst + j * depth + n++] = q;
    i32[cnt + j] = n;
  }
  const fn = k[`k${r}${c}${mode === 'idx' ? 'i' : ''}`]!;
  const accum = mode === 'acc' ? 1 : 0;
  return () => {
    for (let xi = 0; xi < XI; xi++) {
      // prettier-ignore
      fn(depth, rows / r, np, xi * aStep, r * depth, bOff + xi * bStep, c * depth,
        cOff + xi * cStep, colsP, accum, lst, depth, cnt);
    }
  };
}

printAlternating(
  'forward (dense), one image:',
  {
    '4×3': gemms(4, 3, 64, 32, 36, 'dense'),
    '4×2': gemms(4, 2, 64, 32, 36, 'dense'),
  },
  20,
);
printAlternating(
  `backward-input over lists (density ${DENSITY}), one tile block:`,
  {
    '4×3': gemms(4, 3, 32, 64, 26, 'idx'),
    '4×2': gemms(4, 2, 32, 64, 26, 'idx'),
  },
  20,
);
printAlternating(
  'backward-weight (accumulating), one block of 96 tiles:',
  {
    '4×3': gemms(4, 3, 64, 96, 32, 'acc'),
    '4×2': gemms(4, 2, 64, 96, 32, 'acc'),
  },
  20,
);
