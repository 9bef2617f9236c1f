/**
 * Cases of elementwise functions: Sigmoid, Tanh, Exp, Log, Sqrt, Neg, Erf, Pow, the Gelu erf
 * formulation GraphBuilder emits at opset 17, the Gelu op of opset 20 (exact and tanh),
 * LeakyRelu, Clip and Cast.
 */
import { floatAttr, intAttr, stringAttr } from '../../../src/autodiff/attributes.ts';
import { GraphBuilder } from '../../../src/onnx/builder/index.ts';
import { DataType } from '../../../src/onnx/tensor-data.ts';
import { count, type GradCase, labelInput, labels, node, param, rand, random, sce, testModel } from './helpers.ts';
import { randomValues } from '../../support/graph.ts';

/** Builder-made: x [4, 6] → MatMul → Gelu (erf form at 17) and Pow (constant 2 and 3, trainable exponent) → logits. */
function builderGelu(): GradCase {
  const b = new GraphBuilder({ opset: 17 });
  const w = (name: string, dims: number[], scale = 0.5) => b.initializer(name, Float32Array.from(randomValues(random, count(dims), scale)), dims);
  const x = b.input('x', 'float32', [4, 6]);
  const y = b.input('labels', 'int64', [4]);
  const h = b.matMul(x, w('w1', [6, 5], 0.8)); // [4, 5]
  const g = b.gelu(h);
  const sq = b.pow(h, b.initializer('two', Float32Array.of(2), []));
  const cube = b.pow(h, b.initializer('three', Float32Array.of(3), []));
  const positive = b.add(b.sigmoid(h), b.initializer('half', Float32Array.of(0.5), []));
  const powed = b.pow(positive, w('expo', [5], 1.5)); // trainable exponent, broadcast over rows
  const sum = b.add(b.add(g, b.mul(sq, b.initializer('k', Float32Array.of(0.1), []))), b.add(b.mul(cube, b.initializer('k3', Float32Array.of(0.05), [])), powed));
  const logits = b.matMul(sum, w('w2', [5, 3]));
  b.output(b.op('SoftmaxCrossEntropyLoss', [logits, y], { reduction: { s: 'mean' } }, { name: 'loss' })[0]!);
  return { name: 'GraphBuilder Gelu at opset 17 (Div, Erf, Add, Mul), Sigmoid, Pow (constant 2 and 3, trainable exponent)', model: b.build(), feeds: { x: rand([4, 6]), labels: labels(4, 3) }, trainable: ['w1', 'expo', 'w2'] };
}

export const activationCases: GradCase[] = [
  {
    name: 'Sigmoid, Tanh, Exp, Log, Sqrt, Neg',
    model: testModel({
      inputs: { x: [4, 5], labels: labelInput(4) },
      initializers: { w1: param([5, 6]), w2: param([3, 6]), third: [[], [0.3]], half: [[], [0.5]], tenth: [[], [0.1]] },
      nodes: [
        node('MatMul', ['x', 'w1'], ['h']), node('Sigmoid', ['h'], ['s']), node('Tanh', ['h'], ['t']),
        node('Mul', ['h', 'third'], ['h3']), node('Exp', ['h3'], ['e']),
        node('Add', ['s', 'half'], ['sp']), node('Log', ['sp'], ['l']),
        node('Add', ['e', 'tenth'], ['ep']), node('Sqrt', ['ep'], ['q']), node('Neg', ['t'], ['n']),
        node('Add', ['l', 'q'], ['a1']), node('Add', ['n', 'e'], ['a2']), node('Add', ['a1', 'a2'], ['z']),
        node('Gemm', ['z', 'w2'], ['logits'], [intAttr('transB', 1)]), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([4, 5]), labels: labels(4, 3) },
    trainable: ['w1', 'w2'],
  },
  builderGelu(),
  {
    name: 'Gelu op (opset 20): exact and tanh approximation',
    model: testModel({
      opset: 20,
      inputs: { x: [4, 5], labels: labelInput(4) },
      initializers: { w1: param([5, 6], 0.9), w2: param([6, 3]) },
      nodes: [
        node('MatMul', ['x', 'w1'], ['h']), node('Gelu', ['h'], ['g1']), node('Gelu', ['h'], ['g2'], [stringAttr('approximate', 'tanh')]),
        node('Add', ['g1', 'g2'], ['g']), node('MatMul', ['g', 'w2'], ['logits']), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([4, 5], 1.5), labels: labels(4, 3) },
    trainable: ['w1', 'w2'],
  },
  {
    name: 'LeakyRelu, Clip (constant min, trainable max, min only), Cast float to float, Erf',
    model: testModel({
      inputs: { x: [6, 5], labels: labelInput(6) },
      initializers: { w1: param([5, 6], 0.8), lo: [[], [-0.4]], hi: [[], [0.5]], w2: param([6, 3]) },
      nodes: [
        node('MatMul', ['x', 'w1'], ['h']), node('LeakyRelu', ['h'], ['lr'], [floatAttr('alpha', 0.2)]),
        node('Clip', ['lr', 'lo', 'hi'], ['c']), node('Clip', ['h', 'lo'], ['c2']), node('Cast', ['c'], ['cf'], [intAttr('to', DataType.FLOAT)]),
        node('Erf', ['c2'], ['e']), node('Add', ['cf', 'e'], ['z']), node('MatMul', ['z', 'w2'], ['logits']), sce('logits'),
      ],
      outputs: ['loss'],
    }),
    feeds: { x: rand([6, 5], 1.5), labels: labels(6, 3) },
    trainable: ['w1', 'hi', 'w2'],
  },
];
