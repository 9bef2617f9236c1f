import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { extractSubgraph } from '../../src/onnx/surgery/extract.ts';
import { TinyGraph, inputTensor, maxRelDiff, residualNet, runOrt, withOutputs } from './surgery-helpers.ts';

describe('extractSubgraph', () => {
  const model = residualNet({ blocks: 3 });
  const x = inputTensor([3, 3, 8, 8]);

  it('computes a mid-graph tensor from another exactly as the full model does', async () => {
    const full = await runOrt(withOutputs(model, ['block1_out', 'block2_out']), { x });
    const part = extractSubgraph(model, { inputs: ['block1_out'], outputs: ['block2_out'] });
    assert.deepEqual(part.graph!.node.map((n) => n.name), model.graph!.node.map((n) => n.name).filter((n) => n.startsWith('block2_')));
    const got = await runOrt(part, { block1_out: full.block1_out! });
    assert.ok(maxRelDiff(got.block2_out!, full.block2_out!) <= 1e-5);
  });

  it('keeps only the initializers it reads, the opsets and the value_info of kept tensors', () => {
    const part = extractSubgraph(model, { inputs: ['block1_out'], outputs: ['block2_out'] });
    assert.ok(part.graph!.initializer.length > 0);
    assert.ok(part.graph!.initializer.every((t) => t.name.startsWith('block2_')));
    assert.deepEqual(part.opsetImport.map((o) => [o.domain, o.version]), [['', 17n]]);
    assert.ok(part.graph!.valueInfo.some((v) => v.name === 'block2_mid'));
    assert.ok(part.graph!.valueInfo.every((v) => v.name.startsWith('block2_') && v.name !== 'block2_out'));
    // The source model is untouched.
    assert.equal(model.graph!.node.length, residualNet({ blocks: 3 }).graph!.node.length);
  });

  it('extracts several outputs at once from several inputs', async () => {
    const full = await runOrt(withOutputs(model, ['stem_out', 'block1_mid', 'block2_sum', 'block3_out']), { x });
    const part = extractSubgraph(model, { inputs: ['block1_mid', 'stem_out'], outputs: ['block2_sum', 'block3_out'] });
    const got = await runOrt(part, { block1_mid: full.block1_mid!, stem_out: full.stem_out! });
    assert.ok(maxRelDiff(got.block2_sum!, full.block2_sum!) <= 1e-5);
    assert.ok(maxRelDiff(got.block3_out!, full.block3_out!) <= 1e-5);
  });

  it('names the path through which an unlisted graph input leaks in', () => {
    // block1_mid does not cut the block: its skip connection reaches back to x.
    assert.throws(() => extractSubgraph(model, { inputs: ['block1_mid'], outputs: ['block1_out'] }), (e: unknown) =>
      isExitwiseError(e, 'EXW_SURGERY')
      && e.message.includes('graph input "x" leaks in through "x" → Conv → "stem_conv" → BatchNormalization → "stem_bn" → Relu → "stem_out" → Add → "block1_sum" → Relu → "block1_out"'));
  });

  it('rejects unknown names, weights as inputs and repeated names', () => {
    const bad = (spec: { inputs: string[]; outputs: string[] }, pattern: RegExp) =>
      assert.throws(() => extractSubgraph(model, spec), (e: unknown) => isExitwiseError(e, 'EXW_SURGERY') && pattern.test(e.message));
    bad({ inputs: ['nope'], outputs: ['logits'] }, /"nope" \(an input to extract\) is not in the graph/);
    bad({ inputs: ['x'], outputs: ['nope'] }, /"nope" \(an output to extract\) is not in the graph/);
    bad({ inputs: ['fc.w'], outputs: ['logits'] }, /"fc.w" is an initializer/);
    bad({ inputs: ['x', 'x'], outputs: ['logits'] }, /"x" is listed twice/);
    bad({ inputs: ['x'], outputs: [] }, /no outputs/);
  });

  it('needs a type for each new input and output, from value_info or the shapes hook', async () => {
    const g = new TinyGraph(3, false);
    const h = g.node('Relu', [g.node('MatMul', [g.input('x', ['N', 4]), g.weight('w', [4, 2])], 'xw')], 'h');
    g.output(g.node('Sigmoid', [h], 'y'));
    const bare = g.model();
    assert.throws(() => extractSubgraph(bare, { inputs: ['h'], outputs: ['y'] }), (e: unknown) =>
      isExitwiseError(e, 'EXW_SHAPE') && /no type is known for tensor "h", needed as an input/.test(e.message));
    const part = extractSubgraph(bare, { inputs: ['x'], outputs: ['h'] }, { shapes: new Map([['h', { dataType: 1, dims: ['N', 2] }]]) });
    const dims = part.graph!.output[0]!.type!.value.value as { shape: { dim: { value: { value: unknown } }[] } };
    assert.deepEqual(dims.shape.dim.map((d) => d.value.value), ['N', 2n]);
    const xs = inputTensor([2, 4]);
    const full = await runOrt(withOutputs(bare, ['h']), { x: xs });
    assert.ok(maxRelDiff((await runOrt(part, { x: xs })).h!, full.h!) === 0);
  });

  it('renames a kept node output that is now fed from outside', async () => {
    const g = new TinyGraph(4);
    g.input('x', ['N', 4]);
    g.nodes.push({ opType: 'Split', name: 'split', input: ['x'], output: ['a', 'b'], attribute: [] });
    g.output(g.node('Add', [g.node('Neg', ['a'], 'na'), 'b'], 'y'));
    const model2 = g.model();
    // Split is still needed for b; its output a is now a graph input of the extracted model.
    const part2 = extractSubgraph(model2, { inputs: ['x', 'a'], outputs: ['y'] });
    assert.deepEqual(part2.graph!.node.map((n) => n.output), [['a__unused', 'b'], ['na'], ['y']]);
    const xs = inputTensor([2, 4]);
    const ref = await runOrt(withOutputs(model2, ['a']), { x: xs });
    assert.deepEqual((await runOrt(part2, { x: xs, a: ref.a! })).y!.data, ref.y!.data);
  });

  it('brings the outer-scope tensors an If body reads', async () => {
    const then = new TinyGraph(0);
    then.output(then.node('Mul', ['h', 'k'], 'then_y'));
    const other = new TinyGraph(0);
    other.output(other.node('Neg', ['h'], 'else_y'));
    const g = new TinyGraph(6);
    const h = g.node('Tanh', [g.node('MatMul', [g.input('x', ['N', 4]), g.weight('w', [4, 4])], 'xw')], 'h');
    g.weight('k', [4]);
    const cond = g.node('Greater', [g.node('ReduceSum', [h], 'total', { keepdims: 0 }), g.weight('zero', [], 0)], 'cond');
    g.elemTypes.set(cond, 9);
    g.output(g.node('If', [cond], 'y', { then_branch: then.graph('then'), else_branch: other.graph('else') }));
    const full = g.model();
    const part = extractSubgraph(full, { inputs: ['h'], outputs: ['y'] });
    assert.ok(part.graph!.initializer.some((t) => t.name === 'k'), 'k is read only inside the then-branch');
    const xs = inputTensor([2, 4], 8);
    const ref = await runOrt(withOutputs(full, ['h']), { x: xs });
    assert.deepEqual((await runOrt(part, { h: ref.h! })).y!.data, ref.y!.data);
  });
});
