import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as ort from 'onnxruntime-node';
import { isExitwiseError } from '../../src/errors.ts';
import { DataType } from '../../src/onnx/tensor-data.ts';
import type { ModelProto } from '../../src/onnx/proto/onnx_pb.ts';
import { splitModel, type Stage } from '../../src/onnx/surgery/split.ts';
import { TinyGraph, inputTensor, maxRelDiff, residualNet, runOrt, runStages } from './surgery-helpers.ts';

const TOLERANCE = 1e-5;

/** Runs the whole model and the chained stages on a batch of 3 and compares every graph output. */
async function assertReproduces(model: ModelProto, stages: readonly Stage[], feeds: Record<string, ort.Tensor> = { x: inputTensor([3, 3, 8, 8]) }): Promise<void> {
  const whole = await runOrt(model, feeds);
  const chained = await runStages(stages, feeds);
  for (const name of model.graph!.output.map((o) => o.name)) {
    assert.ok(chained[name] !== undefined, `output ${name} was produced by no stage`);
    assert.ok(maxRelDiff(chained[name]!, whole[name]!) <= TOLERANCE, `output ${name} differs`);
  }
  // Each original output is produced by exactly one stage.
  const producedBy = stages.flatMap((s) => s.graphOutputs).sort();
  assert.deepEqual(producedBy, model.graph!.output.map((o) => o.name).sort());
}

function surgeryError(pattern: RegExp): (e: unknown) => boolean {
  return (e) => isExitwiseError(e, 'EXW_SURGERY') && pattern.test(e.message);
}

describe('splitModel on a residual network', () => {
  const model = residualNet({ blocks: 3 });

  it('cuts between blocks: the cut is the only tensor crossing', async () => {
    const stages = splitModel(model, ['block1_out'], { onCrossing: 'refuse' });
    assert.equal(stages.length, 2);
    assert.deepEqual(stages.map((s) => [s.inputs, s.outputs, s.cut ?? null, s.carried]), [
      [['x'], ['block1_out'], 'block1_out', []],
      [['block1_out'], ['logits'], null, []],
    ]);
    assert.deepEqual(stages[1]!.graphOutputs, ['logits']);
    await assertReproduces(model, stages);
  });

  it('cuts at several points into a chain of stages', async () => {
    const cuts = ['stem_out', 'block1_sum', 'block2_out', 'flat'];
    const stages = splitModel(model, cuts, { onCrossing: 'refuse' });
    assert.equal(stages.length, 5);
    assert.deepEqual(stages.map((s) => s.cut ?? null), [...cuts, null]);
    for (let k = 1; k < stages.length; k++) assert.deepEqual(stages[k]!.inputs, [cuts[k - 1]]);
    assert.deepEqual(stages.at(-1)!.model.graph!.node.map((n) => n.opType), ['Gemm']);
    await assertReproduces(model, stages);
  });

  it('carries the skip connection when cutting inside a block', async () => {
    const stages = splitModel(model, ['block2_mid']);
    assert.deepEqual(stages[0]!.outputs, ['block2_mid', 'block1_out']);
    assert.deepEqual(stages[0]!.carried, ['block1_out']);
    assert.deepEqual(stages[1]!.inputs, ['block2_mid', 'block1_out']);
    await assertReproduces(model, stages);
  });

  it("refuses a cut inside a block with onCrossing 'refuse', naming the crossing tensor and the cut", () => {
    assert.throws(() => splitModel(model, ['block2_mid'], { onCrossing: 'refuse' }), surgeryError(/"block1_out" crosses cut "block2_mid"/));
  });

  it('carries a tensor across several stages to the stage that reads it', async () => {
    // block2_out is read by block3's Add, two cuts later.
    const stages = splitModel(model, ['block3_1_conv', 'block3_mid']);
    assert.deepEqual(stages[0]!.carried, ['block2_out']);
    assert.deepEqual(stages[1]!.inputs, ['block3_1_conv']);
    assert.deepEqual(stages[2]!.inputs, ['block3_mid', 'block2_out']);
    await assertReproduces(model, stages);
    assert.throws(() => splitModel(model, ['block3_1_conv', 'block3_mid'], { onCrossing: 'refuse' }),
      surgeryError(/"block2_out" crosses cut "block3_1_conv"; "block2_out" crosses cut "block3_mid"/));
  });

  it('places each initializer only in the stages that read it; weights are never stage inputs', () => {
    const stages = splitModel(model, ['block1_mid', 'block2_out']);
    const all = model.graph!.initializer.map((t) => t.name).sort();
    const placed = stages.flatMap((s) => s.model.graph!.initializer.map((t) => t.name));
    assert.deepEqual([...placed].sort(), all, 'each weight in exactly one stage here');
    for (const s of stages) {
      const read = new Set(s.model.graph!.node.flatMap((n) => n.input));
      for (const t of s.model.graph!.initializer) assert.ok(read.has(t.name), `${t.name} unused in its stage`);
      assert.deepEqual(s.model.graph!.input.map((v) => v.name), s.inputs);
      assert.deepEqual(s.model.graph!.output.map((v) => v.name), s.outputs);
    }
  });

  it('with no cuts, returns the whole model as one stage', async () => {
    const stages = splitModel(model, []);
    assert.equal(stages.length, 1);
    assert.equal(stages[0]!.model.graph!.node.length, model.graph!.node.length);
    await assertReproduces(model, stages);
  });

  it('gives clear errors for bad cuts', () => {
    assert.throws(() => splitModel(model, ['nope']), (e: unknown) =>
      isExitwiseError(e, 'EXW_SURGERY') && /"nope" is not a tensor/.test(e.message) && /block1_out/.test(e.hint ?? ''));
    assert.throws(() => splitModel(model, ['x']), surgeryError(/"x" is a graph input/));
    assert.throws(() => splitModel(model, ['logits']), surgeryError(/"logits" is a graph output/));
    assert.throws(() => splitModel(model, ['fc.w']), surgeryError(/initializer/));
    assert.throws(() => splitModel(model, ['stem_out', 'stem_out']), surgeryError(/listed twice/));
    assert.throws(() => splitModel(model, ['block2_out', 'block1_out']), surgeryError(/out of graph order: "block1_out"/));
  });
});

describe('splitModel with several outputs', () => {
  it('runs an auxiliary head that branches off before the cut in the last stage, carrying its branch', async () => {
    const model = residualNet({ blocks: 2, auxAfter: 1 });
    const stages = splitModel(model, ['block2_out']);
    assert.deepEqual(stages[0]!.carried, ['block1_out']);
    assert.deepEqual(stages[1]!.graphOutputs, ['aux', 'logits']);
    await assertReproduces(model, stages);
    assert.throws(() => splitModel(model, ['block2_out'], { onCrossing: 'refuse' }), surgeryError(/"block1_out" crosses cut "block2_out"/));
    // At the branch point itself nothing else crosses.
    await assertReproduces(model, splitModel(model, ['block1_out'], { onCrossing: 'refuse' }));
  });

  it('reports a graph output made by an early stage in that stage, next to its cut', async () => {
    const model = residualNet({ blocks: 2, featuresOutput: true });
    const stages = splitModel(model, ['flat'], { onCrossing: 'refuse' });
    assert.deepEqual(stages[0]!.graphOutputs, ['pool']);
    assert.deepEqual(stages[0]!.outputs, ['flat', 'pool']);
    assert.deepEqual(stages[1]!.graphOutputs, ['logits']);
    await assertReproduces(model, stages);
  });

  it('feeds a late-read graph input straight to the stage that reads it', async () => {
    const g = new TinyGraph(5);
    const h = g.node('Relu', [g.node('MatMul', [g.input('x', ['N', 4]), g.weight('w1', [4, 4])], 'h1')], 'r1');
    const h2 = g.node('Tanh', [g.node('MatMul', [h, g.weight('w2', [4, 4])], 'h2')], 't2');
    g.output(g.node('Add', [h2, g.input('bias', ['N', 4])], 'y'));
    const model = g.model();
    const stages = splitModel(model, ['r1'], { onCrossing: 'refuse' });
    assert.deepEqual(stages.map((s) => s.inputs), [['x'], ['r1', 'bias']]);
    await assertReproduces(model, stages, { x: inputTensor([3, 4], 1), bias: inputTensor([3, 4], 2) });
  });
});

describe('splitModel edge cases', () => {
  it('drops nodes no output needs, and refuses a cut on such a dead branch', async () => {
    const model = residualNet({ blocks: 1, deadNode: true });
    const stages = splitModel(model, ['block1_out']);
    assert.ok(stages.every((s) => s.model.graph!.node.every((n) => n.output[0] !== 'dead')));
    await assertReproduces(model, stages);
    assert.throws(() => splitModel(model, ['dead']), surgeryError(/"dead" does not lead anywhere useful: no graph output/));
    assert.throws(() => splitModel(model, ['dead', 'block1_out']), surgeryError(/the next cut "block1_out" depends on it/));
  });

  it('carries the outer-scope tensors that an If body reads', async () => {
    const then = new TinyGraph(0);
    then.node('Sigmoid', ['h'], 'then_y');
    then.output('then_y');
    const other = new TinyGraph(0);
    other.node('Neg', ['h'], 'else_y');
    other.output('else_y');
    const g = new TinyGraph(9);
    const h = g.node('Tanh', [g.node('MatMul', [g.input('x', ['N', 4]), g.weight('w', [4, 4])], 'xw')], 'h');
    const cond = g.node('Greater', [g.node('ReduceSum', [h], 'total', { keepdims: 0 }), g.weight('zero', [], 0)], 'cond');
    g.elemTypes.set(cond, DataType.BOOL);
    g.output(g.node('If', [cond], 'y', { then_branch: then.graph('then'), else_branch: other.graph('else') }));
    const model = g.model();
    const stages = splitModel(model, ['cond']);
    assert.deepEqual(stages[1]!.inputs, ['cond', 'h']);
    for (const seed of [1, 2, 3]) await assertReproduces(model, stages, { x: inputTensor([2, 4], seed) });
    assert.throws(() => splitModel(model, ['cond'], { onCrossing: 'refuse' }), surgeryError(/"h" crosses cut "cond"/));
  });
});
