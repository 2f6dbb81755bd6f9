// F(6×6)'s GEMMs for one image (64 ξ, T tiles, K = 32) with conv2's 64 output channels in
// register tiles of R rows (output channels) × C columns (tiles): 3×4 with the channels padded
// to 66 (winograd6.ts until session 15), 2×4 (since session 16), and other shapes, all generated
// here with asm.ts's panel loop (one module, so that V8 treats them alike), and asm.ts's own
// panels24, alternating in one process. Run alone, pinned: `taskset -c 0 npx tsx
// bench/trials/f6rows.ts`.
import { linkAsm, printAlternating } from './alternate.ts';
import { asmHeap } from '../../src/tensor/kernels/asm.ts';

const KI = 32;
const XI = 64;

const range = (n: number) => [...Array(n).keys()];

/** asm.ts's panel loop for an r×c register tile (rows: output channels, columns: tiles). */
function panels(r: number, c: number, u = 1): string {
  const acc = range(r).flatMap((i) => range(c).map((j) => `c${i}${j}`));
  const vars = [...acc, ...range(r).map((i) => `a${i}`), ...range(c).map((j) => `b${j}`)];
  const step = (q: number) => [
    ...range(r).map((i) => `a${i} = +H[(ai + ${8 * (r * q + i)}) >> 3];`),
    ...range(c).map((j) => `b${j} = +H[(bi + ${8 * (c * q + j)}) >> 3];`),
    ...acc.map((v, n) => `${v} = ${v} + a${Math.floor(n / c)} * b${n % c};`),
  ];
  return `function panels${r}${c}${u > 1 ? `u${u}` : ''}(kc, mp, np, a, aStep, b, bStep, c, ldc) {
  kc = kc | 0; mp = mp | 0; np = np | 0; a = a | 0; aStep = aStep | 0; b = b | 0;
  bStep = bStep | 0; c = c | 0; ldc = ldc | 0;
  var i = 0, j = 0, p = 0, ai = 0, bi = 0, ci = 0, row = 0;
  var ${vars.map((v) => `${v} = 0.0`).join(', ')};
  row = ldc << 3;
  for (j = 0; (j | 0) < (np | 0); j = (j + 1) | 0) {
    for (i = 0; (i | 0) < (mp | 0); i = (i + 1) | 0) {
      ai = (a + imul(i, aStep)) << 3;
      bi = (b + imul(j, bStep)) << 3;
      ${acc.map((v) => `${v} = 0.0;`).join(' ')}
      for (p = 0; (p | 0) < (kc | 0); p = (p + ${u}) | 0) {
        ${range(u)
          .flatMap((q) => step(q))
          .join(' ')}
        ai = (ai + ${8 * r * u}) | 0;
        bi = (bi + ${8 * c * u}) | 0;
      }
      ci = (c + imul(imul(i, ${r}), ldc) + imul(j, ${c})) << 3;
      ${range(r)
        .map(
          (i) =>
            (i > 0 ? 'ci = (ci + row) | 0; ' : '') +
            range(c)
              .map((j) => `H[(ci + ${8 * j}) >> 3] = c${i}${j};`)
              .join(' '),
        )
        .join('\n      ')}
    }
  }
}`;
}

const shapes: [number, number, number?][] = [
  [3, 4],
  [2, 4],
  [4, 2],
  [2, 3],
  [2, 6],
  [1, 8],
  [4, 3],
  [3, 3],
  [2, 4, 2],
  [2, 4, 4],
];
const src = `'use asm';
var H = new stdlib.Float64Array(heap);
var imul = stdlib.Math.imul;
${shapes.map(([r, c, u]) => panels(r, c, u)).join('\n')}
return { ${shapes.map(([r, c, u]) => `panels${r}${c}${u ? `u${u}` : ''}: panels${r}${c}${u ? `u${u}` : ''}`).join(', ')} };`;
type Panels = (...a: number[]) => void;
const { heap, k } = linkAsm<Panels>(src, 1 << 24);
const f64 = new Float64Array(heap);

/** As `variant` (2×4, 64 rows, OB = 16) with asm.ts's own panels24, as winograd6.ts runs it. */
function asmTs(T: number): () => void {
  const moP = 64;
  const OB = 16;
  const uStep = moP * KI;
  const vStep = T * KI + 8;
  const mStep = OB * T + 8;
  const vOff = XI * uStep;
  const mOff = vOff + XI * vStep;
  const hp = asmHeap(mOff + XI * mStep);
  for (let i = 0; i < mOff; i++) hp.f64[i] = Math.sin(i);
  return () => {
    for (let ob = 0; ob < moP; ob += OB) {
      const obEnd = Math.min(ob + OB, moP);
      for (let xi = 0; xi < XI; xi++) {
        // prettier-ignore
        hp.k.panels24(KI, (obEnd - ob) / 2, T / 4, xi * uStep + ob * KI, 2 * KI, vOff + xi * vStep,
          4 * KI, mOff + xi * mStep, T);
      }
    }
  };
}

/** One image's GEMMs: rows moP in blocks of OB, MR rows per register tile, T tiles. */
function variant(MR: number, NR: number, moP: number, OB: number, T: number, u = 1): () => void {
  const uStep = moP * KI;
  const vStep = T * KI + 8;
  const mStep = OB * T + 8;
  const vOff = XI * uStep;
  const mOff = vOff + XI * vStep;
  for (let i = 0; i < mOff; i++) f64[i] = Math.sin(i);
  const kern = k[`panels${MR}${NR}${u > 1 ? `u${u}` : ''}`]!;
  return () => {
    for (let ob = 0; ob < moP; ob += OB) {
      const obEnd = Math.min(ob + OB, moP);
      for (let xi = 0; xi < XI; xi++) {
        // prettier-ignore
        kern(KI, (obEnd - ob) / MR, T / NR, xi * uStep + ob * KI, MR * KI, vOff + xi * vStep,
          NR * KI, mOff + xi * mStep, T);
      }
    }
  };
}

for (const T of [24, 12]) {
  printAlternating(
    `${T} tiles, one image's GEMMs:`,
    {
      '3×4, 66 rows, OB = 12': variant(3, 4, 66, 12, T),
      '2×4, 64 rows, OB = 16': variant(2, 4, 64, 16, T),
      'asm.ts panels24, same': asmTs(T),
      '4×2, 64 rows, OB = 16': variant(4, 2, 64, 16, T),
      '2×3, 64 rows, OB = 16': variant(2, 3, 64, 16, T),
      '2×6, 64 rows, OB = 16': variant(2, 6, 64, 16, T),
      '1×8, 64 rows, OB = 16': variant(1, 8, 64, 16, T),
      '4×3, 64 rows, OB = 16': variant(4, 3, 64, 16, T),
      '3×3, 66 rows, OB = 12': variant(3, 3, 66, 12, T),
      '2×4 depth unrolled ×2': variant(2, 4, 64, 16, T, 2),
      '2×4 depth unrolled ×4': variant(2, 4, 64, 16, T, 4),
    },
    40,
  );
}
