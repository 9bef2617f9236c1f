import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { writeImage } from '../../src/data/augment.ts';
import { BatchLoader, type Batch, type BatchLoaderOptions } from '../../src/data/loader.ts';
import { pixelTable } from '../../src/data/normalize.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { splitTrainVal } from '../../src/data/splits.ts';

async function collect(batches: AsyncIterable<Batch>): Promise<Batch[]> {
  const all: Batch[] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

describe('BatchLoader on MNIST test images', async () => {
  const data = await loadDataset('mnist', { env: {}, download: false });
  const { images, labels } = data.test; // 10k images keep the tests quick
  const { train } = splitTrainVal(data.test, { seed: 1 }); // 9000 indices
  const base: BatchLoaderOptions = { images, labels, indices: train, batchSize: 128, shuffle: true, seed: 11, normalize: 'unit' };
  const augmented: BatchLoaderOptions = { ...base, augment: { cropPadding: 2, horizontalFlip: true } };

  it('yields every index exactly once per epoch, last batch partial', async () => {
    const loader = new BatchLoader(base);
    assert.equal(loader.batchesPerEpoch, Math.ceil(9000 / 128));
    const batches = await collect(loader.epoch(0));
    assert.equal(batches.length, 71);
    assert.equal(batches.at(-1)!.size, 9000 - 70 * 128);
    const seen = batches.flatMap((b) => [...b.indices]).sort((a, b) => a - b);
    assert.deepEqual(seen, [...train]);
    batches.forEach((b, k) => assert.equal(b.batch, k));
  });

  it('drops the incomplete last batch with dropLast', async () => {
    const batches = await collect(new BatchLoader({ ...base, dropLast: true }).epoch(0));
    assert.equal(batches.length, 70);
    assert.ok(batches.every((b) => b.size === 128 && b.x.length === 128 * 784));
    assert.equal(new Set(batches.flatMap((b) => [...b.indices])).size, 70 * 128);
  });

  it('keeps the given order without shuffle', async () => {
    const batches = await collect(new BatchLoader({ ...base, shuffle: false }).epoch(3));
    assert.deepEqual(batches.flatMap((b) => [...b.indices]), [...train]);
  });

  it('is determined by (seed, epoch): same twice, different across epochs and seeds', async () => {
    const [a, b] = [new BatchLoader(augmented), new BatchLoader(augmented)];
    assert.deepEqual(a.order(2), b.order(2));
    assert.deepEqual(a.batch(2, 5), b.batch(2, 5));
    assert.notDeepEqual(a.order(2), a.order(3));
    assert.notDeepEqual(a.order(2), new BatchLoader({ ...augmented, seed: 12 }).order(2));
    // Same order, different augmentation draws across epochs: x differs for the same samples.
    const order = a.order(0);
    assert.notDeepEqual(a.batch(0, 0, order).x, a.batch(1, 0, order).x);
  });

  it('resumed at batch k gives exactly the batches of an uninterrupted epoch', async () => {
    const loader = new BatchLoader(augmented);
    const full = await collect(loader.epoch(4));
    const resumed = await collect(new BatchLoader(augmented).epoch(4, { startBatch: 37 }));
    assert.equal(resumed.length, full.length - 37);
    resumed.forEach((batch, i) => assert.deepEqual(batch, full[37 + i]));
    assert.deepEqual(await collect(loader.epoch(4, { startBatch: loader.batchesPerEpoch })), []);
  });

  it('normalizes each sample without augmentation, labels as int64 or int32', () => {
    const table = pixelTable(data.pixelStats);
    const loader = new BatchLoader({ ...base, normalize: data.pixelStats });
    const batch = loader.batch(0, 3);
    for (let s = 0; s < batch.size; s++) {
      const i = batch.indices[s]!;
      for (const p of [0, 200, 406, 783]) assert.equal(batch.x[s * 784 + p], table[images[i * 784 + p]!]);
      assert.equal(batch.y[s], BigInt(labels[i]!));
    }
    assert.ok(batch.y instanceof BigInt64Array);
    const int32 = new BatchLoader({ ...base, labelType: 'int32' }).batch(0, 3);
    assert.ok(int32.y instanceof Int32Array);
    assert.deepEqual([...int32.y], [...batch.y].map(Number));
  });

  it('standardizes to mean ≈ 0 and std ≈ 1 with the dataset pixelStats', async () => {
    const { images, labels } = data.train; // all 60k: pixelStats describe the training set
    const loader = new BatchLoader({ images, labels, batchSize: 1000, shuffle: false, normalize: data.pixelStats });
    assert.equal(loader.batchesPerEpoch, 60);
    let [sum, squares, n] = [0, 0, 0];
    for await (const { x } of loader.epoch(0)) {
      for (const v of x) {
        sum += v;
        squares += v * v;
      }
      n += x.length;
    }
    assert.ok(Math.abs(sum / n) < 1e-4, `mean ${sum / n}`);
    assert.ok(Math.abs(Math.sqrt(squares / n) - 1) < 1e-4, `std ${Math.sqrt(squares / n)}`);
  });

  it('augments each sample by one crop shift and flip, and varies them', () => {
    const table = pixelTable('unit');
    const batch = new BatchLoader(augmented).batch(0, 0);
    const candidates: { dx: number; dy: number; flip: boolean }[] = [];
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) for (const flip of [false, true]) candidates.push({ dx, dy, flip });
    const used = new Set<string>();
    const out = new Float32Array(784);
    for (let s = 0; s < batch.size; s++) {
      const x = batch.x.subarray(s * 784, (s + 1) * 784);
      const match = candidates.filter((t) => {
        writeImage(images, batch.indices[s]! * 784, [1, 28, 28], t, table, out, 0);
        return out.every((v, p) => v === x[p]);
      });
      assert.ok(match.length >= 1, `sample ${s} is no crop/flip of its image`);
      if (match.length === 1) used.add(JSON.stringify(match[0]));
    }
    assert.ok(used.size > 20, `only ${used.size} distinct transforms in a batch of 128`);
  });

  it('rejects bad options and out-of-range batches', () => {
    const usage = (e: unknown) => isExitwiseError(e, 'EXW_USAGE');
    assert.throws(() => new BatchLoader({ ...base, batchSize: 0 }), usage);
    assert.throws(() => new BatchLoader({ ...base, images: images.subarray(1) }), usage);
    assert.throws(() => new BatchLoader({ ...base, indices: Int32Array.of(0, 10000) }), usage);
    assert.throws(() => new BatchLoader({ ...base, seed: -1 }), usage);
    assert.throws(() => new BatchLoader(base).batch(0, 71), usage);
  });
});
