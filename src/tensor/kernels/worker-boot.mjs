// Worker entry for the kernel thread pool, plain JS so that Node can start it without a
// TypeScript loader. Loader hooks of the parent (tsx's inherited --import, vitest's transform)
// do not reach a worker's imports on Node 20, so it registers tsx's ESM hook itself when tsx is
// installed, then imports worker.ts (without tsx, Node's own type stripping must handle it).
// Any failure is reported to the main thread through the shared control block, which then
// falls back to running single-threaded.
import { workerData } from 'node:worker_threads';

function fail(err) {
  const { ctrl, errBuf } = workerData;
  const text = String((err && err.stack) || err);
  const n = Math.min(text.length, errBuf.length - 1);
  for (let i = 0; i < n; i++) errBuf[i + 1] = text.charCodeAt(i);
  Atomics.store(errBuf, 0, n);
  Atomics.store(ctrl, 5, 1); // FAILED
  Atomics.add(ctrl, 4, 1); // READY, so the main thread stops waiting
  Atomics.notify(ctrl, 4);
}

try {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    // no tsx: rely on the runtime's own TypeScript support
  }
  await import(new URL('./worker.ts', import.meta.url).href);
} catch (e) {
  fail(e);
}
