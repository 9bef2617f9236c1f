/** The run configuration: defaults, per-dataset augmentation, merging, typed errors, resume checks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { configDifferences, resolveTrainConfig } from '../../src/train/run-config.ts';

const usage = (pattern: RegExp, hint?: RegExp) => (e: unknown) =>
  isExitwiseError(e, 'EXW_USAGE') && pattern.test(e.message) && (hint === undefined || hint.test(e.hint ?? ''));

describe('resolveTrainConfig', () => {
  it('fills in every default: ResNet, SGD Nesterov, cosine with one epoch of warmup, fashion-mnist shifts and flips', () => {
    const config = resolveTrainConfig({ dataset: 'fashion-mnist' });
    assert.deepEqual(config, {
      dataset: 'fashion-mnist',
      arch: { kind: 'resnet', blocksPerStage: [2, 2, 2], width: 16, stemStride: 1, classes: 10, inputShape: [1, 28, 28], seed: 0 },
      epochs: 15,
      batchSize: 128,
      optimizer: { kind: 'sgd', momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 5e-4 },
      schedule: { kind: 'cosine', lr: 0.1, unit: 'epoch', total: 15, warmup: 1, warmupStartFactor: 1 / 3, minLr: 0 },
      clip: null,
      augment: { cropPadding: 2, horizontalFlip: true },
      valFraction: 0.1,
      seed: 0,
      limit: null,
      exits: null,
    });
    assert.deepEqual(resolveTrainConfig(config as never), config, 'a resolved config resolves to itself');
  });

  it('does not flip MNIST digits', () => {
    assert.deepEqual(resolveTrainConfig({ dataset: 'mnist' }).augment, { cropPadding: 2 });
    assert.deepEqual(resolveTrainConfig({ dataset: 'fashion-mnist', augment: {} }).augment, {});
  });

  it('follows the epochs with the schedule, and shortens the warmup of short runs', () => {
    assert.deepEqual(resolveTrainConfig({ dataset: 'mnist', epochs: 30 }).schedule, { kind: 'cosine', lr: 0.1, unit: 'epoch', total: 30, warmup: 1, warmupStartFactor: 1 / 3, minLr: 0 });
    const short = resolveTrainConfig({ dataset: 'mnist', epochs: 2 }).schedule;
    assert.equal(short.warmup, 0.2);
  });

  it('merges a partial optimizer or schedule of the default kind over the default, and takes another kind as given', () => {
    const config = resolveTrainConfig({ dataset: 'mnist', optimizer: { weightDecay: 1e-4 }, schedule: { lr: 0.05 } });
    assert.deepEqual(config.optimizer, { kind: 'sgd', momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 1e-4 });
    assert.equal(config.schedule.kind, 'cosine');
    assert.equal(config.schedule.lr, 0.05);
    const adam = resolveTrainConfig({ dataset: 'mnist', optimizer: { kind: 'adamw' } });
    assert.deepEqual(adam.optimizer, { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
    assert.equal(adam.schedule.lr, 1e-3, "AdamW's own default learning rate");
    assert.deepEqual(resolveTrainConfig({ dataset: 'mnist', schedule: { kind: 'constant', lr: 0.01 } }).schedule,
      { kind: 'constant', lr: 0.01, unit: 'step', warmup: 0, warmupStartFactor: 1 / 3 });
  });

  it('takes the classes and input shape from the dataset unless the spec gives them', () => {
    assert.deepEqual(resolveTrainConfig({ dataset: 'mnist', arch: { kind: 'cnn', channels: [8] } }).arch,
      { kind: 'cnn', channels: [8], classes: 10, inputShape: [1, 28, 28], seed: 0 });
  });

  it('refuses bad configs with EXW_USAGE naming the field, the known datasets or the known kinds', () => {
    assert.throws(() => resolveTrainConfig({ dataset: 'cifar-10' }), usage(/unknown dataset "cifar-10"/, /mnist, fashion-mnist/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', arch: { kind: 'vgg' } as never }), usage(/unknown backbone kind "vgg"; registered kinds: "resnet", "cnn"/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', arch: { kind: 'resnet', width: 0 } }), usage(/width/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', epochs: 0 }), usage(/epochs/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', epoch: 3 } as never), usage(/Unrecognized key.*epoch/i));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', optimizer: { kind: 'sgd', momentum: -1 } }), usage(/momentum/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', optimizer: { kind: 'lion' } as never }), usage(/kind.*sgd, adamw/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', schedule: { lr: -1 } }), usage(/lr/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', clip: { kind: 'norm', max: 0 } }), usage(/max/));
    assert.throws(() => resolveTrainConfig({ dataset: 'mnist', valFraction: 1 }), usage(/valFraction/));
  });
});

describe('configDifferences', () => {
  const saved = resolveTrainConfig({ dataset: 'fashion-mnist', epochs: 10, schedule: { lr: 0.05 } });

  it('agrees with the settings the saved run has, however partially given', () => {
    assert.deepEqual(configDifferences(saved, {}), []);
    assert.deepEqual(configDifferences(saved, { dataset: 'fashion-mnist', epochs: 10, schedule: { lr: 0.05 }, arch: { kind: 'resnet' } }), []);
  });

  it('names each setting that differs, with both values', () => {
    assert.deepEqual(configDifferences(saved, { epochs: 15, schedule: { lr: 0.1 }, arch: { kind: 'cnn' } }), [
      'epochs: saved 10, given 15',
      'schedule.lr: saved 0.05, given 0.1',
      'arch.kind: saved "resnet", given "cnn"',
    ]);
    assert.deepEqual(configDifferences(saved, { augment: {} }), ['augment: saved {"cropPadding":2,"horizontalFlip":true}, given {}'], 'augment compares whole');
    assert.deepEqual(configDifferences(saved, { limit: 100 }), ['limit: saved null, given 100']);
  });
});
