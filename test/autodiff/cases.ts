/**
 * The gradient test database: small forward graphs that exercise each rule, declared once; the
 * generic test in rules.test.ts checks every one against the float64 reference and finite
 * differences.
 */
import { floatAttr, intAttr, intsAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { type Tensor64, tensor } from '../support/reference/tensor.ts';

export interface GradCase {
  name: string;
  model: ModelProto;
  feeds: Record<string, Tensor64>;
  trainable: string[];
  /** Reference in training mode (batch statistics). */
  training?: boolean;
  /** Tolerance on ‖g_ort − g_ref‖/‖g_ref‖ (float32 against float64). */
  tolerance?: number;
}

const random = rng(1234);
const rand = (dims: number[], scale = 1) => tensor(dims, randomValues(random, dims.reduce((p, d) => p * d, 1), scale));
const param = (dims: number[], scale = 0.5): [number[], number[]] => [dims, randomValues(random, dims.reduce((p, d) => p * d, 1), scale)];
const labels = (n: number, classes: number) => tensor([n], Array.from({ length: n }, (_, i) => (i * 7 + 3) % classes));
const sce = (scores: string, labelName = 'labels', out = 'loss') => node('SoftmaxCrossEntropyLoss', [scores, labelName], [out], [stringAttr('reduction', 'mean')]);
const labelInput = (n: number): [number[], number] => [[n], DataType.INT64];

/** A conv stack's head: GAP → Flatten → Gemm → mean cross-entropy over 3 classes. */
function head(from: string, channels: number) {
  return {
    nodes: [
      node('GlobalAveragePool', [from], ['gap']),
      node('Flatten', ['gap'], ['flat']),
      node('Gemm', ['flat', 'fc.w', 'fc.b'], ['logits'], [intAttr('transB', 1)]),
      sce('logits'),
    ],
    initializers: { 'fc.w': param([3, channels]), 'fc.b': param([3]) },
  };
}

interface Trunk {
  nodes: ReturnType<typeof node>[];
  /** Trainable weights. */
  initializers: Record<string, [number[], number[]]>;
  /** Frozen initializers (running statistics). */
  state?: Record<string, [number[], number[]]>;
  out: string;
  channels: number;
}

function convCase(name: string, trunk: Trunk, x: number[], extra: Partial<GradCase> = {}): GradCase {
  const h = head(trunk.out, trunk.channels);
  return {
    name,
    model: testModel({
      inputs: { x: ['N', ...x.slice(1)], labels: [['N'], DataType.INT64] },
      initializers: { ...trunk.initializers, ...trunk.state, ...h.initializers },
      nodes: [...trunk.nodes, ...h.nodes],
      outputs: ['loss'],
    }),
    feeds: { x: rand(x), labels: labels(x[0]!, 3) },
    trainable: [...Object.keys(trunk.initializers), ...Object.keys(h.initializers)],
    ...extra,
  };
}

const conv = (x: string, w: string, b: string | undefined, y: string, attrs: Parameters<typeof node>[3] = []) => node('Conv', b === undefined ? [x, w] : [x, w, b], [y], attrs);

export const GRAD_CASES: GradCase[] = [
  {
    name: 'Gemm (transA, transB, alpha, beta, broadcast C)',
    model: testModel({
      inputs: { x: [4, 5], labels: labelInput(4) },
      initializers: { w1: param([5, 6]), b1: param([1, 6]), w2: param([6, 4]), w3: param([3, 4]) },
      nodes: [
        node('Gemm', ['x', 'w1', 'b1'], ['h'], [floatAttr('alpha', 0.7), floatAttr('beta', 1.3)]),
        node('Gemm', ['w2', 'h'], ['ht'], [intAttr('transA', 1), intAttr('transB', 1)]), // w2ᵀ·hᵀ: [4, 4]
        node('Gemm', ['ht', 'w3'], ['logits'], [intAttr('transA', 1), intAttr('transB', 1)]), // htᵀ·w3ᵀ: [4, 3]
        sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([4, 5]), labels: labels(4, 3) },
    trainable: ['w1', 'b1', 'w2', 'w3'],
  },
  {
    name: 'MatMul with batch broadcasting, Add bias, Reshape',
    model: testModel({
      inputs: { x: [2, 4, 5], labels: labelInput(8) },
      initializers: { w: param([5, 3]), b: param([3]), shape: [[2], [-1, 3]] },
      int64: ['shape'],
      nodes: [node('MatMul', ['x', 'w'], ['xw']), node('Add', ['xw', 'b'], ['y']), node('Reshape', ['y', 'shape'], ['logits']), sce('logits')],
      outputs: ['loss'],
    }),
    feeds: { x: rand([2, 4, 5]), labels: labels(8, 3) },
    trainable: ['w', 'b'],
  },
  {
    name: 'Mul, Sub, Div broadcasting over interleaved and leading axes, Relu, Flatten',
    model: testModel({
      inputs: { x: [2, 3, 4], labels: labelInput(2) },
      initializers: { a: param([3, 1]), b: param([4]), c: [[1, 3, 1], [1.5, 2, 2.5]], w: param([3, 12]) },
      nodes: [
        node('Mul', ['x', 'a'], ['xa']), node('Sub', ['b', 'xa'], ['s']), node('Div', ['s', 'c'], ['d']),
        node('Relu', ['d'], ['r']), node('Flatten', ['r'], ['f']),
        node('Gemm', ['f', 'w'], ['logits'], [intAttr('transB', 1)]), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([2, 3, 4]), labels: labels(2, 3) },
    trainable: ['a', 'b', 'c', 'w'],
  },
  {
    name: 'Softmax (axis 1) and LogSoftmax (axis 0) into a bilinear loss',
    model: testModel({
      inputs: { x: [4, 5] },
      initializers: { w: param([5, 3]), v: param([3, 1]), u: param([1, 4]) },
      nodes: [
        node('MatMul', ['x', 'w'], ['z']), node('Softmax', ['z'], ['p'], [intAttr('axis', 1)]),
        node('LogSoftmax', ['p'], ['lp'], [intAttr('axis', 0)]), node('Identity', ['lp'], ['lpi']),
        node('MatMul', ['lpi', 'v'], ['s']), node('MatMul', ['u', 's'], ['loss']),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([4, 5]) },
    trainable: ['w', 'v', 'u'],
  },
  convCase('Conv stack: pads, stride 2 with output_padding, groups, dilations', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [intsAttr('pads', [1, 1, 1, 1])]), node('Relu', ['y1'], ['r1']),
      conv('r1', 'c2.w', 'c2.b', 'y2', [intsAttr('pads', [1, 1, 1, 1]), intsAttr('strides', [2, 2]), intAttr('group', 2)]), node('Relu', ['y2'], ['r2']),
      conv('r2', 'c3.w', undefined, 'y3', [intsAttr('pads', [1, 0, 1, 2]), intsAttr('dilations', [2, 1])]),
    ],
    initializers: { 'c1.w': param([4, 3, 3, 3]), 'c1.b': param([4]), 'c2.w': param([4, 2, 3, 3]), 'c2.b': param([4]), 'c3.w': param([6, 4, 3, 2]) },
    out: 'y3', channels: 6,
  }, [2, 3, 8, 8]),
  convCase('MaxPool 2×2 stride 2 (MaxUnpool) and 3×3 stride 2 pad 1 (overlapping: ScatterElements)', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [intsAttr('pads', [1, 1, 1, 1])]), node('Relu', ['y1'], ['r1']),
      node('MaxPool', ['r1'], ['p1'], [intsAttr('kernel_shape', [2, 2]), intsAttr('strides', [2, 2])]),
      conv('p1', 'c2.w', 'c2.b', 'y2'),
      node('MaxPool', ['y2'], ['p2'], [intsAttr('kernel_shape', [3, 3]), intsAttr('strides', [2, 2]), intsAttr('pads', [1, 1, 1, 1])]),
    ],
    initializers: { 'c1.w': param([4, 2, 3, 3]), 'c1.b': param([4]), 'c2.w': param([5, 4, 3, 3]), 'c2.b': param([5]) },
    out: 'p2', channels: 5,
  }, [2, 2, 10, 10]),
  convCase('AveragePool 2×2 stride 2 and 3×3 stride 2 pad 1 (count_include_pad)', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1'),
      node('AveragePool', ['y1'], ['a1'], [intsAttr('kernel_shape', [2, 2]), intsAttr('strides', [2, 2])]),
      node('AveragePool', ['a1'], ['a2'], [intsAttr('kernel_shape', [3, 3]), intsAttr('strides', [2, 2]), intsAttr('pads', [1, 1, 1, 1]), intAttr('count_include_pad', 1)]),
    ],
    initializers: { 'c1.w': param([4, 2, 3, 3]), 'c1.b': param([4]) },
    out: 'a2', channels: 4,
  }, [2, 2, 11, 11]),
  convCase('BatchNormalization in training mode', {
    nodes: [
      // No conv bias: batch statistics cancel it, its true gradient is 0.
      conv('x', 'c1.w', undefined, 'y1', [intsAttr('pads', [1, 1, 1, 1])]),
      node('BatchNormalization', ['y1', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], ['z1']), node('Relu', ['z1'], ['r1']),
    ],
    initializers: { 'c1.w': param([4, 2, 3, 3]), 'bn.scale': param([4]), 'bn.bias': param([4]) },
    state: { 'bn.mean': [[4], [0.1, -0.2, 0.3, 0]], 'bn.var': [[4], [1, 2, 0.5, 1.5]] },
    out: 'r1', channels: 4,
  }, [3, 2, 5, 5], { training: true }),
];
