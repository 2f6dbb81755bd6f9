// Helpers for the trials that time kernels side by side: linking an asm.js module written by
// the trial, and timing variants in turn in one process (the order reversed every other round,
// the first two rounds a warm-up).

/**
 * Links the asm.js module body `src` ('use asm' and its views of `heap` first) to a fresh heap of
 * `bytes` (a size asm.js accepts); returns the heap and the module's exports.
 */
export function linkAsm<K>(
  src: string,
  bytes: number,
): { heap: ArrayBuffer; k: Record<string, K> } {
  const heap = new ArrayBuffer(bytes);
  const make = new Function('stdlib', 'foreign', 'heap', src) as (
    s: typeof globalThis,
    f: null,
    h: ArrayBuffer,
  ) => Record<string, K>;
  return { heap, k: make(globalThis, null, heap) };
}

/**
 * Runs each variant `reps` times per round for `rounds` rounds (+ 2 warm-up rounds) and prints the
 * median µs per call of each, and its ratio to the first variant's, under `title`.
 */
export function printAlternating(
  title: string,
  variants: Record<string, () => void>,
  reps: number,
  rounds = 15,
): void {
  const names = Object.keys(variants);
  const times = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds + 2; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) variants[n]!();
      if (r >= 2) times.get(n)!.push((performance.now() - t0) / reps);
    }
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  const base = med(times.get(names[0]!)!);
  const width = Math.max(...names.map((n) => n.length));
  console.log(title);
  for (const n of names) {
    const ms = med(times.get(n)!);
    const us = (ms * 1000).toFixed(0).padStart(6);
    console.log(`  ${n.padEnd(width)} ${us} µs  ${(ms / base).toFixed(3)}× the first`);
  }
}
