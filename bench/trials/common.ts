// Shared by the trials that start from the committed trained baseline or profile a run.
import { Session } from 'node:inspector/promises';
import { manualSeed, Tensor } from '../../src/index.ts';
import { BaselineNet } from '../../src/models/baseline.ts';
import { load } from '../../src/nn/serialization.ts';
import { loadMnist } from '../../scripts/lib/trainer.ts';
import { alternateMs } from './conv2-grad.ts';

/** The committed trained baseline in eval mode and the first n test images ([n, 1, 28, 28]). */
export async function trainedBaseline(n: number): Promise<{ m: BaselineNet; images: Tensor }> {
  const { test } = await loadMnist();
  manualSeed(0);
  const m = new BaselineNet();
  m.loadStateDict(load('docs/results/baseline/model.safetensors').tensors);
  m.eval();
  return { m, images: Tensor.fromData(test.data.slice(0, n * 784), [n, 1, 28, 28]) };
}

/**
 * Runs `run` under the calling thread's profiler (node:inspector) and prints the `top` functions
 * with the most self time, in ms divided by `per` (e.g. per step) and as shares.
 */
export async function profileSelf(run: () => void, per = 1, top = 12): Promise<void> {
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
  run();
  const { profile: p } = await s.post('Profiler.stop');
  const self = new Map<string, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  p.samples!.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
    self.set(k, (self.get(k) ?? 0) + (p.timeDeltas![i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(t / 1000 / per).toFixed(1).padStart(7)} ms ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`,
    );
  }
}

/**
 * Medians of `run(y, on)` with a variant on and off, alternately (`reps` runs each), each writing
 * its own float32 output of `size` elements; throws unless the two outputs agree bit for bit.
 */
export function alternateOutputs(
  size: number,
  run: (y: Float32Array, on: boolean) => void,
  reps: number,
): string {
  const ys = { on: new Float32Array(size), off: new Float32Array(size) };
  let on = true;
  const t = alternateMs(
    (o) => (on = o),
    () => run(on ? ys.on : ys.off, on),
    reps,
  );
  const [a, b] = [new Int32Array(ys.on.buffer), new Int32Array(ys.off.buffer)];
  if (a.some((v, i) => v !== b[i])) throw new Error('outputs differ');
  return `on ${t.on.toFixed(2)} ms, off ${t.off.toFixed(2)} ms, on/off ${(t.on / t.off).toFixed(3)}`;
}
