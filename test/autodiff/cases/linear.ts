/** Cases of Gemm, MatMul (batched, 1-D), broadcasting arithmetic, Softmax and LogSoftmax. */
import { floatAttr, intAttr } from '../../../src/autodiff/attributes.ts';
import { type GradCase, labelInput, labels, node, param, rand, sce, testModel } from './helpers.ts';

export const linearCases: GradCase[] = [
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
    name: 'MatMul with 1-D operands: vector·batched matrix, matrix·vector, vector·vector',
    model: testModel({
      inputs: { x: [2, 4, 5] },
      initializers: { u: param([4]), v: param([3]), w: param([5, 3]), z: param([5]) },
      nodes: [
        node('MatMul', ['u', 'x'], ['ux']), // [4]·[2, 4, 5] → [2, 5]
        node('MatMul', ['ux', 'w'], ['uxw']), // [2, 5]·[5, 3] → [2, 3]
        node('MatMul', ['uxw', 'v'], ['s']), // [2, 3]·[3] → [2]
        node('MatMul', ['z', 'z'], ['zz']), // [5]·[5] → []
        node('MatMul', ['s', 's'], ['ss']), node('Add', ['ss', 'zz'], ['loss']),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([2, 4, 5]) },
    trainable: ['u', 'v', 'w', 'z'],
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
];
