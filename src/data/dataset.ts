/**
 * In-memory image classification datasets. Images stay uint8 (60k × 28 × 28 = 47 MB); the loader
 * turns them into normalized float32 one batch at a time.
 */
import { ExitwiseError } from '../errors.ts';
import { readIdxFile } from './idx.ts';

/** One split of a dataset: `count` images of `inputShape`, row-major, and their class labels. */
export interface DatasetSplit {
  /** `count × C × H × W` pixels in [0, 255]. */
  images: Uint8Array;
  /** `count` class indices in [0, classes.length). */
  labels: Uint8Array;
  count: number;
}

/** Mean and standard deviation of the training pixels scaled to [0, 1]. */
export interface PixelStats {
  mean: number;
  std: number;
}

/** A loaded dataset. `test` is the dataset's own test set: never trained or tuned on. */
export interface Dataset {
  name: string;
  classes: string[];
  /** `[C, H, W]` of one image. */
  inputShape: [number, number, number];
  /** Statistics of the training split, for normalization. */
  pixelStats: PixelStats;
  train: DatasetSplit;
  test: DatasetSplit;
  /** Where the files came from (a folder), for provenance. */
  source: string;
}

/** Paths of the four IDX files of a train/test image dataset. */
export interface IdxFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/**
 * Reads an images/labels pair of IDX files and checks them against each other: images must be
 * `[N, H, W]` with the expected H and W, labels `[N]` with values below `classCount`.
 */
export function readIdxSplit(
  imagesPath: string,
  labelsPath: string,
  expect: { inputShape: readonly [number, number, number]; classCount: number },
): DatasetSplit {
  const images = readIdxFile(imagesPath);
  const labels = readIdxFile(labelsPath);
  const [channels, height, width] = expect.inputShape;
  // IDX image files have no channel axis: [N, H, W] for one channel, [N, H, W, C] otherwise.
  const imageDims = channels === 1 ? [height, width] : [height, width, channels];
  if (images.dims.length !== 1 + imageDims.length || imageDims.some((d, i) => images.dims[i + 1] !== d)) {
    throw dimsError(`${imagesPath} has dims [${images.dims.join(', ')}], expected [N, ${imageDims.join(', ')}]`);
  }
  if (labels.dims.length !== 1) {
    throw dimsError(`${labelsPath} has dims [${labels.dims.join(', ')}], expected [N] (one label per image)`);
  }
  const count = images.dims[0]!;
  if (labels.dims[0] !== count) {
    throw dimsError(`${labelsPath} holds ${labels.dims[0]} labels but ${imagesPath} holds ${count} images`);
  }
  const bad = labels.data.findIndex((label) => label >= expect.classCount);
  if (bad >= 0) {
    throw dimsError(
      `${labelsPath}: label ${labels.data[bad]} at index ${bad} is not below the class count ${expect.classCount}`,
    );
  }
  return { images: images.data, labels: labels.data, count };
}

/** Class counts of a split: `histogram[c]` = number of samples labelled c. */
export function labelHistogram(labels: Uint8Array, classCount: number): number[] {
  const histogram = new Array<number>(classCount).fill(0);
  for (const label of labels) histogram[label] = histogram[label]! + 1;
  return histogram;
}

function dimsError(message: string): ExitwiseError {
  return new ExitwiseError('EXW_DATA', message, {
    hint: 'The images and labels files do not belong together: check that both come from the same dataset and split.',
  });
}
