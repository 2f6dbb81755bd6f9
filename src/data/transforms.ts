/**
 * torchvision-style transforms on one image held as a Float32Array in CHW order. They are
 * deterministic, so datasets apply them once, up front (no per-epoch cost).
 */
export interface Transform {
  /** Maps raw values (uint8 pixels, or the previous transform's floats) to new values. */
  apply(x: Float32Array): Float32Array;
}

/** uint8 pixels → floats in [0, 1] (`transforms.ToTensor`), rounded to float32 as torch does. */
export class ToTensor implements Transform {
  apply(x: Float32Array): Float32Array {
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(x[i]! / 255);
    return x;
  }
}

/** (x − mean) / std per element (`transforms.Normalize` with one channel), in float32 steps. */
export class Normalize implements Transform {
  private readonly mean: number;
  private readonly std: number;
  constructor(mean: number, std: number) {
    if (!(std !== 0 && Number.isFinite(std) && Number.isFinite(mean))) {
      throw new Error(
        `Normalize: std must be finite and non-zero and mean finite, got mean ${mean}, std ${std}`,
      );
    }
    this.mean = Math.fround(mean);
    this.std = Math.fround(std);
  }
  apply(x: Float32Array): Float32Array {
    for (let i = 0; i < x.length; i++)
      x[i] = Math.fround(Math.fround(x[i]! - this.mean) / this.std);
    return x;
  }
}

/** Applies transforms in order (`transforms.Compose`). */
export class Compose implements Transform {
  constructor(readonly transforms: readonly Transform[]) {}
  apply(x: Float32Array): Float32Array {
    for (const t of this.transforms) x = t.apply(x);
    return x;
  }
}
