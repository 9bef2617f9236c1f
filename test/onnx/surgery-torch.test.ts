// Surgery on real PyTorch 1.13 exports (scripts/fixtures/make-resnet.py): BatchNorm folded into
// the convolutions, a downsampling 1×1 shortcut, a dynamic batch axis, no value_info at all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { isExitwiseError } from '../../src/errors.ts';
import { decodeModel } from '../../src/onnx/model-io.ts';
import { findCutPoints } from '../../src/onnx/surgery/cut-points.ts';
import { splitModel } from '../../src/onnx/surgery/split.ts';
import { FIXTURES, inputTensor, loadFixture, maxRelDiff, runOrt, runStages, shapesFromOrt } from './surgery-helpers.ts';

interface Ref { dims: number[]; data: number[] }
const load = (name: string) => ({
  model: decodeModel(loadFixture(`${name}.onnx`)),
  ref: JSON.parse(readFileSync(new URL(`${name}.ref.json`, FIXTURES), 'utf8')) as Record<string, Ref>,
});
const tensor = (r: Ref) => new ort.Tensor('float32', Float32Array.from(r.data), r.dims);

const BETWEEN_BLOCKS = [
  '/stem/stem.0/Conv_output_0', '/stem/stem.2/Relu_output_0',
  '/block1/Add_output_0', '/block1/Relu_1_output_0',
  '/block2/Add_output_0', '/block2/Relu_1_output_0',
  '/block3/Add_output_0', '/block3/Relu_1_output_0',
  '/GlobalAveragePool_output_0', '/Flatten_output_0',
];

describe('surgery on a PyTorch-exported ResNet', () => {
  const { model, ref } = load('resnet-small');
  const x = tensor(ref.x!);
  const batch5 = inputTensor([5, 1, 28, 28], 11);

  it('ONNX Runtime reproduces PyTorch on the unsplit fixture', async () => {
    assert.ok(maxRelDiff((await runOrt(model, { x })).logits!, tensor(ref.logits!)) <= 1e-4);
  });

  it('finds exactly the tensors between blocks', () => {
    assert.deepEqual(findCutPoints(model), BETWEEN_BLOCKS);
  });

  it('chained stages at every block boundary reproduce the model on batches of 2 and 5', async () => {
    const shapes = await shapesFromOrt(model, { x });
    const cuts = ['/stem/stem.2/Relu_output_0', '/block1/Relu_1_output_0', '/block2/Relu_1_output_0', '/block3/Relu_1_output_0'];
    const stages = splitModel(model, cuts, { onCrossing: 'refuse', shapes });
    assert.equal(stages.length, 5);
    // The shortcut conv of block 2 runs in the stage of block 2, with its weights.
    const stage2 = stages[2]!.model.graph!;
    assert.equal(stage2.node.filter((n) => n.opType === 'Conv').length, 3);
    assert.equal(stage2.initializer.length, 6);
    // Boundary types come from the shapes hook, symbolic batch dim included: [N, 8, 28, 28].
    const type = stage2.input[0]!.type!.value.value as { elemType: number; shape: { dim: { value: { value: unknown } }[] } };
    assert.deepEqual([type.elemType, ...type.shape.dim.map((d) => d.value.value)], [1, 'N', 8n, 28n, 28n]);
    for (const feeds of [{ x }, { x: batch5 }]) {
      const whole = await runOrt(model, feeds);
      assert.ok(maxRelDiff((await runStages(stages, feeds)).logits!, whole.logits!) <= 1e-5);
    }
  });

  it('each candidate alone splits with nothing else crossing', async () => {
    const shapes = await shapesFromOrt(model, { x });
    const whole = await runOrt(model, { x: batch5 });
    for (const cut of findCutPoints(model)) {
      const stages = splitModel(model, [cut], { onCrossing: 'refuse', shapes });
      assert.deepEqual(stages[1]!.inputs, [cut]);
      assert.ok(maxRelDiff((await runStages(stages, { x: batch5 })).logits!, whole.logits!) <= 1e-5, cut);
    }
  });

  it('a cut inside the downsampling block carries the block input; refused on request', async () => {
    const shapes = await shapesFromOrt(model, { x });
    const cut = '/block2/Relu_output_0';
    const stages = splitModel(model, [cut], { shapes });
    assert.deepEqual(stages[0]!.carried, ['/block1/Relu_1_output_0']);
    const whole = await runOrt(model, { x: batch5 });
    assert.ok(maxRelDiff((await runStages(stages, { x: batch5 })).logits!, whole.logits!) <= 1e-5);
    assert.throws(() => splitModel(model, [cut], { shapes, onCrossing: 'refuse' }), (e: unknown) =>
      isExitwiseError(e, 'EXW_SURGERY') && e.message.includes(`"/block1/Relu_1_output_0" crosses cut "${cut}"`));
  });

  it('without value_info or inferred shapes, says which tensor needs a type', () => {
    assert.throws(() => splitModel(model, ['/block1/Relu_1_output_0']), (e: unknown) =>
      isExitwiseError(e, 'EXW_SHAPE') && e.message.includes('"/block1/Relu_1_output_0"') && /inferShapes/.test(e.hint ?? ''));
  });
});

describe('surgery on a PyTorch-exported ResNet with an auxiliary output', () => {
  const { model, ref } = load('resnet-aux');
  const x = tensor(ref.x!);

  it('cut points stop where the auxiliary head branches off', () => {
    assert.deepEqual(findCutPoints(model), BETWEEN_BLOCKS.slice(0, 4));
  });

  it('a cut past the branch carries it; both outputs match PyTorch and the unsplit model', async () => {
    const shapes = await shapesFromOrt(model, { x });
    const stages = splitModel(model, ['/block1/Relu_1_output_0', '/block2/Relu_1_output_0'], { shapes });
    // block1's output is stage 0's cut, read by stage 1 and, for the auxiliary head, by stage 2.
    assert.deepEqual(stages.map((s) => s.carried), [[], [], []]);
    assert.deepEqual(stages[2]!.inputs, ['/block2/Relu_1_output_0', '/block1/Relu_1_output_0']);
    assert.deepEqual(stages[2]!.graphOutputs, ['logits', 'aux']);
    const whole = await runOrt(model, { x });
    const chained = await runStages(stages, { x });
    for (const out of ['logits', 'aux']) {
      assert.ok(maxRelDiff(chained[out]!, whole[out]!) <= 1e-5, out);
      assert.ok(maxRelDiff(chained[out]!, tensor(ref[out]!)) <= 1e-4, `${out} vs PyTorch`);
    }
  });
});
