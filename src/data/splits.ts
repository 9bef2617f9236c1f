/**
 * Train/validation splits. Exit thresholds and calibration are fitted on `val`, which is held out
 * from the training images; the dataset's own test set is never mixed in (DESIGN: honest
 * evaluation).
 */
import { ExitwiseError } from '../errors.ts';
import type { DatasetSplit } from './dataset.ts';
import { deriveSeed, Rng, shuffleInPlace } from './random.ts';

/**
 * 10% of the training set: 6,000 images on (Fashion-)MNIST, enough to estimate a 90% accuracy to
 * ±0.4% (one standard error) when tuning thresholds, while keeping 54,000 images for training.
 */
export const DEFAULT_VAL_FRACTION = 0.1;

/** Sample indices into a training split. Both arrays are sorted ascending and disjoint. */
export interface TrainValSplit {
  train: Int32Array;
  val: Int32Array;
}

export interface SplitOptions {
  /** Fraction of samples held out for validation, in (0, 1). Default {@link DEFAULT_VAL_FRACTION}. */
  valFraction?: number;
  /** The same seed gives the same split. Default 0. */
  seed?: number;
}

/** Seed stream for splits, apart from the loader's shuffle and augmentation streams. */
const STREAM_SPLIT = 1;

/**
 * Splits `split` into train and validation indices, stratified by class: each class gives
 * the same fraction to `val`, so `val` keeps the class balance of the full training set.
 *
 * @example
 * const { train, val } = splitTrainVal(dataset.train, { seed: 42 });
 * // val.length = 6000 for MNIST's 60000 training images
 */
export function splitTrainVal(split: Pick<DatasetSplit, 'labels' | 'count'>, options: SplitOptions = {}): TrainValSplit {
  const { valFraction = DEFAULT_VAL_FRACTION, seed = 0 } = options;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new ExitwiseError('EXW_USAGE', `valFraction ${valFraction} is not in (0, 1)`, {
      hint: 'Pass a fraction such as 0.1 (10% of the training images held out).',
    });
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < split.count; i++) {
    const label = split.labels[i]!;
    const members = byClass.get(label);
    if (members === undefined) byClass.set(label, [i]);
    else members.push(i);
  }
  const rng = new Rng(deriveSeed(seed, STREAM_SPLIT));
  const val: number[] = [];
  // Round the running total, not each class, so that |val| = round(count × fraction) exactly.
  let seen = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = shuffleInPlace(byClass.get(label)!, rng);
    const take = Math.round((seen + members.length) * valFraction) - Math.round(seen * valFraction);
    seen += members.length;
    val.push(...members.slice(0, take));
  }
  const valSorted = Int32Array.from(val).sort();
  const inVal = new Uint8Array(split.count);
  for (const i of valSorted) inVal[i] = 1;
  const train = new Int32Array(split.count - valSorted.length);
  let t = 0;
  for (let i = 0; i < split.count; i++) if (inVal[i] === 0) train[t++] = i;
  return { train, val: valSorted };
}
