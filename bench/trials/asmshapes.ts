// Register-tile shapes of the asm.js GEMM micro-kernel, in L1: GFLOP/s of C (R×C) = Σ_p A_p·B_p
// over kc = 32 (F(6×6)'s depth) for several R×C, with the loads first (as asm.ts writes them) or
// B loaded column by column ("i"), and one variant whose B panel sits at constant heap addresses
// (kc unrolled: "const"). Alternating, 25 rounds, medians. Run alone, pinned:
// `taskset -c 0 npx tsx bench/trials/asmshapes.ts`. To see what V8 made of them (every heap
// access bounds-checked, constant addresses too; spilled values as [rbp-…]):
// `node --import tsx --print-wasm-code bench/trials/asmshapes.ts | less`.
import { linkAsm } from './alternate.ts';
const KC = 32;
const B0 = 1024; // B's first element (float64 index); A starts at 0, C at 6000
const N = 20000; // tiles per call

const range = (n: number) => [...Array(n).keys()];

function kernel(name: string, r: number, c: number, mode: 'first' | 'i' | 'const'): string {
  const acc = range(r).flatMap((i) => range(c).map((j) => `c${i}${j}`));
  const vars = [...acc, ...range(r).map((i) => `a${i}`), ...range(c).map((j) => `b${j}`)];
  const fma = (i: number, j: number) => `c${i}${j} = c${i}${j} + a${i} * b${j};`;
  const loadA = (p: string) => range(r).map((i) => `a${i} = +H[(ai + ${p}${8 * i}) >> 3];`);
  let inner: string;
  if (mode === 'const') {
    // kc unrolled; B's addresses are constants (no bounds check), A's are not
    inner = range(KC)
      .map((p) =>
        [
          ...loadA(`${8 * r * p} + `),
          ...range(c).map((j) => `b${j} = +H[${B0 + c * p + j}];`),
          ...acc.map((_, q) => fma(Math.floor(q / c), q % c)),
        ].join(' '),
      )
      .join('\n');
  } else {
    const body =
      mode === 'first'
        ? [
            ...loadA(''),
            ...range(c).map((j) => `b${j} = +H[(bi + ${8 * j}) >> 3];`),
            ...acc.map((_, q) => fma(Math.floor(q / c), q % c)),
          ]
        : [
            ...loadA(''),
            ...range(c).flatMap((j) => [
              `b0 = +H[(bi + ${8 * j}) >> 3];`,
              ...range(r).map((i) => `c${i}${j} = c${i}${j} + a${i} * b0;`),
            ]),
          ];
    inner = `for (p = 0; (p | 0) < ${KC}; p = (p + 1) | 0) {
      ${body.join(' ')}
      ai = (ai + ${8 * r}) | 0; bi = (bi + ${8 * c}) | 0;
    }`;
  }
  return `function ${name}(n) {
  n = n | 0;
  var t = 0, p = 0, ai = 0, bi = 0, ci = 0;
  var ${vars.map((v) => `${v} = 0.0`).join(', ')};
  for (t = 0; (t | 0) < (n | 0); t = (t + 1) | 0) {
    ai = 0; bi = ${8 * B0}; ci = 48000;
    ${acc.map((v) => `${v} = 0.0;`).join(' ')}
    ${inner}
    ${acc.map((v, q) => `H[(ci + ${8 * q}) >> 3] = ${v};`).join(' ')}
  }
}`;
}

const shapes: [string, number, number, 'first' | 'i' | 'const'][] = [
  ['k34', 3, 4, 'first'], // asm.ts panels34
  ['k43', 4, 3, 'first'], // asm.ts panels
  ['k33', 3, 3, 'first'],
  ['k24', 2, 4, 'first'],
  ['k42', 4, 2, 'first'],
  ['k34i', 3, 4, 'i'],
  ['k24i', 2, 4, 'i'],
  ['k25i', 2, 5, 'i'],
  ['k24const', 2, 4, 'const'],
];
const src = `'use asm';
var H = new stdlib.Float64Array(heap);
${shapes.map(([n, r, c, m]) => kernel(n, r, c, m)).join('\n')}
return { ${shapes.map(([n]) => `${n}: ${n}`).join(', ')} };`;
const { heap, k } = linkAsm<(n: number) => void>(src, 1 << 20);
const f64 = new Float64Array(heap);
for (let i = 0; i < B0 + 4 * KC * 5; i++) f64[i] = Math.sin(i);

const gflops = (name: string, r: number, c: number) => {
  const t0 = performance.now();
  k[name]!(N);
  return (2 * r * c * KC * N) / (performance.now() - t0) / 1e6;
};
const results = new Map<string, number[]>(shapes.map(([n]) => [n, []]));
for (let w = 0; w < 20; w++) for (const [n, r, c] of shapes) gflops(n, r, c);
for (let rep = 0; rep < 25; rep++)
  for (const [n, r, c] of shapes) results.get(n)!.push(gflops(n, r, c));
for (const [n, r, c, m] of shapes) {
  const v = results.get(n)!.sort((x, y) => x - y);
  console.log(`${n.padEnd(9)} ${r}×${c} ${m.padEnd(5)} ${v[v.length >> 1]!.toFixed(2)} GFLOP/s`);
}
