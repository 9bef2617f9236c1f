/** The parameter store, on a PyTorch-exported CNN (test/onnx/fixtures/tiny-cnn.onnx). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { loadModel } from '../../src/onnx/model-io.ts';
import { tensorToArray } from '../../src/onnx/tensor-data.ts';
import { ParamStore } from '../../src/train/params.ts';
import { node, testModel } from '../support/graph.ts';

const model = loadModel(new URL('../onnx/fixtures/tiny-cnn.onnx', import.meta.url).pathname);
const initializers = model.graph!.initializer;
const BUFFERS = ['bn.running_mean', 'bn.running_var'];
const TRAINABLE = initializers.map((t) => t.name).filter((n) => !BUFFERS.includes(n));

const throwsCode = (fn: () => unknown, code: string, message: RegExp) =>
  assert.throws(fn, (e: unknown) => isExitwiseError(e) && e.code === code && message.test(e.message) && e.hint !== undefined);

describe('ParamStore', () => {
  it('copies the float initializers: weights decay, biases and BN/LayerNorm affine parameters do not, buffers are not trained', () => {
    const store = ParamStore.fromModel(model, { trainable: TRAINABLE, buffers: BUFFERS });
    assert.deepEqual(store.entries().map((e) => e.name), [...TRAINABLE, ...BUFFERS]);
    assert.deepEqual(store.params().filter((e) => e.decay).map((e) => e.name),
      ['conv1.weight', 'dw.weight', 'pw.weight', 'dilated.weight', 'fc1.weight', 'fc2.weight']);
    assert.deepEqual(store.buffers().map((e) => [e.name, e.trainable, e.decay]), BUFFERS.map((n) => [n, false, false]));
    for (const t of initializers) {
      const e = store.get(t.name);
      assert.deepEqual(e.dims, t.dims.map(Number));
      assert.deepEqual(e.value, tensorToArray(t).data);
    }
  });

  it('lets rules override decay by name; the last matching rule wins', () => {
    const store = ParamStore.fromModel(model, {
      trainable: TRAINABLE,
      decayRules: [{ pattern: '^fc\\d\\.', decay: false }, { pattern: '^fc2\\.', decay: true }, { pattern: '^bn\\.', decay: true }],
    });
    const decaying = store.params().filter((e) => e.decay).map((e) => e.name);
    assert.deepEqual(decaying, ['conv1.weight', 'bn.weight', 'bn.bias', 'dw.weight', 'pw.weight', 'dilated.weight', 'fc2.weight', 'fc2.bias']);
    throwsCode(() => ParamStore.fromModel(model, { trainable: TRAINABLE, decayRules: [{ pattern: '(', decay: true }] }), 'EXW_USAGE', /not a valid regular expression/);
  });

  it('refuses unknown, duplicated or non-float names', () => {
    throwsCode(() => ParamStore.fromModel(model, { trainable: ['conv9.weight'] }), 'EXW_USAGE', /"conv9\.weight" is not an initializer/);
    throwsCode(() => ParamStore.fromModel(model, { trainable: ['fc1.bias'], buffers: ['fc1.bias'] }), 'EXW_USAGE', /both as trainable and as a buffer/);
    throwsCode(() => ParamStore.fromModel(model, { trainable: ['fc1.bias', 'fc1.bias'] }), 'EXW_USAGE', /twice/);
    const withShape = testModel({ inputs: { x: [2] }, initializers: { shape: [[1], [2]] }, int64: ['shape'], nodes: [node('Reshape', ['x', 'shape'], ['y'])], outputs: ['y'] });
    throwsCode(() => ParamStore.fromModel(withShape, { trainable: ['shape'] }), 'EXW_USAGE', /"shape" is not float32/);
  });

  it('feeds share the store\'s arrays; set copies in with a length check', () => {
    const store = ParamStore.fromModel(model, { trainable: TRAINABLE, buffers: BUFFERS });
    const feeds = store.feeds();
    assert.equal(feeds['fc2.bias']!.data, store.get('fc2.bias').value);
    assert.deepEqual(feeds['fc1.weight']!.dims, [32, 256]);
    store.set('bn.running_mean', new Float32Array(8).fill(2));
    assert.deepEqual([...feeds['bn.running_mean']!.data], new Array(8).fill(2));
    throwsCode(() => store.set('bn.running_mean', new Float32Array(7)), 'EXW_USAGE', /holds 8 values; got 7/);
    throwsCode(() => store.get('nope'), 'EXW_USAGE', /not in the parameter store/);
  });

  it('snapshot is a copy; restore checks names, roles and shapes before changing anything', () => {
    const store = ParamStore.fromModel(model, { trainable: TRAINABLE, buffers: BUFFERS });
    const snap = store.snapshot();
    store.get('fc2.bias').value.fill(7);
    assert.notEqual(snap.params.find((t) => t.name === 'fc2.bias')!.value[0], 7);
    store.restore(snap);
    assert.deepEqual(store.snapshot(), snap);

    const changed = store.snapshot();
    changed.params.find((t) => t.name === 'fc1.weight')!.dims = [256, 32];
    changed.params[0]!.value.fill(9);
    throwsCode(() => store.restore(changed), 'EXW_CHECKPOINT', /parameter "fc1\.weight" has shape \[256, 32\] in the checkpoint and \[32, 256\] in the model/);
    assert.notEqual(store.get(changed.params[0]!.name).value[0], 9);
    const other = ParamStore.fromModel(model, { trainable: TRAINABLE.filter((n) => n !== 'fc2.bias'), buffers: BUFFERS });
    throwsCode(() => other.restore(snap), 'EXW_CHECKPOINT', /parameters do not match the model's; unexpected: fc2\.bias/);
    throwsCode(() => store.restore(other.snapshot()), 'EXW_CHECKPOINT', /missing: fc2\.bias/);
    const swapped = { params: snap.params, buffers: [] };
    throwsCode(() => store.restore(swapped), 'EXW_CHECKPOINT', /buffers do not match the model's; missing: bn\.running_mean, bn\.running_var/);
  });

  it('applyTo writes the current values into a copy of the model', () => {
    const store = ParamStore.fromModel(model, { trainable: ['fc2.weight'], buffers: ['bn.running_var'] });
    store.get('fc2.weight').value.fill(0.25);
    store.set('bn.running_var', new Float32Array(8).fill(3));
    const out = store.applyTo(model);
    const read = (m: typeof model, name: string) => tensorToArray(m.graph!.initializer.find((t) => t.name === name)!).data;
    assert.deepEqual([...read(out, 'fc2.weight') as Float32Array], new Array(320).fill(0.25));
    assert.deepEqual([...read(out, 'bn.running_var') as Float32Array], new Array(8).fill(3));
    assert.deepEqual(read(out, 'fc1.weight'), read(model, 'fc1.weight'));
    assert.notDeepEqual(read(model, 'fc2.weight'), read(out, 'fc2.weight'), 'the input model is not changed');
  });
});
