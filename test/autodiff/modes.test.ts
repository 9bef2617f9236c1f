/**
 * The BatchNormalization / Dropout mode policy on an exits-only setup: a frozen backbone
 * (conv, BN, Dropout) and a trained exit head (conv, BN, linear). The default keeps the backbone
 * in inference mode and trains the head's BN; 'all', 'none' and per-node overrides change that.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intAttr, intsAttr, stringAttr } from '../../src/autodiff/attributes.ts';
import { buildTrainingGraph, type TrainingGraphOptions } from '../../src/autodiff/training-graph.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import { checkGradients } from '../support/grad-check.ts';
import { node, randomValues, rng, testModel } from '../support/graph.ts';
import { tensor } from '../support/reference/tensor.ts';

const random = rng(21);
const param = (dims: number[], scale = 0.5): [number[], number[]] => [dims, randomValues(random, dims.reduce((p, d) => p * d, 1), scale)];
const stats = (c: number, mean: number, variance: number): [number[], number[]] => [[c], Array.from({ length: c }, (_, i) => mean + 0.1 * i * variance)];
const bn = (x: string, p: string, y: string) => node('BatchNormalization', [x, `${p}.scale`, `${p}.bias`, `${p}.mean`, `${p}.var`], [y]);
const pads = intsAttr('pads', [1, 1, 1, 1]);

const model = testModel({
  inputs: { x: ['N', 2, 6, 6], labels: [['N'], DataType.INT64] },
  initializers: {
    'bb.w': param([4, 2, 3, 3]), 'bb.bn.scale': param([4]), 'bb.bn.bias': param([4]), 'bb.bn.mean': stats(4, 0.2, 1), 'bb.bn.var': stats(4, 1.5, 1),
    'h.w': param([3, 4, 3, 3]), 'h.bn.scale': param([3]), 'h.bn.bias': param([3]), 'h.bn.mean': stats(3, -0.1, 1), 'h.bn.var': stats(3, 0.8, 1),
    'h.fc': param([5, 3]), ratio: [[], [0.3]],
  },
  nodes: [
    node('Conv', ['x', 'bb.w'], ['bc'], [pads]), bn('bc', 'bb.bn', 'bz'), node('Relu', ['bz'], ['br']), node('Dropout', ['br', 'ratio'], ['bd']),
    node('Conv', ['bd', 'h.w'], ['hc'], [pads]), bn('hc', 'h.bn', 'hz'), node('Relu', ['hz'], ['hr']),
    node('GlobalAveragePool', ['hr'], ['gap']), node('Flatten', ['gap'], ['f']),
    node('Gemm', ['f', 'h.fc'], ['logits'], [intAttr('transB', 1)]),
    node('SoftmaxCrossEntropyLoss', ['logits', 'labels'], ['loss'], [stringAttr('reduction', 'mean')]),
  ],
  outputs: ['loss'],
});
const head = ['h.w', 'h.bn.scale', 'h.bn.bias', 'h.fc'];
const feeds = { x: tensor([3, 2, 6, 6], randomValues(random, 216)), labels: tensor([3], [0, 4, 2]) };
const build = (options: Partial<TrainingGraphOptions> = {}) => buildTrainingGraph(model, { loss: 'loss', trainable: head, ...options });
const dropoutTrains = (t: ReturnType<typeof build>) => t.model.graph!.node.find((n) => n.opType === 'Dropout')!.input.length === 3;

describe('BatchNormalization and Dropout modes', () => {
  it("default 'trainable-paths': frozen backbone in inference mode, head BN in training mode", async () => {
    const t = build();
    assert.deepEqual([...t.stateUpdates.keys()], ['h.bn.mean', 'h.bn.var']);
    assert.ok(t.model.graph!.node.some((n) => n.opType === 'BatchNormalization' && n.output[0] === 'bz' && n.input[3] === 'bb.bn.mean'), 'backbone BN unchanged');
    assert.equal(dropoutTrains(t), false);
    const check = await checkGradients(model, feeds, 'loss', head, { training: new Set(['hz']) });
    for (const p of head) assert.ok(check.ortError.get(p)! < 1e-5 && check.fdError.get(p)! < 1e-6, `${p}: ORT ${check.ortError.get(p)}, FD ${check.fdError.get(p)}`);
  });

  it("'none' keeps every BN on running statistics; gradients go through inference-mode BN", async () => {
    assert.equal(build({ trainingMode: 'none' }).stateUpdates.size, 0);
    const check = await checkGradients(model, feeds, 'loss', head, { training: false, graph: { trainingMode: 'none' } });
    for (const p of head) assert.ok(check.ortError.get(p)! < 1e-5 && check.fdError.get(p)! < 1e-6, `${p}: ORT ${check.ortError.get(p)}, FD ${check.fdError.get(p)}`);
  });

  it("'all' updates the frozen backbone's statistics too, still with no backward work for it", () => {
    const t = build({ trainingMode: 'all' });
    assert.deepEqual([...t.stateUpdates.keys()].sort(), ['bb.bn.mean', 'bb.bn.var', 'h.bn.mean', 'h.bn.var']);
    assert.deepEqual(t.parameterInputs, [...head, ...t.stateUpdates.keys()]);
    assert.equal(dropoutTrains(t), true);
    const backward = t.model.graph!.node.filter((n) => n.output.some((o) => o.startsWith('grad/')));
    for (const n of backward) assert.ok(!n.input.some((i) => ['bc', 'bz', 'x', 'bb.w'].includes(i)), `${n.opType} reads a backbone tensor`);
  });

  it('nodeModes overrides single nodes', () => {
    const t = build({ nodeModes: { bz: 'train', hz: 'eval', bd: 'train' } });
    assert.deepEqual([...t.stateUpdates.keys()], ['bb.bn.mean', 'bb.bn.var']);
    assert.equal(dropoutTrains(t), true);
  });

  it('gives EXW_GRADIENT for unknown nodes, nodes without modes and unknown modes', () => {
    const fails = (options: Partial<TrainingGraphOptions>, pattern: RegExp) =>
      assert.throws(() => build(options), (e) => isExitwiseError(e, 'EXW_GRADIENT') && pattern.test(e.message));
    fails({ nodeModes: { nope: 'train' } }, /"nope", which is not a node/);
    fails({ nodeModes: { hc: 'train' } }, /it is a Conv/);
    fails({ trainingMode: 'sometimes' as 'all' }, /trainingMode 'sometimes'/);
  });
});
