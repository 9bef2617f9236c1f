/**
 * The dataset registry: every dataset exitwise can load, keyed by name. Adding one is one file in
 * `datasets/` and one line here.
 */
import { dirname } from 'node:path';
import { ExitwiseError } from '../errors.ts';
import { readIdxSplit, type Dataset } from './dataset.ts';
import { fashionMnist } from './datasets/fashion-mnist.ts';
import { mnist } from './datasets/mnist.ts';
import type { DatasetSpec } from './datasets/spec.ts';
import { locateFirst, type LocateOptions } from './locate.ts';

export const DATASETS: Readonly<Record<string, DatasetSpec>> = {
  [mnist.name]: mnist,
  [fashionMnist.name]: fashionMnist,
};

/** The spec registered under `name`, or an `EXW_USAGE` error listing the known names. */
export function datasetSpec(name: string): DatasetSpec {
  const spec = Object.hasOwn(DATASETS, name) ? DATASETS[name] : undefined;
  if (spec === undefined) {
    throw new ExitwiseError('EXW_USAGE', `unknown dataset "${name}"`, {
      hint: `Known datasets: ${Object.keys(DATASETS).join(', ')}.`,
    });
  }
  return spec;
}

/**
 * Locates (downloading if needed) and reads a dataset into memory.
 *
 * @example
 * const data = await loadDataset('mnist');
 * // data.train.count = 60000, data.test.count = 10000
 */
export async function loadDataset(name: string, options: LocateOptions = {}): Promise<Dataset> {
  const spec = datasetSpec(name);
  const files = await locateFirst(name, spec.sources(options));
  const expect = { inputShape: spec.inputShape, classCount: spec.classes.length };
  return {
    name,
    classes: [...spec.classes],
    inputShape: [...spec.inputShape],
    pixelStats: { ...spec.pixelStats },
    train: readIdxSplit(files.trainImages, files.trainLabels, expect),
    test: readIdxSplit(files.testImages, files.testLabels, expect),
    source: dirname(files.trainImages),
  };
}
