/**
 * BatchNormalization in training mode against PyTorch 1.13 (float64): batch statistics in the
 * forward pass, gradients, and running statistics updated with momentum and the *unbiased*
 * batch variance (ONNX's own training mode would use the biased one).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { floatAttr, intAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { relativeError, runTraining } from '../support/grad-check.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { tensor } from '../support/reference/tensor.ts';

const TORCH = `
import json, sys, torch
d = json.load(sys.stdin)
t = lambda v: torch.tensor(v, dtype=torch.float64)
x = t(d['x']).reshape(d['xDims'])
bn = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.2).double().train()
with torch.no_grad():
    bn.weight.copy_(t(d['scale'])); bn.bias.copy_(t(d['bias']))
    bn.running_mean.copy_(t(d['mean'])); bn.running_var.copy_(t(d['var']))
fc = t(d['fc']).reshape(4, 3).requires_grad_()
logits = bn(x).mean(dim=(2, 3)) @ fc.T
loss = torch.nn.functional.cross_entropy(logits, torch.tensor(d['labels']))
loss.backward()
out = dict(loss=loss.item(), mean=bn.running_mean.tolist(), var=bn.running_var.tolist(),
           scale=bn.weight.grad.tolist(), bias=bn.bias.grad.tolist(), fc=fc.grad.flatten().tolist())
print(json.dumps(out))
`;

describe('BatchNormalization training mode', () => {
  it('matches PyTorch: loss, gradients, running mean and unbiased running variance', async () => {
    const random = rng(11);
    const init = {
      scale: randomValues(random, 3, 1), bias: randomValues(random, 3, 1), mean: [0.1, -0.2, 0.3], var: [1, 2, 0.5],
      fc: randomValues(random, 12, 0.5),
    };
    const xDims = [4, 3, 5, 5];
    const x = randomValues(random, 300, 2).map((v, i) => v + (i % 7) * 0.3); // non-zero means
    const labels = [0, 3, 1, 2];
    const model = testModel({
      inputs: { x: ['N', 3, 5, 5], labels: [['N'], DataType.INT64] },
      initializers: { 'bn.scale': [[3], init.scale], 'bn.bias': [[3], init.bias], 'bn.mean': [[3], init.mean], 'bn.var': [[3], init.var], 'fc.w': [[4, 3], init.fc] },
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
    const out = await runTraining(training, model, { x: tensor(xDims, x), labels: tensor([4], labels) });
    // Stored as float32 in the model: give PyTorch the same rounded values.
    const f32 = (v: number[]) => Array.from(Float32Array.from(v));
    const torch = spawnSync('/usr/bin/python3', ['-c', TORCH], {
      input: JSON.stringify({ ...Object.fromEntries(Object.entries(init).map(([k, v]) => [k, f32(v)])), x: f32(x), xDims, labels }),
      encoding: 'utf8',
    });
    assert.equal(torch.status, 0, torch.stderr);
    const expected = JSON.parse(torch.stdout) as Record<string, number[] | number>;
    const got = (name: string) => Array.from(out[name]!.data as Float32Array);
    assert.ok(Math.abs(got('loss')[0]! - (expected['loss'] as number)) < 1e-5);
    const pairs: [string, string][] = [
      [training.stateUpdates.get('bn.mean')!, 'mean'], [training.stateUpdates.get('bn.var')!, 'var'],
      [training.gradientNames.get('bn.scale')!, 'scale'], [training.gradientNames.get('bn.bias')!, 'bias'], [training.gradientNames.get('fc.w')!, 'fc'],
    ];
    for (const [output, key] of pairs) {
      const err = relativeError(got(output), expected[key] as number[]);
      assert.ok(err < 1e-5, `${key}: relative error ${err} (${got(output)} vs ${expected[key]})`);
    }
  });
});
