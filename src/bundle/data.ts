/**
 * The data a bundle was made for: how raw pixels become its input (the manifest's
 * preprocessing), and which training images were its validation split. Every tool that feeds a
 * bundle a dataset (eval, tune, bench, report, the demo) reads images through here, so they all
 * see the inputs training saw and tune on the images training held out.
 */
import type { Dataset } from '../data/dataset.ts';
import type { Normalization } from '../data/normalize.ts';
import { DEFAULT_VAL_FRACTION, splitTrainVal } from '../data/splits.ts';
import { ExitwiseError } from '../errors.ts';
import type { BundleManifest, BundleSplit, Preprocessing } from '../schemas/bundle.ts';
import type { EvaluationData } from '../train/evaluate.ts';

/** `train` and `val` are the bundle's split of the training images; `test` is the dataset's own. */
export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

/** The split assumed for bundles that record none (trained elsewhere): exitwise's defaults. */
export const DEFAULT_SPLIT: BundleSplit = { valFraction: DEFAULT_VAL_FRACTION, seed: 0, limit: null };

/** One split of a dataset, ready for a bundle: what `evaluateClassifier` and the runtimes read. */
export interface BundleData extends EvaluationData {
  /** The samples, as indices into `images`/`labels` (always set). */
  indices: Int32Array;
  /** Dims of one input as the bundle's stage 0 takes it (`[C, H, W]`, or `[H, W, C]` for NHWC). */
  inputDims: number[];
  /** Number of samples. */
  count: number;
}

/** The manifest preprocessing of a loader normalization: 8-bit pixels scaled by 1/255, then standardized. */
export function preprocessingOf(normalize: Normalization, layout: Preprocessing['layout'] = 'NCHW'): Preprocessing {
  const { mean, std } = normalize === 'unit' ? { mean: 0, std: 1 } : normalize;
  return { scale: 1 / 255, mean: [mean], std: [std], layout };
}

/**
 * The loader normalization equivalent to a manifest preprocessing on 8-bit pixels:
 * `(p·scale − m) / s = (p/255 − m/(255·scale)) / (s/(255·scale))`. Absent preprocessing means
 * pixels scaled to [0, 1]. `EXW_BUNDLE` for per-channel values that differ (the built-in datasets
 * have one channel) or a non-positive scale.
 */
export function normalizationOf(preprocessing: Preprocessing | undefined): Normalization {
  if (preprocessing === undefined) return 'unit';
  const { scale, mean, std } = preprocessing;
  if (!(scale > 0)) throw new ExitwiseError('EXW_BUNDLE', `the bundle's preprocessing scale is ${scale}; it must be positive`, { hint: 'Re-export the bundle with a positive scale (1/255 for 8-bit pixels).' });
  if (new Set(mean).size > 1 || new Set(std).size > 1) {
    throw new ExitwiseError('EXW_BUNDLE', `the bundle normalizes channels differently (mean [${mean.join(', ')}], std [${std.join(', ')}]), but the built-in datasets have one channel`, {
      hint: 'Use a bundle made for single-channel images, or feed inputs already preprocessed through the API.',
    });
  }
  const factor = 255 * scale;
  return { mean: mean[0]! / factor, std: std[0]! / factor };
}

/**
 * The images of `split` preprocessed as `manifest` says. `val` and `train` follow the split the
 * manifest records (`DEFAULT_SPLIT` when it records none). `EXW_USAGE` when the dataset's images
 * do not fit the bundle's input.
 *
 * @example
 * const val = bundleSplitData(manifest, await loadDataset('fashion-mnist'), 'val');
 * const outputs = await collectExitOutputs(bundle, val);
 */
export function bundleSplitData(manifest: BundleManifest, dataset: Dataset, split: SplitName): BundleData {
  const inputDims = checkFits(manifest, dataset);
  const normalize = normalizationOf(manifest.input.preprocessing);
  const common = { inputShape: dataset.inputShape, normalize, inputDims } as const;
  if (split === 'test') {
    const { images, labels, count } = dataset.test;
    return { ...common, images, labels, count, indices: Int32Array.from({ length: count }, (_, i) => i) };
  }
  const recorded = manifest.provenance.split ?? DEFAULT_SPLIT;
  const count = Math.min(recorded.limit ?? dataset.train.count, dataset.train.count);
  const parts = splitTrainVal({ labels: dataset.train.labels.subarray(0, count), count }, { valFraction: recorded.valFraction, seed: recorded.seed });
  const indices = split === 'val' ? parts.val : parts.train;
  return { ...common, images: dataset.train.images, labels: dataset.train.labels, indices, count: indices.length };
}

/** Per-sample input dims of the bundle, checked against the dataset's image shape. */
function checkFits(manifest: BundleManifest, dataset: Dataset): number[] {
  const [c, h, w] = dataset.inputShape;
  const layout = manifest.input.preprocessing?.layout ?? 'NCHW';
  const expected = layout === 'NCHW' ? [c, h, w] : [h, w, c];
  const dims = manifest.input.shape.slice(1);
  const fits = dims.length === 3 && dims.every((d, i) => typeof d !== 'number' || d === expected[i]);
  if (!fits || manifest.task.classes.length !== dataset.classes.length) {
    throw new ExitwiseError('EXW_USAGE', `the bundle takes [${manifest.input.shape.join(', ')}] inputs (${layout}) with ${manifest.task.classes.length} classes; ${dataset.name} has [${dataset.inputShape.join(', ')}] images in ${dataset.classes.length} classes`, {
      hint: `Use the dataset the bundle was made for (${manifest.provenance.dataset}).`,
    });
  }
  return expected;
}
