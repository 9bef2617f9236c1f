/**
 * Real data: MNIST's black background makes the first max-pool windows hold tied maxima (every
 * pixel is 0, so every conv output is the bias). Random data almost never ties, so a gradient
 * rule that sends a window's gradient to every tied position passes random-data checks and is
 * wrong here. This test fails for such a rule.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intAttr, intsAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { checkGradients } from '../support/grad-check.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { mnistSample } from '../support/mnist.ts';
import { runReference } from '../support/reference/interpreter.ts';
import { tensor } from '../support/reference/tensor.ts';

const random = rng(99);
const param = (dims: number[], scale: number): [number[], number[]] => [dims, randomValues(random, dims.reduce((p, d) => p * d, 1), scale)];
// Positive first-layer biases: background windows then tie at relu(bias) > 0, where a gradient flows.
const bias1: [number[], number[]] = [[4], [0.05, 0.1, 0.2, 0.15]];

const model = testModel({
  inputs: { x: ['N', 1, 28, 28], labels: [['N'], DataType.INT64] },
  initializers: {
    'c1.w': param([4, 1, 3, 3], 0.4), 'c1.b': bias1, 'c2.w': param([6, 4, 3, 3], 0.3), 'c2.b': param([6], 0.1),
    'fc.w': param([10, 6], 0.5), 'fc.b': param([10], 0.1),
  },
  nodes: [
    node('Conv', ['x', 'c1.w', 'c1.b'], ['y1'], [intsAttr('pads', [1, 1, 1, 1])]), node('Relu', ['y1'], ['r1']),
    node('MaxPool', ['r1'], ['p1'], [intsAttr('kernel_shape', [2, 2]), intsAttr('strides', [2, 2])]),
    node('Conv', ['p1', 'c2.w', 'c2.b'], ['y2']), node('Relu', ['y2'], ['r2']),
    node('MaxPool', ['r2'], ['p2'], [intsAttr('kernel_shape', [3, 3]), intsAttr('strides', [2, 2]), intsAttr('pads', [1, 1, 1, 1])]),
    node('GlobalAveragePool', ['p2'], ['gap']), node('Flatten', ['gap'], ['flat']),
    node('Gemm', ['flat', 'fc.w', 'fc.b'], ['logits'], [intAttr('transB', 1)]),
    node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
  ],
  outputs: ['loss'],
});

describe('MaxPool gradients on MNIST images (tied maxima)', () => {
  const { images, labels } = mnistSample(6);
  const feeds = { x: tensor([6, 1, 28, 28], images), labels: tensor([6], labels) };

  it('the data really holds positive tied maxima in the first pooling windows', () => {
    const r1 = runReference(model, feeds).get('r1')!;
    let [tied, windows] = [0, 0];
    for (let plane = 0; plane < 6 * 4; plane++) for (let i = 0; i < 28; i += 2) for (let j = 0; j < 28; j += 2) {
      const v = [0, 1, 28, 29].map((o) => r1.data[plane * 784 + i * 28 + j + o]!);
      const max = Math.max(...v);
      windows++;
      if (max > 0 && v.filter((x) => x === max).length > 1) tied++;
    }
    assert.ok(tied / windows > 0.2, `only ${tied} of ${windows} windows tie`);
  });

  it('every gradient matches the float64 reference and finite differences', async () => {
    const trainable = ['c1.w', 'c1.b', 'c2.w', 'c2.b', 'fc.w', 'fc.b'];
    const check = await checkGradients(model, feeds, 'loss', trainable);
    for (const p of trainable) {
      assert.ok(check.fdError.get(p)! < 1e-6, `${p}: reference vs finite differences ${check.fdError.get(p)}`);
      assert.ok(check.ortError.get(p)! < 1e-5, `${p}: ORT vs reference ${check.ortError.get(p)}`);
    }
  });
});
