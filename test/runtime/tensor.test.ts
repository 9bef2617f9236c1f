import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { checkTensor, float32Tensor, int64Tensor } from '../../src/runtime/tensor.ts';

it('builds float32 and int64 tensors, keeping typed arrays as given', () => {
  const data = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = float32Tensor(data, [2, 3]);
  assert.equal(t.data, data);
  assert.deepEqual({ ...t, data: Array.from(t.data) }, { type: 'float32', dims: [2, 3], data: [1, 2, 3, 4, 5, 6] });
  assert.deepEqual(float32Tensor([7], []).data, new Float32Array([7]));
  const i = int64Tensor([1, -1, 2n ** 62n], [3]);
  assert.deepEqual(Array.from(i.data), [1n, -1n, 2n ** 62n]);
});

it('refuses data that does not fill the dims, bad dims and unsafe int64 numbers', () => {
  const tensorData = (e: unknown) => isExitwiseError(e, 'EXW_TENSOR_DATA');
  assert.throws(() => float32Tensor([1, 2, 3], [2, 2]), (e) => tensorData(e) && /3 float32 values but dims \[2, 2\] need 4/.test((e as Error).message));
  assert.throws(() => float32Tensor([1, 2], [-1, -2]), tensorData);
  assert.throws(() => float32Tensor([1, 2], [0.5, 4]), tensorData);
  assert.throws(() => int64Tensor([2 ** 60], [1]), tensorData);
  assert.throws(() => checkTensor({ type: 'string', dims: [2], data: ['a'] }), tensorData);
});
