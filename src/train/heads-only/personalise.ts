/**
 * Personalisation: a bundle's early exits retrained on one user's unlabelled images, with the
 * final exit's predictions as pseudo-labels (optionally distilling from it too). The backbone and
 * the final exit are untouched, so the personalised exits learn to agree early with what the full
 * model says on this user's data, which is narrower than the dataset the exits were made for.
 */
import type { Bundle } from '../../bundle/io.ts';
import { normalizationOf } from '../../bundle/data.ts';
import { saveMultiExitBundle } from '../../bundle/from-model.ts';
import { splitTrainVal } from '../../data/splits.ts';
import { ExitwiseError } from '../../errors.ts';
import type { MultiExitModel } from '../../exits/attach.ts';
import type { BundleManifest } from '../../schemas/bundle.ts';
import type { HeadsOnlyConfig } from './config.ts';
import { type ExitScore, scoreExits } from './evaluate.ts';
import type { HeadsOnlyData } from './features.ts';
import { multiExitFromBundle } from './from-bundle.ts';
import { type HeadsOnlyOptions, type HeadsOnlyResult, trainHeadsOnly } from './heads-only.ts';

/**
 * 20% of the user's images are held out to measure the exits before and after: a user brings
 * hundreds to a few thousand images, and agreement near 90% needs a few hundred held-out images
 * to be known within ±2–3%.
 */
export const DEFAULT_USER_VAL_FRACTION = 0.2;

/** The user's images, in the bundle input's layout (e.g. from `readUserImages`). */
export interface UserData {
  /** `count × ∏ inputDims` 8-bit pixels. */
  images: Uint8Array;
  count: number;
  /** True labels, when the user is simulated from a dataset: reported, never trained on. */
  labels?: Uint8Array;
}

export interface PersonaliseConfig extends Omit<HeadsOnlyConfig, 'targets'> {
  /** Fraction of the user's images held out for the before/after comparison (default 0.2). */
  valFraction?: number;
}

/** Every exit before and after, on one set of images, final exit last. */
export interface BeforeAfter {
  samples: number;
  before: ExitScore[];
  after: ExitScore[];
}

export interface PersonaliseResult {
  /** The personalised model: the bundle's, with retrained early exits. */
  multiExit: MultiExitModel;
  training: Omit<HeadsOnlyResult, 'multiExit'>;
  /** On the user's held-out images (accuracy only when labels were given). */
  userVal: BeforeAfter;
  /** On `test`, when given. */
  test: BeforeAfter | null;
}

/**
 * Personalises `bundle` (from `loadBundle`) on `user`'s images; `test`, if given, is scored before
 * and after as well (e.g. the test images of the classes the simulated user has).
 *
 * @example
 * const user = readUserImages('photos/', { inputDims: [1, 28, 28], layout: 'NCHW' });
 * const result = await personaliseBundle(loadBundle('fashion.exitwise'), user);
 * savePersonalisedBundle('mine.exitwise', bundle.manifest, result.multiExit, 'user:photos');
 */
export async function personaliseBundle(bundle: Bundle, user: UserData, config: PersonaliseConfig = {}, options: HeadsOnlyOptions & { test?: HeadsOnlyData } = {}): Promise<PersonaliseResult> {
  const { valFraction = DEFAULT_USER_VAL_FRACTION, ...headsConfig } = config;
  const { manifest } = bundle;
  const inputDims = manifest.input.shape.slice(1);
  if (!inputDims.every((d): d is number => typeof d === 'number')) {
    throw new ExitwiseError('EXW_USAGE', `the bundle's input [${manifest.input.shape.join(', ')}] has symbolic dims besides the batch`, { hint: 'Personalisation needs a bundle with a fixed image size.' });
  }
  const size = inputDims.reduce((n, d) => n * d, 1);
  if (user.images.length !== user.count * size) throw new ExitwiseError('EXW_USAGE', `${user.images.length} pixels for ${user.count} images of [${inputDims.join(', ')}]`, { hint: 'Read the images in the bundle input\'s layout (readUserImages).' });
  if (user.count < 2) throw new ExitwiseError('EXW_DATA', `${user.count} user image${user.count === 1 ? '' : 's'}: too few to train on and hold some out`, { hint: 'Give at least a few hundred images.' });
  // Split without the labels: a real user has none, so the simulation must not stratify by them.
  const split = splitTrainVal({ labels: new Uint8Array(user.count), count: user.count }, { valFraction, seed: headsConfig.seed ?? 0 });
  const normalize = normalizationOf(manifest.input.preprocessing);
  const part = (indices: Int32Array, labelled: boolean): HeadsOnlyData => ({
    images: user.images, indices, inputDims, normalize, ...(labelled && user.labels !== undefined ? { labels: user.labels } : {}),
  });
  const original = multiExitFromBundle(bundle);
  const threads = options.threads === undefined ? {} : { threads: options.threads };
  const { multiExit, ...training } = await trainHeadsOnly(original, { train: part(split.train, false), val: part(split.val, true) }, { ...headsConfig, targets: 'pseudo' }, options);
  const compare = async (data: HeadsOnlyData): Promise<BeforeAfter> => ({
    samples: data.indices.length, before: await scoreExits(original, data, threads), after: await scoreExits(multiExit, data, threads),
  });
  return {
    multiExit, training,
    userVal: await compare(part(split.val, true)),
    test: options.test === undefined ? null : await compare(options.test),
  };
}

/**
 * Writes the personalised bundle to `dir` (never over the original: `EXW_IO` if `dir` exists):
 * strategy `personalised`, the original's task, preprocessing, split and device profiles (the
 * segments cost the same). The early exits' calibration temperatures are reset to 1 and the
 * policy dropped: both were fitted to the old exits; tune them again (`exitwise tune`).
 */
export function savePersonalisedBundle(dir: string, original: BundleManifest, multiExit: MultiExitModel, dataset: string): BundleManifest {
  const finalTemperature = original.exits.at(-1)!.temperature;
  return saveMultiExitBundle(dir, multiExit, {
    classes: original.task.classes,
    ...(original.input.preprocessing === undefined ? {} : { preprocessing: original.input.preprocessing }),
    temperatures: original.exits.map((_, k) => (k === original.exits.length - 1 ? finalTemperature : 1)),
    ...(original.profiles === undefined ? {} : { profiles: original.profiles }),
    provenance: { dataset, strategy: 'personalised', ...(original.provenance.split === undefined ? {} : { split: original.provenance.split }) },
  });
}
