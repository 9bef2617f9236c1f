import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { findCutPoints } from '../../src/onnx/surgery/cut-points.ts';
import { splitModel } from '../../src/onnx/surgery/split.ts';
import { TinyGraph, floatInfo, inputTensor, maxRelDiff, residualNet, runOrt, runStages } from './surgery-helpers.ts';

describe('findCutPoints', () => {
  it('returns exactly the tensors between residual blocks, never those inside a block', () => {
    assert.deepEqual(findCutPoints(residualNet({ blocks: 3 })), [
      'stem_conv', 'stem_bn', 'stem_out',
      'block1_sum', 'block1_out', 'block2_sum', 'block2_out', 'block3_sum', 'block3_out',
      'pool', 'flat',
    ]);
  });

  it('with an auxiliary output, stops where the auxiliary branch leaves the backbone', () => {
    assert.deepEqual(findCutPoints(residualNet({ blocks: 3, auxAfter: 1 })), ['stem_conv', 'stem_bn', 'stem_out', 'block1_sum', 'block1_out']);
  });

  it('ends at a graph output made mid-graph: it is not a cut, and nothing after it separates the inputs from it', () => {
    assert.deepEqual(findCutPoints(residualNet({ blocks: 1, featuresOutput: true })), ['stem_conv', 'stem_bn', 'stem_out', 'block1_sum', 'block1_out']);
  });

  it('needs every graph input to flow through the cut: an input read late leaves no candidate before it', () => {
    const g = new TinyGraph(5);
    const r = g.node('Relu', [g.node('MatMul', [g.input('x', ['N', 4]), g.weight('w1', [4, 4])], 'h1')], 'r1');
    const added = g.node('Add', [r, g.input('bias', ['N', 4])], 'biased');
    g.output(g.node('Tanh', [g.node('MatMul', [added, g.weight('w2', [4, 4])], 'h2')], 'y'));
    assert.deepEqual(findCutPoints(g.model()), ['biased', 'h2']);
  });

  it('ignores dead branches and skips shape metadata', () => {
    const g = new TinyGraph(5);
    const r = g.node('Relu', [g.input('x', ['N', 4])], 'r');
    g.node('Sigmoid', [r], 'dead');
    const shape = g.node('Shape', [r], 'shape');
    g.output(g.node('ConstantOfShape', [shape], 'zeros'));
    assert.deepEqual(findCutPoints(g.model()), ['r']);
  });

  it('splitting at every candidate, alone or all together, carries nothing but the cut', async () => {
    const model = residualNet({ blocks: 2, auxAfter: 1, deadNode: true });
    const feeds = { x: inputTensor([2, 3, 8, 8]) };
    const whole = await runOrt(model, feeds);
    const cuts = findCutPoints(model);
    for (const split of [...cuts.map((c) => [c]), cuts]) {
      const stages = splitModel(model, split, { onCrossing: 'refuse' });
      stages.slice(1).forEach((s, k) => assert.deepEqual(s.inputs, [split[k]]));
      const chained = await runStages(stages, feeds);
      for (const out of ['logits', 'aux']) assert.ok(maxRelDiff(chained[out]!, whole[out]!) <= 1e-5);
    }
  });

  it('is linear-time: a 6000-node chain of residual blocks in well under a second', () => {
    const blocks = 2000;
    const node = [];
    let h = 'x';
    for (let b = 0; b < blocks; b++) {
      node.push({ opType: 'Relu', input: [h], output: [`a${b}`] }, { opType: 'Neg', input: [`a${b}`], output: [`n${b}`] });
      node.push({ opType: 'Add', input: [`n${b}`, h], output: [`s${b}`] });
      h = `s${b}`;
    }
    node.push({ opType: 'Relu', input: [h], output: ['y'] });
    const model = create(ModelProtoSchema, {
      irVersion: 8n, opsetImport: [{ domain: '', version: 17n }],
      graph: { node, input: [floatInfo('x', [4])], output: [floatInfo('y', [4])] },
    });
    const start = performance.now();
    const cuts = findCutPoints(model);
    const ms = performance.now() - start;
    assert.equal(cuts.length, blocks);
    assert.deepEqual(cuts.slice(0, 2), ['s0', 's1']);
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
});
