// A synchronous worker_threads pool for the heavy kernels.
//
// A job is `parallelFor(task, args, nChunks)`: call `task(args, c)` for c in [0, nChunks).
// Chunks are handed out dynamically through an atomic counter (the two vCPUs run at different
// speeds, so a static split loses), but every chunk writes a disjoint part of the output or its
// own partial buffer, and partials are combined by the caller in chunk order: results are
// bit-identical for any thread count, and nThreads = 1 runs the very same chunks in a loop.
//
// Protocol (ctrl is an Int32Array over a SharedArrayBuffer, shared with every worker):
//   main:   postMessage({task, args}) on each worker's port; NEXT = 0; DONE = 0; GEN += 1; notify
//   worker: wakes on GEN, receiveMessageOnPort (synchronous), takes chunks with
//           Atomics.add(NEXT, 1) until ≥ nChunks, then DONE += 1; notify
//   main:   takes chunks too, then Atomics.wait until DONE = workers.
// Typed arrays over SharedArrayBuffer are shared with the workers; any other typed array in
// `args` is copied by postMessage, so outputs must live in shared memory (`sharedOutput`).
// Workers are unref'd (they never keep the process alive) and block in Atomics.wait between jobs.

import { availableParallelism } from 'node:os';
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import type { FloatArray } from './types.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskArgs = any[];
export type Task = (args: TaskArgs, chunk: number) => void;

const tasks = new Map<string, Task>();

/** Register a chunk function under a name known to the main thread and every worker. */
export function registerTask(name: string, fn: Task): void {
  tasks.set(name, fn);
}

export function getTask(name: string): Task {
  const t = tasks.get(name);
  if (t === undefined) throw new Error(`parallel: unknown task '${name}'`);
  return t;
}

// ctrl slots
export const GEN = 0;
export const NEXT = 1;
export const COUNT = 2;
export const DONE = 3;
export const READY = 4;
export const FAILED = 5;
const CTRL_SIZE = 8;

function defaultThreads(): number {
  const env = process.env.SHIFTGRAD_THREADS;
  if (env !== undefined && env !== '') {
    const v = Number(env);
    if (Number.isInteger(v) && v >= 1) return v;
    throw new Error(`SHIFTGRAD_THREADS must be a positive integer, got '${env}'`);
  }
  return availableParallelism();
}

let numThreads = -1;
let isWorkerThread = false;

/** Called by worker.ts: tasks running in a worker never start a nested pool. */
export function markWorkerThread(): void {
  isWorkerThread = true;
}

/** Threads used by the parallel kernels (default: `SHIFTGRAD_THREADS`, else all available cores). */
export function getNumThreads(): number {
  if (numThreads < 0) numThreads = defaultThreads();
  return numThreads;
}

/**
 * Use n threads for the parallel kernels (the caller's thread plus n − 1 workers); 1 runs
 * everything on the caller's thread. Results do not depend on n.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  numThreads = n;
}

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
}

let ctrl: Int32Array | null = null;
const pool: PoolWorker[] = [];
let poolBroken = false;
let inJob = false;
// Error text written by a failing worker (UTF-16 code units, length in slot 0).
let errBuf: Int32Array | null = null;
const ERR_LEN = 1024;

const bootUrl = new URL('./worker-boot.mjs', import.meta.url);

function ensureWorkers(want: number): number {
  if (poolBroken) return 0;
  if (ctrl === null) {
    ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SIZE * 4));
    errBuf = new Int32Array(new SharedArrayBuffer((ERR_LEN + 1) * 4));
  }
  const start = pool.length;
  while (pool.length < want) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(bootUrl, {
      workerData: { ctrl, errBuf, port: port2 },
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    worker.unref();
    port1.unref();
    // a worker that fails to start sets FAILED itself; this covers crashes we cannot see synchronously
    worker.on('error', () => {
      poolBroken = true;
    });
    pool.push({ worker, port: port1 });
  }
  if (pool.length > start) {
    // wait (synchronously, bounded) until every worker has loaded the kernels
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = Atomics.load(ctrl, READY);
      if (Atomics.load(ctrl, FAILED) !== 0) break;
      if (ready >= pool.length) break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      Atomics.wait(ctrl, READY, ready, Math.min(left, 100));
    }
    if (Atomics.load(ctrl, FAILED) !== 0 || Atomics.load(ctrl, READY) < pool.length) {
      poolBroken = true;
      process.emitWarning(
        `shiftgrad: worker threads failed to start (${readError() || 'timeout'}); running single-threaded`,
      );
      return 0;
    }
  }
  return Math.min(pool.length, want);
}

function readError(): string {
  if (errBuf === null) return '';
  const n = Math.min(Atomics.load(errBuf, 0), ERR_LEN);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(errBuf[i + 1]!);
  return s;
}

/** Started workers, and whether the pool failed (then everything runs on the caller's thread). */
export function poolStatus(): { workers: number; broken: boolean } {
  return { workers: pool.length, broken: poolBroken };
}

/** Number of threads a job of `nChunks` chunks would use right now (≥ 1). */
export function threadsFor(nChunks: number): number {
  const n = Math.min(getNumThreads(), nChunks);
  return inJob || poolBroken || isWorkerThread ? 1 : Math.max(n, 1);
}

/**
 * Run task(args, c) for every chunk c in [0, nChunks), on up to getNumThreads() threads.
 * Returns when all chunks are done; rethrows the first error of any thread.
 */
export function parallelFor(name: string, args: TaskArgs, nChunks: number): void {
  const fn = getTask(name);
  const want = threadsFor(nChunks);
  const nWorkers = want > 1 ? ensureWorkers(want - 1) : 0;
  if (nWorkers === 0) {
    for (let c = 0; c < nChunks; c++) fn(args, c);
    return;
  }
  const cb = ctrl!;
  inJob = true;
  try {
    for (let i = 0; i < nWorkers; i++) pool[i]!.port.postMessage({ name, args, active: true });
    for (let i = nWorkers; i < pool.length; i++) pool[i]!.port.postMessage({ active: false });
    Atomics.store(cb, COUNT, nChunks);
    Atomics.store(cb, NEXT, 0);
    Atomics.store(cb, DONE, 0);
    Atomics.store(cb, FAILED, 0);
    Atomics.add(cb, GEN, 1);
    Atomics.notify(cb, GEN);
    let mainError: unknown = null;
    try {
      for (let c = Atomics.add(cb, NEXT, 1); c < nChunks; c = Atomics.add(cb, NEXT, 1)) fn(args, c);
    } catch (e) {
      mainError = e;
      Atomics.store(cb, NEXT, nChunks); // stop handing out chunks
    }
    const all = pool.length;
    for (let d = Atomics.load(cb, DONE); d < all; d = Atomics.load(cb, DONE)) {
      Atomics.wait(cb, DONE, d, 1000);
    }
    if (mainError !== null) throw mainError;
    if (Atomics.load(cb, FAILED) !== 0) {
      throw new Error(`parallel task '${name}' failed in a worker: ${readError()}`);
    }
  } finally {
    inJob = false;
  }
}

// ------------------------------------------------------------------- shared scratch memory

/** The array lives in shared memory (the workers see it without a copy). */
export const isSharedArray = (a: ArrayBufferView): boolean => a.buffer instanceof SharedArrayBuffer;
const isShared = isSharedArray;

type SharedCtor<T> = { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };

// A typed array of at least n elements over a SharedArrayBuffer, kept in `cache` per slot and
// replaced only when too small.
function sharedScratch<T extends { length: number }>(
  cache: Map<string, T>,
  C: SharedCtor<T>,
  slot: string,
  n: number,
): T {
  let a = cache.get(slot);
  if (a === undefined || a.length < n) {
    a = new C(new SharedArrayBuffer(Math.max(n, 1) * C.BYTES_PER_ELEMENT));
    cache.set(slot, a);
  }
  return a;
}

const scratch = new Map<string, Float64Array>();
const scratchI32 = new Map<string, Int32Array>();
const scratch32 = new Map<string, Float32Array>();

/** A Float64Array of at least n elements over a SharedArrayBuffer, reused per `slot`. */
export function sharedF64(slot: string, n: number): Float64Array {
  return sharedScratch(scratch, Float64Array, slot, n);
}

/** An Int32Array of at least n elements over a SharedArrayBuffer, reused per `slot`. */
export function sharedI32(slot: string, n: number): Int32Array {
  return sharedScratch(scratchI32, Int32Array, slot, n);
}

/** A Float32Array of at least n elements over a SharedArrayBuffer, reused per `slot`. */
export function sharedF32(slot: string, n: number): Float32Array {
  return sharedScratch(scratch32, Float32Array, slot, n);
}

function sharedLike(slot: string, like: FloatArray, n: number): FloatArray {
  return (like instanceof Float64Array ? sharedF64(slot, n) : sharedF32(slot, n)).subarray(0, n);
}

/**
 * An array the workers can write for output `out` (n elements): `out` itself if it lives in
 * shared memory, otherwise shared scratch (with `out`'s contents copied in when `copyIn`).
 * Call `finishOutput(out, buf)` after the job.
 */
export function sharedOutput(slot: string, out: FloatArray, n: number, copyIn = false): FloatArray {
  if (isShared(out)) return out;
  const s = sharedLike(slot, out, n);
  if (copyIn) s.set(out.subarray(0, n));
  return s;
}

export function finishOutput(out: FloatArray, buf: FloatArray): void {
  if (buf !== out) out.set(buf);
}

/**
 * Arrays from this many elements up are worth sharing with the workers: smaller inputs are passed
 * as they are (structured clone), and parameters and optimizer state this large are allocated in
 * shared memory (nn/empty.ts, optim/optimizer.ts).
 */
export const SHARED_MIN = 4096;

/**
 * Whether a kernel split into `nChunks` fixed chunks goes to the pool: more than one chunk, more
 * than one thread to run them, and every array already in shared memory (null: nothing to pass).
 * For the memory-bound loops that ask, copying an operand into shared scratch would cost what
 * the second thread saves; their arrays are shared inside a BufferArena (evaluation, training
 * steps) and when they are parameters or optimizer state.
 */
export function threadedOnShared(nChunks: number, ...arrays: (ArrayBufferView | null)[]): boolean {
  return nChunks > 1 && arrays.every((a) => a === null || isShared(a)) && threadsFor(nChunks) > 1;
}

/** `a` itself if shared (or small), else a shared copy — saves each worker a postMessage copy. */
export function sharedInput(slot: string, a: FloatArray, n: number): FloatArray {
  if (isShared(a) || n < SHARED_MIN) return a;
  const s = sharedLike(slot, a, n);
  s.set(a.subarray(0, n));
  return s;
}
