/** Shared benchmark helpers: medians after warm-up, deterministic random inputs. */

export function medianMs(fn: () => void, reps = 11, warmup = 3): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const h = times.length >> 1;
  return times.length % 2 ? times[h]! : (times[h - 1]! + times[h]!) / 2;
}

/** Uniform values in [-0.5, 0.5) from a fixed LCG (no dependence on the library's generator). */
export function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}
