/** The data of a training run: the train/val split of the training images, the loader, and what evaluation reads. */
import type { Dataset } from '../data/dataset.ts';
import { BatchLoader } from '../data/loader.ts';
import { splitTrainVal } from '../data/splits.ts';
import { ExitwiseError } from '../errors.ts';
import type { EvaluationData } from './evaluate.ts';
import type { TrainConfig } from './run-config.ts';

export interface PreparedData {
  loader: BatchLoader;
  trainCount: number;
  /** The training samples (indices into the dataset's training images). */
  trainIndices: Int32Array;
  val: EvaluationData;
  test: EvaluationData;
}

/**
 * The (limited) training images split into train and val, the shuffling loader, and the test
 * split. `EXW_USAGE` when the model does not fit the dataset, or the limit leaves less than a batch.
 */
export function prepareData(dataset: Dataset, config: TrainConfig): PreparedData {
  checkFits(config, dataset);
  const { train: all, test, inputShape, pixelStats } = dataset;
  const count = config.limit ?? all.count;
  if (count > all.count) {
    throw new ExitwiseError('EXW_USAGE', `limit ${count} exceeds the ${all.count} training images of ${dataset.name}`, { hint: `Give a limit of at most ${all.count}, or none.` });
  }
  const split = splitTrainVal({ labels: all.labels.subarray(0, count), count }, { valFraction: config.valFraction, seed: config.seed });
  if (split.train.length < config.batchSize) {
    throw new ExitwiseError('EXW_USAGE', `${split.train.length} training images are fewer than one batch of ${config.batchSize}`, { hint: 'Lower the batch size or raise the limit.' });
  }
  const loader = new BatchLoader({
    images: all.images, labels: all.labels, inputShape, indices: split.train, batchSize: config.batchSize, shuffle: true,
    seed: config.seed, normalize: pixelStats, augment: config.augment,
  });
  const common = { inputShape, normalize: pixelStats } as const;
  return {
    loader, trainCount: split.train.length, trainIndices: split.train,
    val: { ...common, images: all.images, labels: all.labels, indices: split.val },
    test: { ...common, images: test.images, labels: test.labels },
  };
}

/** `EXW_USAGE` when the dataset is not the config's, or the model's input or classes do not match it. */
function checkFits(config: TrainConfig, dataset: Dataset): void {
  if (dataset.name !== config.dataset) {
    throw new ExitwiseError('EXW_USAGE', `the config trains on ${config.dataset}, but the dataset given is ${dataset.name}`, {
      hint: 'Pass the dataset the config names (its augmentation defaults and the run record depend on it).',
    });
  }
  const { inputShape, classes } = config.arch;
  if (inputShape.join() !== dataset.inputShape.join() || classes !== dataset.classes.length) {
    throw new ExitwiseError('EXW_USAGE', `the model takes [${inputShape.join(', ')}] inputs with ${classes} classes; ${dataset.name} has [${dataset.inputShape.join(', ')}] images in ${dataset.classes.length} classes`, {
      hint: 'Leave inputShape and classes out of the architecture spec: they default to the dataset\'s.',
    });
  }
}
