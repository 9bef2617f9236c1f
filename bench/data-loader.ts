/**
 * Batch preparation cost of the data loader on Fashion-MNIST (falls back to MNIST): batch 128,
 * standardized, random crop (padding 2) + horizontal flip. Training runs at ≈ 3.5k samples/s,
 * i.e. ≈ 36 ms per batch of 128; preparation must stay well below that.
 * Run: node --import tsx bench/data-loader.ts
 */
import { BatchLoader } from '../src/data/loader.ts';
import { loadDataset } from '../src/data/registry.ts';
import { splitTrainVal } from '../src/data/splits.ts';

const data = await loadDataset('fashion-mnist', { download: false }).catch(() => loadDataset('mnist'));
const { train } = splitTrainVal(data.train, { seed: 0 });
const configs = {
  'augment (crop 2 + flip)': { cropPadding: 2, horizontalFlip: true },
  'no augmentation': undefined,
};
for (const [name, augment] of Object.entries(configs)) {
  const loader = new BatchLoader({
    images: data.train.images,
    labels: data.train.labels,
    indices: train,
    batchSize: 128,
    shuffle: true,
    seed: 1,
    normalize: data.pixelStats,
    ...(augment === undefined ? {} : { augment }),
  });
  const order = loader.order(0);
  for (let k = 0; k < 50; k++) loader.batch(0, k, order); // warm up the JIT
  const times: number[] = [];
  for (let k = 0; k < loader.batchesPerEpoch; k++) {
    const t0 = performance.now();
    loader.batch(0, k, order);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const t0 = performance.now();
  loader.order(1);
  const shuffleMs = performance.now() - t0;
  console.log(
    `${data.name} ${name}: batch 128 prep mean ${mean.toFixed(3)} ms, median ${times[times.length >> 1]!.toFixed(3)} ms, ` +
      `p99 ${times[Math.floor(times.length * 0.99)]!.toFixed(3)} ms over ${times.length} batches; epoch shuffle ${shuffleMs.toFixed(2)} ms`,
  );
}
