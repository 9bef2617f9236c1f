import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { floatAttr, intAttr, intsAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { checkGradients } from '../support/grad-check.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { tensor } from '../support/reference/tensor.ts';

const random = rng(5);
const param = (dims: number[], scale = 0.5): [number[], number[]] => [dims, randomValues(random, dims.reduce((p, d) => p * d, 1), scale)];
const sce = (scores: string, out: string) => node('SoftmaxCrossEntropyLoss', [scores, 'labels'], [out], [stringAttr('reduction', 'mean')]);
const backwardNodes = (model: ReturnType<typeof buildTrainingGraph>['model']) => model.graph!.node.filter((n) => n.output.some((o) => o.startsWith('grad/')));

describe('buildTrainingGraph', () => {
  it('sums gradients over several consumers: a residual block, a tensor read by three layers, a weight shared by three', async () => {
    const model = testModel({
      inputs: { x: ['N', 2, 6, 6], labels: [['N'], DataType.INT64] },
      initializers: { 'c1.w': param([3, 2, 3, 3]), 'c2.w': param([3, 3, 3, 3]), 'fc.w': param([4, 3]) },
      nodes: [
        node('Conv', ['x', 'c1.w'], ['a'], [intsAttr('pads', [1, 1, 1, 1])]), node('Relu', ['a'], ['ra']),
        node('Conv', ['ra', 'c2.w'], ['b'], [intsAttr('pads', [1, 1, 1, 1])]),
        node('Add', ['ra', 'b'], ['res']), // ra feeds conv 2 and the skip connection
        node('GlobalAveragePool', ['res'], ['gap']), node('Flatten', ['gap'], ['f']), node('Relu', ['f'], ['rf']),
        node('Gemm', ['f', 'fc.w'], ['g1'], [intAttr('transB', 1)]), node('Gemm', ['rf', 'fc.w'], ['g2'], [intAttr('transB', 1)]),
        node('Gemm', ['f', 'fc.w'], ['g3'], [intAttr('transB', 1), floatAttr('alpha', 0.5)]),
        node('Add', ['g1', 'g2'], ['g12']), node('Add', ['g12', 'g3'], ['logits']), sce('logits', 'loss'),
      ],
      outputs: ['loss'],
    });
    const feeds = { x: tensor([3, 2, 6, 6], randomValues(random, 216)), labels: tensor([3], [0, 3, 1]) };
    const trainable = ['c1.w', 'c2.w', 'fc.w'];
    const check = await checkGradients(model, feeds, 'loss', trainable);
    for (const p of trainable) {
      assert.ok(check.fdError.get(p)! < 1e-6, `${p}: reference vs finite differences ${check.fdError.get(p)}`);
      assert.ok(check.ortError.get(p)! < 1e-5, `${p}: ORT vs reference ${check.ortError.get(p)}`);
    }
    // ra (residual) sums two contributions (Add), f and fc.w three (Sum).
    const accumulations = check.training.model.graph!.node.filter((n) => n.output[0]!.startsWith('grad/accumulate')).map((n) => n.opType);
    assert.deepEqual(accumulations.sort(), ['Add', 'Sum', 'Sum']);
  });

  it('generates no backward work for frozen parameters and what only they feed', () => {
    const model = testModel({
      inputs: { x: ['N', 1, 5, 5], labels: [['N'], DataType.INT64] },
      initializers: { 'trunk.w': param([2, 1, 3, 3]), 'h1.w': param([3, 18]), 'h1.b': param([3]), 'h2.w': param([3, 18]) },
      nodes: [
        node('Conv', ['x', 'trunk.w'], ['t']), node('Sin', ['t'], ['tt']), node('Flatten', ['tt'], ['f']),
        node('Gemm', ['f', 'h1.w', 'h1.b'], ['l1'], [intAttr('transB', 1)]), sce('l1', 'loss1'),
        node('Gemm', ['f', 'h2.w'], ['l2'], [intAttr('transB', 1)]), sce('l2', 'loss2'),
        node('Add', ['loss1', 'loss2'], ['loss']),
      ],
      outputs: ['loss'],
    });
    // Sin has no gradient rule: the frozen trunk never needs one.
    const { model: training, gradientNames, parameterInputs } = buildTrainingGraph(model, { loss: 'loss', trainable: ['h1.w', 'h1.b'] });
    assert.deepEqual([...gradientNames.keys()], ['h1.w', 'h1.b']);
    assert.deepEqual(parameterInputs, ['h1.w', 'h1.b']);
    assert.ok(training.graph!.initializer.some((t) => t.name === 'trunk.w'), 'frozen weights stay initializers');
    const backward = backwardNodes(training);
    const frozen = new Set(['x', 't', 'tt', 'trunk.w', 'h2.w', 'l2', 'loss2']);
    for (const n of backward) assert.ok(!n.input.some((i) => frozen.has(i)), `${n.opType} reads a frozen tensor`);
    const ops = backward.map((n) => n.opType).sort();
    assert.deepEqual(ops.filter((o) => o === 'Gemm'), ['Gemm'], 'one Gemm: dW of head 1 (its input needs no gradient)');
    // Training head 2 as well adds its own backward nodes, and nothing else changes.
    const both = buildTrainingGraph(model, { loss: 'loss', trainable: ['h1.w', 'h1.b', 'h2.w'] });
    const extra = backwardNodes(both.model).length - backward.length;
    assert.ok(extra > 0 && extra < backward.length, `training head 2 added ${extra} nodes`);
  });

  it('gives EXW_GRADIENT for an op without a rule on a trainable path, unknown names and old opsets', () => {
    const model = testModel({
      inputs: { x: [2, 3], labels: [[2], DataType.INT64] },
      initializers: { w: param([3, 3]) },
      nodes: [node('MatMul', ['x', 'w'], ['h']), node('Sin', ['h'], ['logits']), sce('logits', 'loss')],
      outputs: ['loss'],
    });
    const fails = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e) => isExitwiseError(e, 'EXW_GRADIENT') && pattern.test(e.message));
    fails(() => buildTrainingGraph(model, { loss: 'loss', trainable: ['w'] }), /Sin.*has no gradient rule/);
    fails(() => buildTrainingGraph(model, { loss: 'nope', trainable: ['w'] }), /loss tensor "nope"/);
    fails(() => buildTrainingGraph(model, { loss: 'loss', trainable: ['x'] }), /"x" is not an initializer/);
    fails(() => buildTrainingGraph(model, { loss: 'h', trainable: ['w'] }), /must hold one element/);
    const old = testModel({ inputs: { x: [2, 3] }, nodes: [node('Relu', ['x'], ['y'])], outputs: ['y'], opset: 11 });
    fails(() => buildTrainingGraph(old, { loss: 'y', trainable: [] }), /opset is 11/);
  });
});
