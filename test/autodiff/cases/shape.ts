/**
 * Cases of data movement and selection: Transpose, Squeeze, Unsqueeze, Expand, Concat, Slice
 * (unit steps → Pad; other steps → scatter), Gather (axis 0 with repeated ids, axis 1 with a
 * scalar index), Where, Constant; and of ReduceSum / ReduceMean.
 */
import { create } from '@bufbuild/protobuf';
import { intAttr, intsAttr } from '../../../src/autodiff/attributes.ts';
import { AttributeProtoSchema, AttributeProto_AttributeType as AttrType } from '../../../src/onnx/proto/onnx_pb.ts';
import { arrayToTensor, DataType } from '../../../src/onnx/tensor-data.ts';
import { tensor } from '../../support/reference/tensor.ts';
import { type GradCase, labelInput, labels, node, param, rand, sce, testModel } from './helpers.ts';

/** A Constant node holding int64 values. */
function constantInts(out: string, values: number[]) {
  const t = arrayToTensor('', DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));
  const n = node('Constant', [], [out]);
  n.attribute = [create(AttributeProtoSchema, { name: 'value', type: AttrType.TENSOR, t })];
  return n;
}

export const shapeCases: GradCase[] = [
  {
    name: 'Transpose, Unsqueeze, Expand, Concat, Squeeze, Where, Constant',
    model: testModel({
      inputs: { x: [3, 4], labels: labelInput(3) },
      initializers: { a: param([4, 3]), b: param([1, 4]), c: param([3, 2]), zero: [[], [0]], w: param([3, 16]), ax: [[1], [1]], bshape: [[3], [3, 2, 4]] },
      int64: ['ax', 'bshape'],
      nodes: [
        constantInts('c2shape', [3, 2, 1]), constantInts('st0', [0]), constantInts('en1', [1]), constantInts('ax2', [1]), constantInts('flat2', [0, -1]),
        node('Transpose', ['a'], ['at']), // [3, 4]
        node('Mul', ['x', 'at'], ['xa']),
        node('Unsqueeze', ['xa', 'ax'], ['xu']), // [3, 1, 4]
        node('Expand', ['b', 'bshape'], ['be']), // [1, 4] → [3, 2, 4]
        node('Concat', ['xu', 'be'], ['cat'], [intAttr('axis', 1)]), // [3, 3, 4]
        node('Greater', ['cat', 'zero'], ['pos']), node('Reshape', ['c', 'c2shape'], ['c2pre']), node('Slice', ['c2pre', 'st0', 'en1', 'ax2'], ['c2']), // [3, 1, 1]
        node('Where', ['pos', 'cat', 'c2'], ['wh']), // c2 broadcast over [3, 3, 4]
        node('Reshape', ['wh', 'flat2'], ['f']), // [3, 12]
        node('Slice', ['f', 'st0', 'en1', 'ax2'], ['f0']), node('Squeeze', ['f0', 'ax'], ['f0s']), node('Unsqueeze', ['f0s', 'ax'], ['f0u']), // [3, 1]
        node('Concat', ['f', 'f0u', 'f0u', 'f0u', 'f0u'], ['g'], [intAttr('axis', 1)]), // [3, 16]
        node('Gemm', ['g', 'w'], ['logits'], [intAttr('transB', 1)]), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([3, 4]), labels: labels(3, 3) },
    trainable: ['a', 'b', 'c', 'w'],
  },
  {
    name: 'Slice: unit steps with negative and clamped bounds (Pad), steps 2 and −1 (scatter), symbolic batch',
    model: testModel({
      inputs: { x: ['N', 4, 6], labels: labelInput('N') },
      initializers: {
        w: param([6, 6]), v: param([3, 10]), s3: [[1], [1]], e3: [[1], [100]], a3: [[1], [1]], p3: [[1], [3]],
        s1: [[2], [1, -5]], e1: [[2], [100, -1]], a1: [[2], [1, 2]], // [N, 3, 4]
        s2: [[2], [5, 0]], e2: [[2], [-100, 4]], a2: [[2], [2, 1]], p2: [[2], [-2, 2]], // [N, 2, 3]
      },
      int64: ['s1', 'e1', 'a1', 's2', 'e2', 'a2', 'p2', 's3', 'e3', 'a3', 'p3'],
      nodes: [
        node('MatMul', ['x', 'w'], ['h']), // [N, 4, 6]
        node('Slice', ['h', 's1', 'e1', 'a1'], ['u']), node('Slice', ['h', 's2', 'e2', 'a2', 'p2'], ['d']),
        node('Flatten', ['u'], ['uf']), node('Flatten', ['d'], ['df']), // [N, 12], [N, 6]
        node('Slice', ['uf', 's3', 'e3', 'a3', 'p3'], ['uf2']), // columns 1, 4, 7, 10: [N, 4]
        node('Concat', ['df', 'uf2'], ['cat'], [intAttr('axis', 1)]), // [N, 10]
        node('Gemm', ['cat', 'v'], ['logits'], [intAttr('transB', 1)]), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([3, 4, 6]), labels: labels(3, 3) },
    trainable: ['w', 'v'],
  },
  {
    name: 'Gather: embedding lookup (axis 0, repeated and negative ids), axis 1 with a scalar index and with an index matrix',
    model: testModel({
      inputs: { ids: [[2, 3], DataType.INT64], labels: labelInput(2) },
      initializers: { table: param([5, 4]), one: [[], [1]], pick: [[2, 2], [3, 0, 3, -1]], w: param([3, 10]), st: [[1], [0]], en: [[1], [6]], ax: [[1], [1]] },
      int64: ['one', 'pick', 'st', 'en', 'ax'],
      nodes: [
        node('Gather', ['table', 'ids'], ['emb']), // [2, 3, 4]
        node('Gather', ['emb', 'one'], ['mid'], [intAttr('axis', 1)]), // [2, 4]
        node('Gather', ['emb', 'pick'], ['picked'], [intAttr('axis', 2)]), // [2, 3, 2, 2]
        node('Flatten', ['picked'], ['pf']), node('Slice', ['pf', 'st', 'en', 'ax'], ['pf6']), // [2, 6]
        node('Concat', ['mid', 'pf6'], ['cat'], [intAttr('axis', 1)]), // [2, 10]
        node('Gemm', ['cat', 'w'], ['logits'], [intAttr('transB', 1)]), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { ids: tensor([2, 3], [1, 4, 1, -1, 0, 1]), labels: labels(2, 3) },
    trainable: ['table', 'w'],
  },
  {
    name: 'ReduceSum (axes input, keepdims 0) and ReduceMean (axes attribute at opset 17, keepdims 1; all axes)',
    model: testModel({
      inputs: { x: [3, 4, 5], labels: labelInput(3) },
      initializers: { w: param([5, 5]), ax: [[1], [1]], v: param([3, 5]), u: param([1, 3]), flat: [[2], [-1, 1]] },
      int64: ['ax', 'flat'],
      nodes: [
        node('MatMul', ['x', 'w'], ['h']), node('Tanh', ['h'], ['t']),
        node('ReduceSum', ['t', 'ax'], ['s'], [intAttr('keepdims', 0)]), // [3, 5]
        node('ReduceMean', ['t'], ['m'], [intsAttr('axes', [1, -1])]), // [3, 1, 1]
        node('ReduceMean', ['t'], ['all'], [intAttr('keepdims', 0)]), // []
        node('Gemm', ['s', 'v'], ['l0'], [intAttr('transB', 1)]), node('Reshape', ['m', 'flat'], ['mf']), node('Mul', ['mf', 'u'], ['mu']),
        node('Add', ['l0', 'mu'], ['l1']), node('Add', ['l1', 'all'], ['logits']), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([3, 4, 5]), labels: labels(3, 3) },
    trainable: ['w', 'v', 'u'],
  },
];
