/**
 * Image augmentation for training: random crop with zero padding and random horizontal flip, as
 * torchvision's `RandomCrop(size, padding)` + `RandomHorizontalFlip()`. Both are fused with
 * normalization into one pass that writes the model input directly.
 */
import { ExitwiseError } from '../errors.ts';
import type { Rng } from './random.ts';

export interface AugmentOptions {
  /**
   * Pad each side with this many zero pixels, then crop back to the original size at a random
   * offset: a shift by up to ±cropPadding in each direction. 0 or absent: no crop.
   */
  cropPadding?: number;
  /** Mirror left–right with probability 1/2. */
  horizontalFlip?: boolean;
}

/** The transform applied to one image: output (y, x) reads input (y + dy, x' + dx), x' = x or W−1−x. */
export interface ImageTransform {
  dx: number;
  dy: number;
  flip: boolean;
}

export const IDENTITY_TRANSFORM: Readonly<ImageTransform> = { dx: 0, dy: 0, flip: false };

/** Checks augmentation options; returns them unchanged. */
export function checkAugment(options: AugmentOptions, inputShape: readonly [number, number, number]): AugmentOptions {
  const padding = options.cropPadding ?? 0;
  const side = Math.min(inputShape[1], inputShape[2]);
  if (!Number.isInteger(padding) || padding < 0 || padding >= side) {
    throw new ExitwiseError('EXW_USAGE', `cropPadding ${padding} is not an integer in [0, ${side})`, {
      hint: 'Use a small padding such as 2 or 4 pixels (4 is the usual choice for 28×28 and 32×32 images).',
    });
  }
  return options;
}

/** Draws one image's transform. Always draws the same count of numbers, whatever the options. */
export function sampleTransform(rng: Rng, options: AugmentOptions): ImageTransform {
  const padding = options.cropPadding ?? 0;
  const dy = rng.int(2 * padding + 1) - padding;
  const dx = rng.int(2 * padding + 1) - padding;
  const flip = rng.next() < 0.5;
  return { dx, dy, flip: flip && options.horizontalFlip === true };
}

/**
 * Writes one `[C, H, W]` image from `source` (uint8, starting at `sourceOffset`) into `target`
 * (starting at `targetOffset`), transformed by `t` and mapped through `table` (pixel → input).
 * Pixels shifted in from outside the image are 0, mapped like any other pixel.
 */
export function writeImage(
  source: Uint8Array,
  sourceOffset: number,
  shape: readonly [number, number, number],
  t: Readonly<ImageTransform>,
  table: Float32Array,
  target: Float32Array,
  targetOffset: number,
): void {
  const [channels, height, width] = shape;
  const fill = table[0]!;
  // Output columns [x0, x1) read inside the image; the rest are fill.
  const x0 = Math.max(0, t.flip ? t.dx : -t.dx);
  const x1 = Math.min(width, t.flip ? width + t.dx : width - t.dx);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const out = targetOffset + (c * height + y) * width;
      const sy = y + t.dy;
      if (sy < 0 || sy >= height) {
        target.fill(fill, out, out + width);
        continue;
      }
      const row = sourceOffset + (c * height + sy) * width;
      target.fill(fill, out, out + x0);
      if (t.flip) {
        const base = row + width - 1 + t.dx;
        for (let x = x0; x < x1; x++) target[out + x] = table[source[base - x]!]!;
      } else {
        const base = row + t.dx;
        for (let x = x0; x < x1; x++) target[out + x] = table[source[base + x]!]!;
      }
      target.fill(fill, out + x1, out + width);
    }
  }
}
