import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { decodeModel } from '../../src/onnx/model-io.ts';
import { runModelWithIntermediates } from '../../src/runtime/intermediates.ts';
import { float32Tensor } from '../../src/runtime/tensor.ts';
import { loadCase, mlpModel, mlpReference } from './fixtures.ts';

const X = [1, 2, 3, 4, -1, 0.5, 2, -3];

for (const backend of ['node', 'web'] as const) {
  it(`${backend}: returns intermediate tensors, inputs and initializers of the MLP`, async () => {
    const model = mlpModel();
    const before = model.graph!.output.length;
    const got = await runModelWithIntermediates(model, { x: float32Tensor(X, [2, 4]) }, ['xw', 'h', 'y', 'x', 'b'], { backend });
    const ref = mlpReference(X);
    assert.deepEqual(Object.keys(got).sort(), ['b', 'h', 'x', 'xw', 'y']);
    assert.deepEqual(Array.from(got.xw!.data as Float32Array), ref.xw);
    assert.deepEqual(Array.from(got.h!.data as Float32Array), ref.h.map(Math.fround));
    assert.deepEqual(Array.from(got.y!.data as Float32Array), ref.y.map(Math.fround));
    assert.deepEqual(Array.from(got.x!.data as Float32Array), X);
    assert.deepEqual(Array.from(got.b!.data as Float32Array), [0.5, -0.5, 0]);
    assert.equal(model.graph!.output.length, before, 'the caller\'s model is untouched');
  });
}

it('refuses names that are not tensors of the main graph', async () => {
  const model = decodeModel(loadCase('test_relu').model);
  await assert.rejects(
    runModelWithIntermediates(model, {}, ['nowhere']),
    (e) => isExitwiseError(e, 'EXW_SURGERY') && /"nowhere"/.test(e.message),
  );
});
