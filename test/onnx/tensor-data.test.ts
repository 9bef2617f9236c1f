/**
 * tensor-data against ONNX's own Python helpers (Debian python3-onnx 1.12) for types 1–16, in
 * raw_data and in the typed fields; hand-packed bytes for the types newer than 1.12 (float8,
 * 4-bit); and the size errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { isExitwiseError } from '../../src/errors.ts';
import { TensorProtoSchema, type TensorProto } from '../../src/onnx/proto/onnx_pb.ts';
import {
  DataType, type TensorArray, arrayToTensor, checkTensorData, dataTypeFromName, dataTypeName, rawByteLength, tensorToArray, tensorToNumbers,
} from '../../src/onnx/tensor-data.ts';

interface Reference { dataType: number; dims: number[]; expected: (number | string)[]; raw: string; field: string }

const PYTHON = '/usr/bin/python3';
const script = new URL('./reference-tensors.py', import.meta.url).pathname;
function loadReferences(): Reference[] | string {
  if (!existsSync(PYTHON)) return 'no /usr/bin/python3';
  const run = spawnSync(PYTHON, [script], { encoding: 'utf8' });
  if (run.status !== 0) return `python3-onnx unavailable: ${run.stderr.split('\n').at(-2)}`;
  return JSON.parse(run.stdout) as Reference[];
}
const references = loadReferences();
const skip = typeof references === 'string' ? references : false;

/** Values as comparable plain JS: bigints as strings, floats as numbers. */
function plain(data: TensorArray): (number | string)[] {
  return Array.from(data as ArrayLike<number | bigint | string>, (v) => (typeof v === 'bigint' ? v.toString() : v));
}
function expectedPlain(ref: Reference): (number | string)[] {
  const float = [DataType.FLOAT, DataType.DOUBLE, DataType.COMPLEX64, DataType.COMPLEX128].includes(ref.dataType as 1);
  return ref.expected.map((v) => (float ? Number(v) : v));
}
const bytesOf = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

test('types 1–16 decode from ONNX\'s raw_data and typed fields to the same values', { skip }, () => {
  const refs = references as Reference[];
  assert.deepEqual(refs.map((r) => r.dataType), Array.from({ length: 16 }, (_, i) => i + 1));
  for (const ref of refs) {
    const name = dataTypeName(ref.dataType);
    for (const form of ['raw', 'field'] as const) {
      const decoded = tensorToArray(fromBinary(TensorProtoSchema, bytesOf(ref[form])));
      assert.deepEqual([decoded.dataType, decoded.dims], [ref.dataType, ref.dims], `${name} ${form}`);
      assert.deepEqual(plain(decoded.data), expectedPlain(ref), `${name} ${form}`);
    }
  }
});

test('arrayToTensor writes the bytes numpy writes, and round trips through protobuf', { skip }, () => {
  for (const ref of references as Reference[]) {
    const name = dataTypeName(ref.dataType);
    const theirs = fromBinary(TensorProtoSchema, bytesOf(ref.raw));
    const values = tensorToArray(theirs);
    const ours = arrayToTensor('t', ref.dataType, ref.dims, values.data);
    if (ref.dataType === DataType.STRING) assert.deepEqual(ours.stringData, theirs.stringData, name);
    else assert.deepEqual(ours.rawData, theirs.rawData, name);
    const again = tensorToArray(fromBinary(TensorProtoSchema, toBinary(TensorProtoSchema, ours)));
    assert.deepEqual(plain(again.data), expectedPlain(ref), name);
    assert.equal(dataTypeFromName(name), ref.dataType);
  }
});

/** float8 1.0 in each encoding (ONNX's float8 tables): e4m3fn 0x38, e4m3fnuz 0x40, e5m2 0x3c, e5m2fnuz 0x40. */
test('float8 types (17–20) decode bit patterns from raw_data and int32_data', () => {
  const ones = { 17: 0x38, 18: 0x40, 19: 0x3c, 20: 0x40 } as const;
  for (const [type, one] of Object.entries(ones)) {
    const dataType = Number(type);
    const bits = [one, 0x80 | one, 0x00];
    const fromRaw = tensorToArray(create(TensorProtoSchema, { dataType, dims: [3n], rawData: Uint8Array.from(bits) }));
    const fromField = tensorToArray(create(TensorProtoSchema, { dataType, dims: [3n], int32Data: bits }));
    assert.deepEqual([...(fromRaw.data as Uint8Array)], bits);
    assert.deepEqual([...(fromField.data as Uint8Array)], bits);
    assert.equal(rawByteLength(dataType, 3), 3);
  }
});

test('4-bit types (21–23) keep two elements per byte, low nibble first, odd counts padded', () => {
  // int4 [1, -2, 7] → nibbles 0x1, 0xE, 0x7 → bytes 0xE1, 0x07.
  for (const dataType of [DataType.UINT4, DataType.INT4, DataType.FLOAT4E2M1]) {
    const packed = [0xe1, 0x07];
    const fromRaw = tensorToArray(create(TensorProtoSchema, { dataType, dims: [3n], rawData: Uint8Array.from(packed) }));
    const fromField = tensorToArray(create(TensorProtoSchema, { dataType, dims: [3n], int32Data: packed }));
    assert.deepEqual([...(fromRaw.data as Uint8Array)], packed);
    assert.deepEqual([...(fromField.data as Uint8Array)], packed);
    assert.equal(rawByteLength(dataType, 3), 2);
    assert.equal(rawByteLength(dataType, 4), 2);
    assertTensorError(create(TensorProtoSchema, { dataType, dims: [3n], rawData: Uint8Array.of(0xe1) }), /1 bytes of raw_data; \w+\[3\] needs 2/);
    assertTensorError(create(TensorProtoSchema, { dataType, dims: [5n], int32Data: packed }), /2 values in int32Data; \w+\[5\] needs 3/);
  }
});

function assertTensorError(tensor: TensorProto, pattern: RegExp): void {
  for (const check of [() => tensorToArray(tensor), () => checkTensorData(tensor)]) {
    assert.throws(check, (e: unknown) => isExitwiseError(e, 'EXW_TENSOR_DATA') && pattern.test(e.message));
  }
}

test('sizes that disagree with dims, bad dims and unknown types give EXW_TENSOR_DATA', () => {
  const t = (init: Parameters<typeof create<typeof TensorProtoSchema>>[1]) => create(TensorProtoSchema, { name: 'w', ...init });
  assertTensorError(t({ dataType: DataType.FLOAT, dims: [2n, 2n], rawData: new Uint8Array(12) }), /tensor "w" has 12 bytes of raw_data; float32\[2, 2\] needs 16/);
  assertTensorError(t({ dataType: DataType.FLOAT, dims: [2n, 2n], floatData: [1, 2, 3] }), /3 values in floatData; float32\[2, 2\] needs 4/);
  assertTensorError(t({ dataType: DataType.COMPLEX64, dims: [2n], floatData: [1, 2, 3] }), /needs 4/);
  assertTensorError(t({ dataType: DataType.INT64, dims: [3n], int64Data: [1n] }), /int64Data/);
  assertTensorError(t({ dataType: DataType.STRING, dims: [2n], stringData: [new Uint8Array(1)] }), /1 strings for 2 elements/);
  assertTensorError(t({ dataType: DataType.FLOAT, dims: [-1n], floatData: [] }), /invalid dims \[-1\]/);
  assertTensorError(t({ dataType: DataType.FLOAT, dims: [2n ** 60n], floatData: [1] }), /invalid dims/);
  assertTensorError(t({ dataType: 99, dims: [1n], rawData: new Uint8Array(4) }), /unknown ONNX data type 99/);
  assertTensorError(t({ dataType: DataType.FLOAT, dims: [1n], dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] }), /external file that was not loaded/);
  assert.throws(() => arrayToTensor('w', DataType.FLOAT, [3], new Float32Array(2)), (e: unknown) => isExitwiseError(e, 'EXW_TENSOR_DATA') && /8 bytes given; float32\[3\] needs 12/.test(e.message));
  assert.throws(() => arrayToTensor('w', DataType.FLOAT, [1], ['a']), (e: unknown) => isExitwiseError(e, 'EXW_TENSOR_DATA'));
  assert.throws(() => dataTypeFromName('float128'), (e: unknown) => isExitwiseError(e, 'EXW_TENSOR_DATA'));
});

test('empty tensors and scalars; tensorToNumbers reads shapes', () => {
  assert.deepEqual(tensorToArray(arrayToTensor('e', DataType.FLOAT, [0, 3], new Float32Array(0))).dims, [0, 3]);
  assert.deepEqual(plain(tensorToArray(arrayToTensor('s', DataType.DOUBLE, [], new Float64Array([2.5]))).data), [2.5]);
  assert.deepEqual(tensorToNumbers(arrayToTensor('shape', DataType.INT64, [3], new BigInt64Array([1n, -1n, 784n]))), [1, -1, 784]);
  assert.throws(() => tensorToNumbers(arrayToTensor('s', DataType.STRING, [1], ['x'])), (e: unknown) => isExitwiseError(e, 'EXW_TENSOR_DATA'));
  // raw_data sliced out of a larger buffer at an odd offset still decodes (copied to aligned memory).
  const buffer = new Uint8Array(9);
  new DataView(buffer.buffer).setFloat32(1, 1.25, true);
  new DataView(buffer.buffer).setFloat32(5, -4, true);
  const odd = create(TensorProtoSchema, { dataType: DataType.FLOAT, dims: [2n], rawData: buffer.subarray(1) });
  assert.deepEqual(plain(tensorToArray(odd).data), [1.25, -4]);
});
