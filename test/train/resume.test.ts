/**
 * The pieces together, as the trainer will use them: a CNN with BatchNormalization trained on
 * MNIST through the ORT training graph with a store, SGD with Nesterov momentum, a warmup+cosine
 * schedule and norm clipping. A run checkpointed at step 3 and resumed in fresh objects must end
 * bit for bit where an uninterrupted run ends, BN running statistics included.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { floatAttr, intAttr, intsAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { createSession, type Session } from '../../src/runtime/session.ts';
import { float32Tensor, int64Tensor } from '../../src/runtime/tensor.ts';
import { loadCheckpoint, restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { clipGradients } from '../../src/train/clip.ts';
import { createOptimizer } from '../../src/train/optimizers/index.ts';
import type { Optimizer } from '../../src/train/optimizers/types.ts';
import { ParamStore } from '../../src/train/params.ts';
import { createSchedule } from '../../src/train/schedules.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { mnistSample } from '../support/mnist.ts';

const [BATCH, STEPS, CUT] = [16, 6, 3];
const random = rng(5);
const model = testModel({
  inputs: { x: ['N', 1, 28, 28], labels: [['N'], DataType.INT64] },
  initializers: {
    'conv.w': [[4, 1, 3, 3], randomValues(random, 36, 1 / 3)], 'conv.b': [[4], randomValues(random, 4, 1 / 3)],
    'bn.scale': [[4], [1, 1, 1, 1]], 'bn.bias': [[4], [0, 0, 0, 0]], 'bn.mean': [[4], [0, 0, 0, 0]], 'bn.var': [[4], [1, 1, 1, 1]],
    'fc.w': [[10, 676], randomValues(random, 6760, 1 / 26)], 'fc.b': [[10], randomValues(random, 10, 1 / 26)],
  },
  nodes: [
    node('Conv', ['x', 'conv.w', 'conv.b'], ['c']), // [N, 4, 26, 26]
    node('BatchNormalization', ['c', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], ['n'], [floatAttr('momentum', 0.9)]),
    node('Relu', ['n'], ['r']),
    node('MaxPool', ['r'], ['p'], [intsAttr('kernel_shape', [2, 2]), intsAttr('strides', [2, 2])]), // [N, 4, 13, 13]
    node('Flatten', ['p'], ['f']), node('Gemm', ['f', 'fc.w', 'fc.b'], ['logits'], [intAttr('transB', 1)]),
    node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
  ],
  outputs: ['loss'],
});
const trainable = ['conv.w', 'conv.b', 'bn.scale', 'bn.bias', 'fc.w', 'fc.b'];
const training = buildTrainingGraph(model, { loss: 'loss', trainable });
const { images, labels } = mnistSample(BATCH * STEPS);
const dir = mkdtempSync(join(tmpdir(), 'exitwise-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fresh = () => {
  const store = ParamStore.fromModel(model, { trainable, buffers: [...training.stateUpdates.keys()] });
  return { store, optimizer: createOptimizer({ kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 }, store) };
};
const schedule = createSchedule({ kind: 'cosine', lr: 0.2, total: STEPS, warmup: 2 });

/** One training step on batch `b`; returns the loss. */
async function step(session: Session, store: ParamStore, optimizer: Optimizer, b: number): Promise<number> {
  const x = float32Tensor(Float32Array.from(images.subarray(b * BATCH * 784, (b + 1) * BATCH * 784)), [BATCH, 1, 28, 28]);
  const y = int64Tensor(Array.from(labels.subarray(b * BATCH, (b + 1) * BATCH)), [BATCH]);
  const out = await session.run({ ...store.feeds(), x, labels: y });
  const grads = new Map([...training.gradientNames].map(([param, output]) => [param, out[output]!.data as Float32Array]));
  clipGradients(grads, { kind: 'norm', max: 1 });
  optimizer.step(grads, schedule.lr(optimizer.stepCount));
  for (const [state, output] of training.stateUpdates) store.set(state, out[output]!.data as Float32Array);
  return (out['loss']!.data as Float32Array)[0]!;
}

describe('resume', () => {
  it(`a run checkpointed at step ${CUT} and resumed ends bit for bit where an uninterrupted run ends`, async () => {
    const session = await createSession(training.model, { backend: 'node', threads: 1 });
    try {
      const whole = fresh();
      const losses: number[] = [];
      for (let b = 0; b < STEPS; b++) losses.push(await step(session, whole.store, whole.optimizer, b));

      const first = fresh();
      for (let b = 0; b < CUT; b++) await step(session, first.store, first.optimizer, b);
      saveCheckpoint(dir, {
        ...first.store.snapshot(), optimizer: first.optimizer.state(), schedulerStep: first.optimizer.stepCount,
        epoch: 0, batchInEpoch: CUT, rngState: { seed: 5 }, metrics: [], config: {},
      });

      const resumed = fresh();
      const checkpoint = loadCheckpoint(dir);
      restoreCheckpoint(checkpoint, resumed.store, resumed.optimizer);
      for (let b = checkpoint.batchInEpoch; b < STEPS; b++) await step(session, resumed.store, resumed.optimizer, b);

      assert.deepEqual(resumed.store.snapshot(), whole.store.snapshot());
      assert.deepEqual(resumed.optimizer.state(), whole.optimizer.state());
      assert.notDeepEqual([...whole.store.get('bn.mean').value], [0, 0, 0, 0], 'the running statistics were updated');
      assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
    } finally {
      await session.release();
    }
  });
});
