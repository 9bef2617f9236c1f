/**
 * BatchNormalization in training mode against PyTorch 1.13 (float64, fixture made by
 * scripts/fixtures/make-bn-training.py): batch statistics in the forward pass, gradients, and
 * running statistics updated with momentum and the *unbiased* batch variance (ONNX's own
 * training mode would use the biased one).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { floatAttr, intAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { relativeError, runTraining } from '../support/grad-check.ts';
import { node, testModel } from '../support/graph.ts';
import { tensor } from '../support/reference/tensor.ts';

interface Fixture {
  inputs: { x: { dims: number[]; data: number[] }; labels: number[]; scale: number[]; bias: number[]; mean: number[]; var: number[]; fc: number[] };
  expected: Record<'mean' | 'var' | 'scale' | 'bias' | 'fc', number[]> & { loss: number };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/bn-training.json', import.meta.url), 'utf8')) as Fixture;

describe('BatchNormalization training mode', () => {
  it('matches PyTorch: loss, gradients, running mean and unbiased running variance', async () => {
    const { inputs, expected } = fixture;
    const model = testModel({
      inputs: { x: ['N', 3, 5, 5], labels: [['N'], DataType.INT64] },
      initializers: { 'bn.scale': [[3], inputs.scale], 'bn.bias': [[3], inputs.bias], 'bn.mean': [[3], inputs.mean], 'bn.var': [[3], inputs.var], 'fc.w': [[4, 3], inputs.fc] },
      nodes: [
        node('BatchNormalization', ['x', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], ['y'], [floatAttr('epsilon', 1e-3), floatAttr('momentum', 0.8)]),
        node('GlobalAveragePool', ['y'], ['gap']), node('Flatten', ['gap'], ['f']),
        node('Gemm', ['f', 'fc.w'], ['logits'], [intAttr('transB', 1)]),
        node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
      ],
      outputs: ['loss'],
    });
    const training = buildTrainingGraph(model, { loss: 'loss', trainable: ['bn.scale', 'bn.bias', 'fc.w'] });
    assert.deepEqual(training.parameterInputs, ['bn.scale', 'bn.bias', 'fc.w', 'bn.mean', 'bn.var']);
    const out = await runTraining(training, model, { x: tensor(inputs.x.dims, inputs.x.data), labels: tensor([4], inputs.labels) });
    const got = (name: string) => Array.from(out[name]!.data as Float32Array);
    assert.ok(Math.abs(got('loss')[0]! - expected.loss) < 1e-5);
    const pairs: [string, keyof Fixture['expected']][] = [
      [training.stateUpdates.get('bn.mean')!, 'mean'], [training.stateUpdates.get('bn.var')!, 'var'],
      [training.gradientNames.get('bn.scale')!, 'scale'], [training.gradientNames.get('bn.bias')!, 'bias'], [training.gradientNames.get('fc.w')!, 'fc'],
    ];
    for (const [output, key] of pairs) {
      const err = relativeError(got(output), expected[key] as number[]);
      assert.ok(err < 1e-5, `${key}: relative error ${err} (${got(output)} vs ${expected[key]})`);
    }
  });
});
