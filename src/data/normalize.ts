/**
 * Pixel normalization. A uint8 pixel has 256 possible values, so normalization is a 256-entry
 * lookup table: exact, and cheaper per pixel than a divide and a subtract.
 */
import { ExitwiseError } from '../errors.ts';
import type { PixelStats } from './dataset.ts';

/**
 * How pixels become model inputs: `'unit'` maps [0, 255] to [0, 1]; `{mean, std}` then
 * standardizes, `(p / 255 - mean) / std` (torchvision's `ToTensor` + `Normalize`).
 */
export type Normalization = 'unit' | PixelStats;

/** `table[p]` = the model input for pixel value p. */
export function pixelTable(normalization: Normalization): Float32Array {
  const { mean, std } = normalization === 'unit' ? { mean: 0, std: 1 } : normalization;
  if (!(std > 0) || !Number.isFinite(mean)) {
    throw new ExitwiseError('EXW_USAGE', `normalization needs a finite mean and a positive std, got ${mean} and ${std}`, {
      hint: "Use the dataset's pixelStats, or 'unit' for [0, 1] inputs.",
    });
  }
  const table = new Float32Array(256);
  for (let p = 0; p < 256; p++) table[p] = (p / 255 - mean) / std;
  return table;
}
