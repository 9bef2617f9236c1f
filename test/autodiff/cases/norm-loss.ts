/** Cases of LayerNormalization, Dropout in inference mode, and SoftmaxCrossEntropyLoss variants. */
import { create } from '@bufbuild/protobuf';
import { floatAttr, intAttr, stringAttr } from '../../../src/autodiff/attributes.ts';
import { AttributeProtoSchema, AttributeProto_AttributeType as AttrType } from '../../../src/onnx/proto/onnx_pb.ts';
import { DataType } from '../../../src/onnx/tensor-data.ts';
import { tensor } from '../../support/reference/tensor.ts';
import { type GradCase, labelInput, labels, node, param, rand, testModel } from './helpers.ts';

const ignoreIndex = (i: number) => create(AttributeProtoSchema, { name: 'ignore_index', type: AttrType.INT, i: BigInt(i) });

export const normLossCases: GradCase[] = [
  {
    name: 'LayerNormalization over the last axis and over the last two (with and without bias), Dropout in inference mode',
    model: testModel({
      inputs: { x: [2, 3, 4], labels: labelInput(2) },
      initializers: { w: param([4, 4]), g1: param([4], 1), b1: param([4]), g2: param([3, 4], 1), ratio: [[], [0.4]], v: param([3, 12]) },
      nodes: [
        node('MatMul', ['x', 'w'], ['h']),
        node('LayerNormalization', ['h', 'g1', 'b1'], ['n1']), // axis −1
        node('LayerNormalization', ['n1', 'g2'], ['n2'], [intAttr('axis', 1), floatAttr('epsilon', 1e-3)]),
        node('Dropout', ['n2', 'ratio'], ['d']), node('Flatten', ['d'], ['f']),
        node('Gemm', ['f', 'v'], ['logits'], [intAttr('transB', 1)]),
        node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([2, 3, 4]), labels: labels(2, 3) },
    trainable: ['w', 'g1', 'b1', 'g2', 'v'],
    graph: { trainingMode: 'none' },
  },
  {
    name: 'Opset 18: ReduceMean with an axes input, LayerNormalization (backward reductions spelled with axes inputs)',
    model: testModel({
      opset: 18,
      inputs: { x: [3, 4, 5], labels: labelInput(3) },
      initializers: { w: param([5, 5]), g: param([5], 1), ax: [[1], [1]], v: param([3, 5]) },
      int64: ['ax'],
      nodes: [
        node('MatMul', ['x', 'w'], ['h']), node('LayerNormalization', ['h', 'g'], ['n']),
        node('ReduceMean', ['n', 'ax'], ['m'], [intAttr('keepdims', 0)]), // [3, 5]
        node('Gemm', ['m', 'v'], ['logits'], [intAttr('transB', 1)]),
        node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([3, 4, 5]), labels: labels(3, 3) },
    trainable: ['w', 'g', 'v'],
  },
  {
    name: 'SoftmaxCrossEntropyLoss mean with class weights and ignore_index',
    model: testModel({
      inputs: { x: [6, 4], labels: labelInput(6) },
      initializers: { w: param([4, 3]), cw: [[3], [0.5, 2, 1.25]] },
      nodes: [
        node('MatMul', ['x', 'w'], ['logits']),
        node('SoftmaxCrossEntropyLoss', ['logits', 'labels', 'cw'], ['loss'], [stringAttr('reduction', 'mean'), ignoreIndex(-100)]),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([6, 4]), labels: tensor([6], [0, -100, 2, 1, -100, 1]) },
    trainable: ['w'],
  },
  {
    name: 'SoftmaxCrossEntropyLoss on [N, C, T] scores: reduction none then ReduceMean; sum with ignore_index inside the class range',
    model: testModel({
      inputs: { x: [2, 5, 3], labels: [[2, 5], DataType.INT64] },
      initializers: { w: param([3, 4]) },
      nodes: [
        node('MatMul', ['x', 'w'], ['s']), node('Transpose', ['s'], ['scores'], [create(AttributeProtoSchema, { name: 'perm', type: AttrType.INTS, ints: [0n, 2n, 1n] })]), // [2, 4, 5]
        node('SoftmaxCrossEntropyLoss', ['scores', 'labels'], ['each'], [stringAttr('reduction', 'none')]), // [2, 5]
        node('ReduceMean', ['each'], ['l1'], [intAttr('keepdims', 0)]),
        node('SoftmaxCrossEntropyLoss', ['scores', 'labels'], ['l2'], [stringAttr('reduction', 'sum'), ignoreIndex(2)]),
        node('Add', ['l1', 'l2'], ['loss']),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([2, 5, 3]), labels: tensor([2, 5], [0, 1, 2, 3, 2, 3, 3, 0, 1, 2]) },
    trainable: ['w'],
  },
];
