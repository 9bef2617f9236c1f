/** Cases of Conv, ConvTranspose, pooling (explicit pads and auto_pad) and BatchNormalization in both modes. */
import { intAttr, intsAttr, stringAttr } from '../../../src/autodiff/attributes.ts';
import { conv, convCase, type GradCase, node, param } from './helpers.ts';

const bnState = (c: number): Record<string, [number[], number[]]> => ({
  'bn.mean': [[c], Array.from({ length: c }, (_, i) => 0.1 * i - 0.1)], 'bn.var': [[c], Array.from({ length: c }, (_, i) => 0.5 + 0.4 * i)],
});

export const convCases: GradCase[] = [
  convCase('Conv stack: pads, stride 2 with output_padding, groups, dilations', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [intsAttr('pads', [1, 1, 1, 1])]), node('Relu', ['y1'], ['r1']),
      conv('r1', 'c2.w', 'c2.b', 'y2', [intsAttr('pads', [1, 1, 1, 1]), intsAttr('strides', [2, 2]), intAttr('group', 2)]), node('Relu', ['y2'], ['r2']),
      conv('r2', 'c3.w', undefined, 'y3', [intsAttr('pads', [1, 0, 1, 2]), intsAttr('dilations', [2, 1])]),
    ],
    initializers: { 'c1.w': param([4, 3, 3, 3]), 'c1.b': param([4]), 'c2.w': param([4, 2, 3, 3]), 'c2.b': param([4]), 'c3.w': param([6, 4, 3, 2]) },
    out: 'y3', channels: 6,
  }, [2, 3, 8, 8]),
  convCase('Conv stride 1 (separable weight gradient): groups, dilations, asymmetric pads, 1-wide kernels', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [intsAttr('pads', [2, 0, 1, 1]), intsAttr('dilations', [2, 1]), intAttr('group', 2)]), node('Tanh', ['y1'], ['r1']), // [2, 4, 7, 6]
      conv('r1', 'c2.w', undefined, 'y2', [intsAttr('pads', [0, 1, 0, 1])]), // 1×3: [2, 6, 7, 6]
      conv('y2', 'c3.w', undefined, 'y3'), // 1×1
      node('ConvTranspose', ['y3', 't.w'], ['y4'], [intsAttr('pads', [1, 1, 1, 1]), intAttr('group', 2)]), // stride 1: [2, 4, 7, 6]
    ],
    initializers: { 'c1.w': param([4, 2, 2, 3]), 'c1.b': param([4]), 'c2.w': param([6, 4, 1, 3]), 'c3.w': param([4, 6, 1, 1]), 't.w': param([4, 2, 3, 3]) },
    out: 'y4', channels: 4,
  }, [2, 4, 6, 6]),
  convCase('Conv with more filters than output positions (forward and input-gradient Convs split into groups)', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [intsAttr('pads', [1, 1, 1, 1])]), node('Tanh', ['y1'], ['r1']), // 12 filters on 3×3
      conv('r1', 'c2.w', undefined, 'y2', [intsAttr('pads', [1, 1, 1, 1])]), // its input gradient: 12 filters on 3×3
    ],
    initializers: { 'c1.w': param([12, 3, 3, 3]), 'c1.b': param([12]), 'c2.w': param([4, 12, 3, 3]) },
    out: 'y2', channels: 4,
  }, [2, 3, 3, 3]),
  convCase('ConvTranspose: stride 2, pads, output_padding, dilations, group 2, bias', {
    nodes: [
      node('ConvTranspose', ['x', 't1.w', 't1.b'], ['y1'], [intsAttr('strides', [2, 2]), intsAttr('pads', [1, 0, 0, 1]), intsAttr('output_padding', [1, 0])]),
      node('Tanh', ['y1'], ['h1']), // [2, 4, 11, 10]
      node('ConvTranspose', ['h1', 't2.w'], ['y2'], [intsAttr('strides', [1, 2]), intsAttr('dilations', [2, 1]), intAttr('group', 2), intsAttr('pads', [1, 1, 1, 1])]), // [2, 6, 11, 19]
    ],
    initializers: { 't1.w': param([3, 4, 3, 3]), 't1.b': param([4]), 't2.w': param([4, 3, 2, 3]) },
    out: 'y2', channels: 6,
  }, [2, 3, 5, 5]),
  convCase('Conv, MaxPool, AveragePool with auto_pad SAME_UPPER, SAME_LOWER and VALID', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [stringAttr('auto_pad', 'SAME_UPPER'), intsAttr('strides', [2, 2])]), node('Relu', ['y1'], ['r1']), // 9 → 5
      node('MaxPool', ['r1'], ['p1'], [intsAttr('kernel_shape', [2, 2]), stringAttr('auto_pad', 'SAME_LOWER')]), // 5 → 5
      conv('p1', 'c2.w', undefined, 'y2', [stringAttr('auto_pad', 'SAME_LOWER'), intsAttr('kernel_shape', [2, 2])]), // 5 → 5
      node('AveragePool', ['y2'], ['a2'], [intsAttr('kernel_shape', [2, 2]), stringAttr('auto_pad', 'VALID'), intsAttr('strides', [1, 1])]), // 5 → 4
      conv('a2', 'c3.w', undefined, 'y3', [stringAttr('auto_pad', 'VALID')]), // 4 → 2
    ],
    initializers: { 'c1.w': param([4, 2, 3, 3]), 'c1.b': param([4]), 'c2.w': param([4, 4, 2, 2]), 'c3.w': param([5, 4, 3, 3]) },
    out: 'y3', channels: 5,
  }, [2, 2, 9, 9]),
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
    state: bnState(4),
    out: 'r1', channels: 4,
  }, [3, 2, 5, 5], { training: true }),
  convCase('BatchNormalization in inference mode (trainingMode none)', {
    nodes: [
      conv('x', 'c1.w', 'c1.b', 'y1', [intsAttr('pads', [1, 1, 1, 1])]),
      node('BatchNormalization', ['y1', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], ['z1']), node('Relu', ['z1'], ['r1']),
    ],
    initializers: { 'c1.w': param([4, 2, 3, 3]), 'c1.b': param([4]), 'bn.scale': param([4]), 'bn.bias': param([4]) },
    state: bnState(4),
    out: 'r1', channels: 4,
  }, [3, 2, 5, 5], { training: false, graph: { trainingMode: 'none' } }),
];
