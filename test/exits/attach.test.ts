import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { deriveSeed } from '../../src/data/random.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { attachExits } from '../../src/exits/attach.ts';
import { planHeads } from '../../src/exits/heads/plan.ts';
import { buildHead, type HeadConfig } from '../../src/exits/heads/registry.ts';
import { addJointLoss } from '../../src/exits/joint-loss.ts';
import { placeExits } from '../../src/exits/placement.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import { runModelWithIntermediates } from '../../src/runtime/intermediates.ts';
import { int64Tensor } from '../../src/runtime/tensor.ts';
import { checkGradients } from '../support/grad-check.ts';
import { tensor } from '../support/reference/tensor.ts';
import { builtResnet, maxAbsDiff, mnistBatch, resnetMnist, run } from './support.ts';

const BACKBONES: { name: string; model: ModelProto; input: string }[] = [
  { name: 'PyTorch-exported resnet-mnist.onnx', model: resnetMnist(), input: 'image' },
  { name: 'GraphBuilder ResNet (src/nn)', model: builtResnet().model, input: 'image' },
];

for (const backbone of BACKBONES) {
  describe(`attachExits on the ${backbone.name}`, () => {
    const model = backbone.model;
    const before = encodeModel(model);
    const placements = placeExits(model, { by: 'fractions', fractions: [0.25, 0.5, 0.75] });
    const heads = planHeads({ model }, placements).heads.map((h) => h.config);
    const multi = attachExits({ model }, placements, heads, { seed: 9 });
    const { images } = mnistBatch(8);

    it('outputs each exit\'s logits in order, the backbone\'s own logits last and exactly as the backbone computes them', async () => {
      assert.deepEqual(multi.exitLogits, ['exit0/logits', 'exit1/logits', 'exit2/logits', 'logits']);
      assert.deepEqual(multi.model.graph!.output.map((o) => o.name), multi.exitLogits);
      assert.deepEqual(encodeModel(model), before, 'the backbone is not changed');
      const [whole, alone] = await Promise.all([run(multi.model, { [backbone.input]: images }), run(model, { [backbone.input]: images })]);
      assert.equal(maxAbsDiff(whole['logits']!, alone['logits']!), 0);
      assert.deepEqual(whole['exit0/logits']!.dims, [8, 10]);
    });

    it('computes each early exit as its head alone on the backbone\'s tensor', async () => {
      const features = await runModelWithIntermediates(model, { [backbone.input]: images }, placements.map((p) => p.tensor));
      const whole = await run(multi.model, { [backbone.input]: images });
      for (const [k, p] of placements.entries()) {
        const head = buildHead(heads[k]!, { name: p.tensor, dims: p.shape }, { classes: 10, prefix: `exit${k}/`, seed: deriveSeed(9, k), opset: 13 });
        const alone = await run(head, { [p.tensor]: features[p.tensor]! });
        assert.ok(maxAbsDiff(alone[`exit${k}/logits`]!, whole[`exit${k}/logits`]!) < 1e-6, `exit ${k}`);
      }
    });
  });
}

describe('attachExits errors', () => {
  const model = resnetMnist();
  const placements = placeExits(model, { by: 'count', count: 2 });
  const heads: HeadConfig[] = [{ kind: 'pool-linear' }, { kind: 'pool-linear' }];

  it('refuses a head count that does not match, placements out of order or from another backbone', () => {
    assert.throws(() => attachExits({ model }, placements, heads.slice(1)), (e: unknown) => isExitwiseError(e, 'EXW_BUILD'));
    assert.throws(() => attachExits({ model }, [...placements].reverse(), heads), (e: unknown) => isExitwiseError(e, 'EXW_SURGERY') && /order/.test(e.message));
    const other = placeExits(builtResnet().model, { by: 'count', count: 2 });
    assert.throws(() => attachExits({ model }, other, heads), (e: unknown) => isExitwiseError(e, 'EXW_SURGERY') && /not an exit position/.test(e.message));
    assert.throws(() => attachExits({ model, logits: 'nope' }, placements, heads), (e: unknown) => isExitwiseError(e, 'EXW_BUILD') && /not an output/.test(e.message));
  });
});

describe('addJointLoss', () => {
  it('computes Σ w_k · mean cross-entropy_k on real images (checked against the logits in float64)', async () => {
    const model = resnetMnist();
    const placements = placeExits(model, { by: 'count', count: 2 });
    const multi = attachExits({ model }, placements, [{ kind: 'pool-linear' }, { kind: 'mlp' }]);
    const weights = [0.3, 0.6, 1];
    const joint = addJointLoss(multi, { weights });
    assert.equal(joint.loss, 'loss');
    assert.deepEqual(joint.model.graph!.output.map((o) => o.name), ['loss', 'loss/exit0', 'loss/exit1', 'loss/exit2', ...multi.exitLogits]);
    const { images, labels } = mnistBatch(16, 100);
    const out = await run(joint.model, { image: images, labels: int64Tensor(labels, [16]) });
    let expected = 0;
    multi.exitLogits.forEach((name, k) => {
      const z = out[name]!.data as Float32Array;
      let ce = 0;
      for (let n = 0; n < 16; n++) {
        const row = Array.from(z.subarray(n * 10, n * 10 + 10));
        const max = Math.max(...row);
        ce += Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max - row[labels[n]!]!;
      }
      ce /= 16;
      assert.ok(Math.abs((out[`loss/exit${k}`]!.data as Float32Array)[0]! - ce) < 1e-5);
      expected += weights[k]! * ce;
    });
    assert.ok(Math.abs((out['loss']!.data as Float32Array)[0]! - expected) < 1e-5);
    assert.throws(() => addJointLoss(multi, { weights: [1, 1] }), (e: unknown) => isExitwiseError(e, 'EXW_BUILD'));
    assert.throws(() => addJointLoss(multi, { weights: [1, -1, 1] }), (e: unknown) => isExitwiseError(e, 'EXW_BUILD'));
    assert.throws(() => addJointLoss(multi, { labels: 'image' }), (e: unknown) => isExitwiseError(e, 'EXW_BUILD') && /already uses/.test(e.message));
  });

  it('trains through the autodiff: ORT gradients of the joint loss match the float64 reference on MNIST', async () => {
    const backbone = builtResnet({ blocksPerStage: [1, 1], width: 4 });
    const placements = placeExits(backbone.model, { by: 'tensors', tensors: ['stem', 'stages.0.0'] });
    const multi = attachExits(backbone, placements, [{ kind: 'pool-linear' }, { kind: 'conv-pool-linear', channels: 4 }]);
    const joint = addJointLoss(multi, { weights: [0.5, 0.75, 1] });
    const trainable = ['exit0/fc/weight', 'exit1/conv/weight', 'exit1/bn/scale', 'exit1/fc/bias', 'stem.conv.weight', 'stages.0.0.conv2.weight', 'fc.weight'];
    const training = buildTrainingGraph(joint.model, { loss: joint.loss, trainable });
    assert.deepEqual([...training.gradientNames.keys()], trainable);
    const { images, labels } = mnistBatch(4, 200);
    const feeds = { image: tensor(images.dims, images.data), labels: tensor([4], labels) };
    const check = await checkGradients(joint.model, feeds, joint.loss, trainable, { training: true });
    for (const p of trainable) {
      assert.ok(check.fdError.get(p)! < 1e-6, `${p}: reference vs finite differences ${check.fdError.get(p)}`);
      assert.ok(check.ortError.get(p)! < 1e-4, `${p}: ORT vs reference ${check.ortError.get(p)}`);
    }
  });
});
