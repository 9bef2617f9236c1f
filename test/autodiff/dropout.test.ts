/**
 * Dropout in training mode. The mask is random, so the test fetches the mask ORT drew and hands
 * it to the float64 reference, which then predicts the gradients exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { stringAttr } from '../../src/autodiff/attributes.ts';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { ValueInfoProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { relativeError, runTraining } from '../support/grad-check.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { referenceGradients } from '../support/reference/interpreter.ts';
import { tensor } from '../support/reference/tensor.ts';

describe('Dropout in training mode', () => {
  it('applies a mask with the given ratio and routes gradients through it, scaled by 1/(1 − ratio)', async () => {
    const random = rng(3);
    const model = testModel({
      inputs: { x: ['N', 64], labels: [['N'], DataType.INT64] },
      initializers: { w1: [[64, 64], randomValues(random, 4096, 0.3)], ratio: [[], [0.3]], w2: [[64, 5], randomValues(random, 320, 0.3)] },
      nodes: [
        node('MatMul', ['x', 'w1'], ['h']), node('Dropout', ['h', 'ratio'], ['d']),
        node('MatMul', ['d', 'w2'], ['logits']),
        node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
      ],
      outputs: ['loss'],
    });
    const training = buildTrainingGraph(model, { loss: 'loss', trainable: ['w1', 'w2'] });
    const dropout = training.model.graph!.node.find((n) => n.opType === 'Dropout')!;
    const maskName = dropout.output[1]!;
    training.model.graph!.output.push(create(ValueInfoProtoSchema, { name: maskName }));
    const feeds = { x: tensor([16, 64], randomValues(random, 1024)), labels: tensor([16], Array.from({ length: 16 }, (_, i) => i % 5)) };
    const out = await runTraining(training, model, feeds);
    const mask = tensor([16, 64], Array.from(out[maskName]!.data as Uint8Array));
    const dropped = 1 - mask.data.reduce((s, v) => s + v, 0) / mask.data.length;
    assert.ok(Math.abs(dropped - 0.3) < 0.05, `dropped ${dropped} of the values, expected about 0.3`);
    const ref = referenceGradients(model, feeds, 'loss', ['w1', 'w2'], { training: true, masks: new Map([['d', mask]]) });
    assert.ok(Math.abs((out['loss']!.data as Float32Array)[0]! - ref.loss) < 1e-5);
    for (const p of ['w1', 'w2']) {
      const err = relativeError(out[training.gradientNames.get(p)!]!.data as Float32Array, ref.grads.get(p)!.data);
      assert.ok(err < 1e-5, `${p}: ORT vs reference ${err}`);
    }
  });
});
