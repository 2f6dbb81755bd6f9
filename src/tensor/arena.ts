/**
 * Buffer reuse for a computation that runs again and again with the same shapes (evaluation:
 * the same forward on every test slice; training: the same step on every batch). Inside `arena.run(fn)`, every tensor buffer of at
 * least MIN_BYTES that `allocate` hands out comes from the arena: the k-th allocation of this
 * run reuses the k-th buffer of the previous run when it is large enough. The buffers are
 * zero-filled like fresh ones (except for `allocateUninitialized`, whose kernel writes every
 * element) and live in shared memory, so the threaded kernels write them directly instead of
 * through a scratch copy.
 *
 * Why: on this VM the first touch of fresh memory costs ≈ 3 ms per MB (page faults), which made
 * a 5.5 MB ReLU output cost 16 ms instead of 3 ms; a run of the arena touches no new memory.
 *
 * The contract: a tensor created inside `run` is valid only until the next `run` of the same
 * arena: reduce what you need to plain numbers (or copy it out) before `run` returns, and a
 * module run inside must not keep a tensor of its forward for a later call (none here does).
 * The users: `evaluate` sums the losses and counts the correct predictions inside each run, and
 * the trainer's `trainStep` returns the loss as a number and sets the gradients (made inside the
 * run) to null before the run ends. Gradients kept across runs (zeroGrad with setToNone false)
 * would be overwritten by the next run: do not do that inside an arena.
 */

/** Allocations smaller than this are left to the garbage collector. */
const MIN_BYTES = 1 << 16;

let current: BufferArena | null = null;

export class BufferArena {
  private readonly slots: SharedArrayBuffer[] = [];
  private next = 0;

  /** Run `fn` with tensor buffers taken from this arena (see the module comment). */
  run<T>(fn: () => T): T {
    if (current === this) throw new Error('BufferArena.run: this arena is already running');
    this.next = 0;
    return runWith(this, fn);
  }

  /** Total bytes held. */
  get bytes(): number {
    return this.slots.reduce((s, b) => s + b.byteLength, 0);
  }

  /** The next buffer of this run (called by `allocate` through `arenaBuffer`), zero-filled if `zero`. */
  take(bytes: number, zero = true): SharedArrayBuffer {
    const k = this.next++;
    let b = this.slots[k];
    if (b === undefined || b.byteLength < bytes) {
      b = new SharedArrayBuffer(bytes);
      this.slots[k] = b;
    } else if (zero) {
      zeroFill(b, bytes);
    }
    return b;
  }
}

// V8 fills a shared buffer element by element (relaxed atomic stores): 4-byte elements fill
// 9.4 MB in ≈ 1.7 ms, bytes in ≈ 7.4 ms (an ArrayBuffer: ≈ 0.4 ms either way).
function zeroFill(b: SharedArrayBuffer, bytes: number): void {
  const words = bytes >>> 2;
  new Int32Array(b, 0, words).fill(0);
  new Uint8Array(b, 4 * words, bytes - 4 * words).fill(0);
}

function runWith<T>(arena: BufferArena, fn: () => T): T {
  const prev = current;
  current = arena;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** Whether a BufferArena is running (its buffers are reused by the next run). */
export function arenaRunning(): boolean {
  return current !== null;
}

/**
 * The running arena's buffer for `bytes` (zero-filled if `zero`; a new buffer always is), or null
 * when none runs or the buffer is small.
 */
export function arenaBuffer(bytes: number, zero = true): SharedArrayBuffer | null {
  return current === null || bytes < MIN_BYTES ? null : current.take(bytes, zero);
}
