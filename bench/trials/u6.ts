// F(6×6)'s weight transform (winograd6Weights) of a conv2-shaped weight [64, 32, 3, 3]: what every
// evaluation slice computes on the caller's thread before conv2 (ms per transform, median of 200
// after 50 warm-up transforms).
import { winograd6Weights, winograd6WeightScratch } from '../../src/tensor/kernels/winograd6.ts';

const w = new Float32Array(64 * 32 * 9).map((_, i) => Math.sin(i));
const u = winograd6WeightScratch('trial.u6', 64, 32);
for (let i = 0; i < 50; i++) winograd6Weights(u, w, 64, 32);
const t: number[] = [];
for (let i = 0; i < 200; i++) {
  const t0 = performance.now();
  winograd6Weights(u, w, 64, 32);
  t.push(performance.now() - t0);
}
t.sort((a, b) => a - b);
console.log(`winograd6Weights [64, 32, 3, 3]: ${t[100]!.toFixed(3)} ms`);
