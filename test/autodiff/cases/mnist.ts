/**
 * Real data: MNIST images hold exact zeros (background) and exact ones, so conv outputs repeat
 * exactly (tied maxima, values at clip bounds) where random data never does. A rule that is
 * right on random data and wrong at such points fails here.
 */
import { floatAttr, intsAttr, stringAttr } from '../../../src/autodiff/attributes.ts';
import { GraphBuilder } from '../../../src/onnx/builder/index.ts';
import { randomValues } from '../../support/graph.ts';
import { mnistSample } from '../../support/mnist.ts';
import { tensor } from '../../support/reference/tensor.ts';
import { conv, convCase, count, type GradCase, node, param, random } from './helpers.ts';

const IMAGES = 4;
const sample = mnistSample(IMAGES, 100);
const images = tensor([IMAGES, 1, 28, 28], sample.images);
// Positive first-layer biases: background windows tie at a value > 0, where gradients flow.
const positiveBias = (c: number): [number[], number[]] => [[c], Array.from({ length: c }, (_, i) => 0.05 + 0.05 * i)];

/** Image rows through LayerNormalization and the builder's Gelu, and the labels as embedding ids (Gather, repeated). */
function rowsAndEmbedding(): GradCase {
  const b = new GraphBuilder({ opset: 17 });
  const w = (name: string, dims: number[], scale = 0.5) => b.initializer(name, Float32Array.from(randomValues(random, count(dims), scale)), dims);
  const x = b.input('x', 'float32', ['N', 1, 28, 28]);
  const ids = b.input('ids', 'int64', ['N']);
  const y = b.input('labels', 'int64', ['N']);
  const rows = b.reshape(x, [0, 28, 28]); // [N, 28, 28]
  const normed = b.layerNorm(rows, w('ln.g', [28], 1), w('ln.b', [28], 0.1), { epsilon: 1e-3 });
  const h = b.gelu(b.matMul(normed, w('w1', [28, 4], 0.3))); // [N, 28, 4]
  const pooled = b.reduceMean(h, [1], { keepDims: false }); // [N, 4]
  const emb = b.gather(w('table', [10, 4]), ids); // [N, 4]
  const logits = b.gemm(b.concat([pooled, emb], 1), w('fc', [3, 8]), undefined, { transB: true });
  b.output(b.op('SoftmaxCrossEntropyLoss', [logits, y], { reduction: { s: 'mean' } }, { name: 'loss' })[0]!);
  return {
    name: 'MNIST rows: LayerNormalization, builder Gelu, ReduceMean; MNIST labels as embedding ids (Gather, repeated ids)',
    model: b.build(),
    feeds: { x: images, ids: tensor([IMAGES], [sample.labels[0]!, sample.labels[1]!, sample.labels[0]!, sample.labels[3]!]), labels: tensor([IMAGES], [0, 1, 2, 1]) },
    trainable: ['ln.g', 'ln.b', 'w1', 'table', 'fc'],
  };
}

export const mnistCases: GradCase[] = [
  convCase('MNIST: Conv, LeakyRelu, MaxPool with tied maxima, Clip, ConvTranspose', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [intsAttr('pads', [1, 1, 1, 1]), intsAttr('strides', [2, 2])]), // [N, 3, 14, 14]
      node('LeakyRelu', ['y1'], ['r1'], [floatAttr('alpha', 0.1)]),
      node('MaxPool', ['r1'], ['p1'], [intsAttr('kernel_shape', [3, 3]), intsAttr('strides', [2, 2]), stringAttr('auto_pad', 'SAME_UPPER')]), // [N, 3, 7, 7]
      node('Clip', ['p1', 'lo', 'hi'], ['c1']),
      node('ConvTranspose', ['c1', 't.w', 't.b'], ['u'], [intsAttr('strides', [2, 2]), intsAttr('pads', [1, 1, 1, 1]), intsAttr('output_padding', [1, 1])]), // [N, 4, 14, 14]
    ],
    initializers: { 'c1.w': param([3, 1, 3, 3], 0.4), 'c1.b': positiveBias(3), 't.w': param([3, 4, 3, 3], 0.4), 't.b': param([4], 0.1), hi: [[], [0.35]] },
    state: { lo: [[], [0.02]] },
    out: 'u', channels: 4,
  }, images),
  convCase('MNIST: BatchNormalization in training mode on real images', {
    nodes: [
      conv('x', 'c1.w', undefined, 'y1', [intsAttr('pads', [1, 1, 1, 1]), intsAttr('strides', [2, 2])]),
      node('BatchNormalization', ['y1', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], ['z1'], [floatAttr('epsilon', 1e-3)]), node('Relu', ['z1'], ['r1']),
      node('MaxPool', ['r1'], ['p1'], [intsAttr('kernel_shape', [2, 2]), intsAttr('strides', [2, 2])]),
    ],
    initializers: { 'c1.w': param([4, 1, 3, 3], 0.5), 'bn.scale': param([4], 1), 'bn.bias': positiveBias(4) },
    state: { 'bn.mean': [[4], [0, 0, 0, 0]], 'bn.var': [[4], [1, 1, 1, 1]] },
    out: 'p1', channels: 4,
  }, images, { training: true }),
  rowsAndEmbedding(),
];
