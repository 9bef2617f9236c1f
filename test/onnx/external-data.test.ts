/**
 * External tensor data: resolved inside the model's folder and checked against ORT reading the
 * same files itself; every way out of the folder refused with EXW_EXTERNAL_DATA.
 */
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { create, equals } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { isExitwiseError } from '../../src/errors.ts';
import { hasExternalData } from '../../src/onnx/external-data.ts';
import { encodeModel, loadModel, saveModel } from '../../src/onnx/model-io.ts';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation } from '../../src/onnx/proto/onnx_pb.ts';
import { DataType, arrayToTensor } from '../../src/onnx/tensor-data.ts';
import { LINEAR_X, LINEAR_Y, linearModel, runOrt } from './tiny-models.ts';

const root = mkdtempSync(join(tmpdir(), 'exitwise-external-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;

/** W (24 bytes) and b (12 bytes) of linearModel, as they sit in the data file. */
const W_BYTES = new Uint8Array(new Float32Array([1, -2, 3, 0.5, 4, -1]).buffer);
const B_BYTES = new Uint8Array(new Float32Array([0.25, 0, -0.75]).buffer);
const feeds = () => ({ x: new ort.Tensor('float32', new Float32Array(LINEAR_X), [1, 2]) });

/**
 * A folder holding model.onnx whose W lives at `location` (offset 8, after 8 junk bytes) and b
 * at the same file's end. `setup` creates whatever files the case needs.
 */
function modelFolder(location: string, setup: (dir: string) => void, entries: Record<string, string> = {}): string {
  const dir = join(root, `case-${folders++}`);
  mkdirSync(dir);
  setup(dir);
  const model = linearModel();
  const refs: Record<string, Record<string, string>> = {
    W: { location, offset: '8', length: '24', ...entries },
    b: { location, offset: '32', length: '12' },
  };
  for (const t of model.graph!.initializer) {
    t.rawData = new Uint8Array(0);
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    t.externalData = Object.entries(refs[t.name]!).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
  }
  writeFileSync(join(dir, 'model.onnx'), encodeModel(model));
  return dir;
}

const dataFile = () => Buffer.concat([Buffer.alloc(8, 0xee), W_BYTES, B_BYTES]);
const writeData = (path: string) => writeFileSync(path, dataFile());

test('loadModel reads external data beside the model; ORT reading the files agrees', async () => {
  const dir = modelFolder('weights.bin', (d) => writeData(join(d, 'weights.bin')));
  const model = loadModel(join(dir, 'model.onnx'));
  assert.equal(hasExternalData(model), false);
  assert.deepEqual(model.graph!.initializer.map((t) => [...t.rawData]), [[...W_BYTES], [...B_BYTES]]);
  const ours = await runOrt(encodeModel(model), feeds(), 'y');
  assert.deepEqual(ours, LINEAR_Y);
  // ORT resolves the external file itself when given the path: an independent reader.
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { logSeverityLevel: 4 });
  assert.deepEqual(Array.from((await session.run(feeds()))['y']!.data as Float32Array), ours);
  await session.release();
  // A data file in a sub-folder of the model folder is fine.
  const nested = modelFolder('data/weights.bin', (d) => (mkdirSync(join(d, 'data')), writeData(join(d, 'data', 'weights.bin'))));
  assert.equal(hasExternalData(loadModel(join(nested, 'model.onnx'))), false);
  // Without loading, the tensors stay external.
  assert.equal(hasExternalData(loadModel(join(dir, 'model.onnx'), { loadExternalData: false })), true);
});

/** Asserts loading the folder's model fails with EXW_EXTERNAL_DATA and a message matching `pattern`. */
function assertRefused(dir: string, pattern: RegExp): void {
  assert.throws(() => loadModel(join(dir, 'model.onnx')), (e: unknown) => {
    assert.ok(isExitwiseError(e, 'EXW_EXTERNAL_DATA'), String(e));
    assert.match(e.message, /tensor "W"/);
    assert.match(e.message, pattern);
    return true;
  });
}

test('locations leaving the model folder are refused', () => {
  const outside = join(root, `outside-${folders}.bin`);
  writeData(outside);
  assertRefused(modelFolder(`../outside-${folders}.bin`, () => {}), /contains "\.\."/);
  assertRefused(modelFolder('sub/../../x.bin', (d) => mkdirSync(join(d, 'sub'))), /contains "\.\."/);
  assertRefused(modelFolder('sub\\..\\..\\x.bin', () => {}), /contains "\.\."/);
  assertRefused(modelFolder(outside, () => {}), /absolute path/);
  assertRefused(modelFolder('C:\\data\\w.bin', () => {}), /absolute path/);
});

test('symbolic links (file or folder) and hard links are refused', () => {
  const outsideDir = join(root, 'outside-dir');
  mkdirSync(outsideDir);
  writeData(join(outsideDir, 'weights.bin'));
  assertRefused(modelFolder('weights.bin', (d) => symlinkSync(join(outsideDir, 'weights.bin'), join(d, 'weights.bin'))), /symbolic link/);
  assertRefused(modelFolder('data/weights.bin', (d) => symlinkSync(outsideDir, join(d, 'data'))), /symbolic link/);
  assertRefused(modelFolder('weights.bin', (d) => linkSync(join(outsideDir, 'weights.bin'), join(d, 'weights.bin'))), /2 hard links/);
});

test('missing files, out-of-range offsets and lengths, and malformed entries are refused', () => {
  assertRefused(modelFolder('absent.bin', () => {}), /does not exist/);
  assertRefused(modelFolder('weights.bin', (d) => writeFileSync(join(d, 'weights.bin'), dataFile().subarray(0, 20))), /reads bytes 8\.\.32 of "weights.bin", which has only 20/);
  assertRefused(modelFolder('weights.bin', (d) => writeData(join(d, 'weights.bin')), { offset: '40' }), /which has only 44/);
  assertRefused(modelFolder('weights.bin', (d) => writeData(join(d, 'weights.bin')), { length: '4000' }), /which has only 44/);
  assertRefused(modelFolder('weights.bin', (d) => writeData(join(d, 'weights.bin')), { offset: '-8' }), /not a non-negative integer/);
  assertRefused(modelFolder('weights.bin', (d) => writeData(join(d, 'weights.bin')), { offset: '1e3' }), /not a non-negative integer/);
  assertRefused(modelFolder('weights.bin', (d) => writeData(join(d, 'weights.bin')), { location: '' }), /no "location" entry/);
  assertRefused(modelFolder('sub', (d) => mkdirSync(join(d, 'sub'))), /not a regular file|cannot be opened/);
});

test('saveModel with externalData writes a data file that ORT and loadModel both read back', async () => {
  const dir = join(root, 'saved');
  const model = linearModel();
  // W [2, 500] of 0.5 (4000 bytes) and b [500] of 0 (2000 bytes) go external; y = x · W + b.
  model.graph!.initializer = [
    arrayToTensor('W', DataType.FLOAT, [2, 500], new Float32Array(1000).fill(0.5)),
    arrayToTensor('b', DataType.FLOAT, [500], new Float32Array(500)),
  ];
  model.graph!.output[0]!.type = undefined;
  const path = join(dir, 'model.onnx');
  const before = encodeModel(model);
  saveModel(path, model, { externalData: { location: 'model.onnx.data' } });
  assert.deepEqual(encodeModel(model), before, 'saveModel changed its argument');
  assert.equal(statSync(join(dir, 'model.onnx.data')).size, 4000 + 2000);
  assert.ok(statSync(path).size < 500);
  assert.equal(hasExternalData(loadModel(path, { loadExternalData: false })), true);
  assert.ok(equals(ModelProtoSchema, loadModel(path), model));
  const x = new ort.Tensor('float32', new Float32Array([1, 3]), [1, 2]);
  const session = await ort.InferenceSession.create(path, { logSeverityLevel: 4 });
  const y = Array.from((await session.run({ x }))['y']!.data as Float32Array);
  await session.release();
  assert.deepEqual(y, new Array(500).fill(2));
  assert.throws(() => saveModel(path, model, { externalData: { location: '../evil.bin' } }), (e: unknown) => isExitwiseError(e, 'EXW_EXTERNAL_DATA'));
});
