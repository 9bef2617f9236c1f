/**
 * The batch loader: shuffles, batches, augments and normalizes uint8 images into float32 model
 * inputs. Every batch is a pure function of (seed, epoch, batch index), so a run resumed at batch
 * k of epoch e sees exactly the batches an uninterrupted run would have seen.
 */
import { ExitwiseError } from '../errors.ts';
import { checkAugment, IDENTITY_TRANSFORM, sampleTransform, writeImage, type AugmentOptions } from './augment.ts';
import { pixelTable, type Normalization } from './normalize.ts';
import { deriveSeed, Rng, shuffleInPlace } from './random.ts';

/** One batch, ready to feed: `x` is `[size, C, H, W]`, `y` is `[size]`. */
export interface Batch {
  x: Float32Array;
  y: Int32Array | BigInt64Array;
  /** Samples in this batch (the last batch of an epoch may be smaller than the batch size). */
  size: number;
  /** Which samples, as indices into the images/labels arrays. */
  indices: Int32Array;
  epoch: number;
  /** Position of this batch within its epoch, from 0. */
  batch: number;
}

export interface BatchLoaderOptions {
  /** `N × C × H × W` pixels, e.g. a {@link DatasetSplit}'s images. */
  images: Uint8Array;
  /** `N` class labels. */
  labels: Uint8Array;
  /** `[C, H, W]` of one image. Default `[1, 28, 28]` ((Fashion-)MNIST). */
  inputShape?: readonly [number, number, number];
  /** The samples to draw from (e.g. a train/val split). Default: all N. */
  indices?: Int32Array;
  batchSize: number;
  /** Reshuffle every epoch (training); `false` keeps `indices` order (evaluation). */
  shuffle: boolean;
  /** Root seed of shuffles and augmentations. Default 0. */
  seed?: number;
  normalize: Normalization;
  /** Training-time augmentation; absent for evaluation. */
  augment?: AugmentOptions;
  /** Drop a last incomplete batch (keeps batch statistics and step sizes uniform). Default false. */
  dropLast?: boolean;
  /** Label dtype: ONNX losses take int64 (PyTorch's export) or int32. Default `'int64'`. */
  labelType?: 'int32' | 'int64';
}

/** Seed streams, apart from each other and from the split stream (1). */
const STREAM_ORDER = 2;
const STREAM_AUGMENT = 3;

/**
 * @example
 * const loader = new BatchLoader({ images, labels, indices: split.train, batchSize: 128,
 *   shuffle: true, seed: 1, normalize: dataset.pixelStats, augment: { cropPadding: 2 } });
 * for await (const { x, y, size } of loader.epoch(0)) { ... }
 */
export class BatchLoader {
  readonly batchSize: number;
  /** Number of batches each epoch yields. */
  readonly batchesPerEpoch: number;
  private readonly options: BatchLoaderOptions;
  private readonly shape: readonly [number, number, number];
  private readonly indices: Int32Array;
  private readonly table: Float32Array;
  private readonly seed: number;

  constructor(options: BatchLoaderOptions) {
    this.options = options;
    this.shape = options.inputShape ?? [1, 28, 28];
    this.seed = options.seed ?? 0;
    this.batchSize = options.batchSize;
    const imageSize = this.shape[0] * this.shape[1] * this.shape[2];
    const count = options.labels.length;
    if (options.images.length !== count * imageSize) {
      throw usage(`images hold ${options.images.length} bytes, expected ${count} labels × ${imageSize} pixels`);
    }
    this.indices = options.indices ?? Int32Array.from({ length: count }, (_, i) => i);
    if (this.indices.some((i) => i < 0 || i >= count)) throw usage(`indices must lie in [0, ${count})`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw usage(`batchSize ${this.batchSize} is not a positive integer`);
    this.table = pixelTable(options.normalize);
    if (options.augment !== undefined) checkAugment(options.augment, this.shape);
    deriveSeed(this.seed); // validates the seed now rather than at the first batch
    const n = this.indices.length;
    this.batchesPerEpoch = options.dropLast === true ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of `epoch`: the same for the same (seed, epoch), whatever ran before. */
  order(epoch: number): Int32Array {
    if (!this.options.shuffle) return this.indices;
    return shuffleInPlace(Int32Array.from(this.indices), new Rng(deriveSeed(this.seed, STREAM_ORDER, epoch)));
  }

  /** Prepares batch `batch` of `epoch` synchronously. Pass `order` to skip recomputing it. */
  batch(epoch: number, batch: number, order: Int32Array = this.order(epoch)): Batch {
    if (!Number.isInteger(batch) || batch < 0 || batch >= this.batchesPerEpoch) {
      throw usage(`batch ${batch} is outside [0, ${this.batchesPerEpoch}) for this loader`);
    }
    const indices = order.subarray(batch * this.batchSize, (batch + 1) * this.batchSize);
    const size = indices.length;
    const imageSize = this.shape[0] * this.shape[1] * this.shape[2];
    const x = new Float32Array(size * imageSize); // [size, C, H, W]
    const y = this.options.labelType === 'int32' ? new Int32Array(size) : new BigInt64Array(size);
    const augment = this.options.augment;
    const rng = augment === undefined ? undefined : new Rng(deriveSeed(this.seed, STREAM_AUGMENT, epoch, batch));
    for (let s = 0; s < size; s++) {
      const sample = indices[s]!;
      const transform = rng === undefined ? IDENTITY_TRANSFORM : sampleTransform(rng, augment!);
      writeImage(this.options.images, sample * imageSize, this.shape, transform, this.table, x, s * imageSize);
      const label = this.options.labels[sample]!;
      if (y instanceof Int32Array) y[s] = label;
      else y[s] = BigInt(label);
    }
    return { x, y, size, indices: Int32Array.from(indices), epoch, batch };
  }

  /**
   * The batches of `epoch` from `startBatch` on (a resumed run passes the batch it stopped at).
   * Batch k+1 is prepared in a `setImmediate` as soon as batch k is handed out, so it is ready by
   * the time the consumer asks. onnxruntime-node runs a session on the main thread, so this
   * interleaves with training rather than overlapping it; that is enough because preparing a
   * batch of 128 with augmentation takes ≈ 0.4 ms, ≈ 1% of a training step (bench/data-loader.ts).
   */
  async *epoch(epoch: number, options: { startBatch?: number } = {}): AsyncGenerator<Batch> {
    const { startBatch = 0 } = options;
    if (startBatch === this.batchesPerEpoch) return;
    const order = this.order(epoch);
    let next: Promise<Batch> = Promise.resolve(this.batch(epoch, startBatch, order));
    for (let k = startBatch; k < this.batchesPerEpoch; k++) {
      const current = await next;
      if (k + 1 < this.batchesPerEpoch) {
        next = prepareSoon(() => this.batch(epoch, k + 1, order));
        next.catch(() => {}); // a consumer that stops early never awaits it; the error surfaces otherwise
      }
      yield current;
    }
  }
}

function prepareSoon(prepare: () => Batch): Promise<Batch> {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        resolve(prepare());
      } catch (error) {
        reject(error);
      }
    });
  });
}

function usage(message: string): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint: 'Check the BatchLoader options.' });
}
