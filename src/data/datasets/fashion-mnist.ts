/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): Zalando article images, a harder drop-in for MNIST
 * and exitwise's main benchmark.
 */
import { join } from 'node:path';
import { cacheDir, downloadSource, folderSource, type DataSource, type LocateOptions } from '../locate.ts';
import type { DatasetSpec } from './spec.ts';

const NAME = 'fashion-mnist';

/** The canonical download location, from the README of github.com/zalandoresearch/fashion-mnist. */
export const FASHION_MNIST_BASE_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/**
 * Sizes and SHA-256 of the canonical `.gz` files. Zalando publishes only MD5s; these hashes are of
 * files whose MD5s match the published ones. Plain HTTP is safe because of this check. Note that
 * Debian's copies are re-gzipped headers (file name dropped), so their hashes differ.
 */
export const FASHION_MNIST_FILES = {
  trainImages: { bytes: 26_421_880, sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84' },
  trainLabels: { bytes: 29_515, sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845' },
  testImages: { bytes: 4_422_102, sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073' },
  testLabels: { bytes: 5_148, sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5' },
} as const;

/** Where the Debian/Ubuntu package `dataset-fashion-mnist` installs the files (gzipped). */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const fashionMnist: DatasetSpec = {
  name: NAME,
  description: 'Fashion-MNIST clothing images: 60k train / 10k test, 28×28 grayscale, 10 classes',
  classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  inputShape: [1, 28, 28],
  pixelStats: { mean: 0.28604060, std: 0.35302424 },
  sources(options: LocateOptions): DataSource[] {
    const env = options.env ?? process.env;
    const dataHome = env['EXITWISE_DATA'] || undefined;
    const downloads = cacheDir(NAME, env);
    const systemDir = options.systemDir ?? DEBIAN_FASHION_MNIST_DIR;
    const sources = [
      folderSource({ label: '--data DIR', dir: options.dataDir, remedy: 'pass --data DIR with the four IDX files', explicit: true }),
      folderSource({
        label: `$EXITWISE_DATA/${NAME}`,
        dir: dataHome && join(dataHome, NAME),
        remedy: `set EXITWISE_DATA=DIR with the files in DIR/${NAME}`,
        unsetReason: 'EXITWISE_DATA is not set',
      }),
      folderSource({
        label: `${systemDir} (Debian package dataset-fashion-mnist)`,
        dir: systemDir,
        remedy: 'install it with: sudo apt install dataset-fashion-mnist',
      }),
    ];
    // Without EXITWISE_DATA, downloads go to a cache folder of their own, to look in first.
    if (dataHome === undefined) sources.push(folderSource({ label: `${downloads} (earlier download)`, dir: downloads }));
    if (options.download !== false) {
      const baseUrl = options.download?.baseUrl ?? FASHION_MNIST_BASE_URL;
      sources.push(downloadSource(baseUrl, downloads, FASHION_MNIST_FILES, options.download?.stallTimeoutMs));
    }
    return sources;
  },
};
