/**
 * Seeded random numbers. The generator is the Mersenne Twister (mt19937) that PyTorch's CPU
 * generator uses, and uniform floats are drawn the way PyTorch draws them (24 random bits for
 * float32, 53 for float64), so `manualSeed(0); rand([3])` gives PyTorch's 0.4963, 0.7682, 0.0885.
 * Pure 32-bit integer arithmetic: the same seed gives the same numbers on every machine.
 */

const N = 624;
const M = 397;
const TWO_POW_24_INV = 1 / 16777216;
const TWO_POW_53_INV = 1 / 9007199254740992;

/** PyTorch's default seed, used until `manualSeed` is called. */
export const DEFAULT_SEED = 67280421310721;

export interface GeneratorState {
  seed: number;
  mt: number[];
  index: number;
  nextNormal: number | null;
}

export class Generator {
  private readonly mt = new Uint32Array(N);
  private index = N;
  private seed = DEFAULT_SEED;
  /** Second Box-Muller sample kept for the next scalar normal draw, as PyTorch does. */
  private nextNormal: number | null = null;

  constructor(seed: number = DEFAULT_SEED) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new Error(`manualSeed: seed must be a non-negative safe integer, got ${seed}`);
    }
    this.seed = seed;
    const mt = this.mt;
    mt[0] = seed % 4294967296;
    for (let i = 1; i < N; i++) {
      const x = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = Math.imul(1812433253, x) + i;
    }
    this.index = N;
    this.nextNormal = null;
    return this;
  }

  initialSeed(): number {
    return this.seed;
  }

  /** Next raw 32-bit output (unsigned). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
      mt[i] = mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** Uniform in [0, 1) with 24 random bits (PyTorch's float32 draw). */
  uniform32(): number {
    return (this.nextUint32() & 0xffffff) * TWO_POW_24_INV;
  }

  /** Uniform in [0, 1) with 53 random bits (PyTorch's float64 draw: hi word first). */
  uniform64(): number {
    const hi = this.nextUint32();
    const lo = this.nextUint32();
    return ((hi & 0x1fffff) * 4294967296 + lo) * TWO_POW_53_INV;
  }

  /** Standard normal from two float64 uniforms (Box-Muller), caching the second sample. */
  normal(): number {
    if (this.nextNormal !== null) {
      const v = this.nextNormal;
      this.nextNormal = null;
      return v;
    }
    const u1 = this.uniform64();
    const u2 = this.uniform64();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.nextNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Integer in [low, high), as PyTorch's `random_(from, to)` for ranges below 2^32. */
  int(low: number, high: number): number {
    const range = high - low;
    if (!(range > 0) || range > 4294967296) {
      throw new Error(`randint: need low < high with high - low <= 2^32, got [${low}, ${high})`);
    }
    return (this.nextUint32() % range) + low;
  }

  getState(): GeneratorState {
    return {
      seed: this.seed,
      mt: Array.from(this.mt),
      index: this.index,
      nextNormal: this.nextNormal,
    };
  }

  setState(state: GeneratorState): this {
    if (
      !Array.isArray(state.mt) ||
      state.mt.length !== N ||
      !(state.index >= 0 && state.index <= N)
    ) {
      throw new Error(`Generator.setState: expected ${N} state words and an index in 0..${N}`);
    }
    this.mt.set(state.mt);
    this.index = state.index;
    this.seed = state.seed;
    this.nextNormal = state.nextNormal;
    return this;
  }
}

/** The global generator used when an op is not given one (like torch's default CPU generator). */
export const defaultGenerator = new Generator();

/** Seed the global generator (`torch.manual_seed`). */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}

/** A random permutation of 0..n-1, drawn as PyTorch's CPU `randperm` draws it. */
export function randpermArray(n: number, gen: Generator = defaultGenerator): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  for (let i = 0; i < n - 1; i++) {
    const z = gen.nextUint32() % (n - i);
    const t = r[i]!;
    r[i] = r[z + i]!;
    r[z + i] = t;
  }
  return r;
}
