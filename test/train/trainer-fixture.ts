/**
 * A short real training run shared by the trainer tests and their child process
 * (trainer-child.ts): a small ResNet with BatchNorm on the first 2000 MNIST training images, two
 * epochs of 29 batches of 64, a checkpoint every 4 batches, one ORT thread. (A ResNet this small
 * learns slowly in its first hundred steps, as its PyTorch twin does: ≈ 30% after these 58. The
 * tests check learning on the plain CNN, and exact resumption, BatchNorm statistics included, here.)
 */
import type { TrainConfigInput } from '../../src/train/run-config.ts';
import type { TrainOptions } from '../../src/train/trainer.ts';

export const SHORT_RUN: TrainConfigInput = {
  dataset: 'mnist',
  arch: { kind: 'resnet', blocksPerStage: [1, 1], width: 8 },
  epochs: 2,
  batchSize: 64,
  limit: 2000,
};

/** 1800 training images (200 go to val) in batches of 64, the last one of 8. */
export const BATCHES_PER_EPOCH = 29;

export function shortRunOptions(out: string): TrainOptions {
  return { out, threads: 1, checkpointEvery: { batches: 4, seconds: 3600 } };
}
