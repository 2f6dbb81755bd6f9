/**
 * Random augmentation of a training batch, drawn per image from a seeded generator.
 *
 * `randomTranslate` is torchvision's `RandomAffine(degrees=0, translate=(a, b))` restricted to
 * translations: each image moves by whole pixels dx = round(U(−a·W, a·W)),
 * dy = round(U(−b·H, b·H)) (Python's round: half to even), and the uncovered border takes the
 * `fill` value. torchvision applies it to the image before ToTensor/Normalize with fill 0; on a
 * normalized batch the same result needs fill = (0 − mean) / std, which `normalizedFill` gives.
 * Rotation, scaling and shear are not implemented.
 */
import { Tensor } from '../tensor/tensor.ts';
import { Generator, defaultGenerator } from '../tensor/random.ts';
import { roundHalfEven } from '../nn/ste.ts';
import { allocate } from '../tensor/dtype.ts';

/** The value a 0 pixel has after ToTensor + Normalize(mean, std), in float32 steps. */
export function normalizedFill(mean: number, std: number): number {
  return Math.fround(Math.fround(0 - Math.fround(mean)) / Math.fround(std));
}

/**
 * A copy of the batch x [N, C, H, W] with every image shifted by its own random (dx, dy),
 * at most translate[0]·W and translate[1]·H pixels each way.
 */
export function randomTranslate(
  x: Tensor,
  translate: readonly [number, number],
  fill = 0,
  gen: Generator = defaultGenerator,
): Tensor {
  const [a, b] = translate;
  if (x.ndim !== 4) {
    throw new Error(
      `randomTranslate: expected an [N, C, H, W] batch, got shape [${x.shape.join(', ')}]`,
    );
  }
  if (!(a >= 0 && a <= 1 && b >= 0 && b <= 1)) {
    throw new Error(`randomTranslate: translate fractions must be in [0, 1], got [${a}, ${b}]`);
  }
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const src = x.contiguous()._flat();
  const out = allocate(x.dtype, src.length);
  const maxDx = a * w;
  const maxDy = b * h;
  for (let i = 0; i < n; i++) {
    // torchvision draws tx, then ty: uniform(−max, max) each, rounded
    const dx = roundHalfEven(-maxDx + 2 * maxDx * gen.uniform64());
    const dy = roundHalfEven(-maxDy + 2 * maxDy * gen.uniform64());
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * h * w;
      for (let y = 0; y < h; y++) {
        const sy = y - dy;
        for (let xx = 0; xx < w; xx++) {
          const sx = xx - dx;
          out[base + y * w + xx] =
            sy >= 0 && sy < h && sx >= 0 && sx < w ? src[base + sy * w + sx]! : fill;
        }
      }
    }
  }
  return Tensor.fromData(out, x.shape);
}
