/**
 * Model IO round trips: metadata, opset imports, doc strings and fields from ONNX versions newer
 * than the bundled 1.12 schema survive decode → encode; ONNX's own Python loader (python3-onnx)
 * reads what we write.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { DEFAULT_OPSET, decodeModel, emptyModel, encodeModel, loadModel, saveModel } from '../../src/onnx/model-io.ts';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema, StringStringEntryProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { validateModel } from '../../src/onnx/validate.ts';
import { linearModel } from './tiny-models.ts';

const dir = mkdtempSync(join(tmpdir(), 'exitwise-model-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** linearModel dressed with everything a real export carries. */
function richModel(): ModelProto {
  const model = linearModel();
  Object.assign(model, {
    producerName: 'pytorch', producerVersion: '1.13.1', domain: 'org.example', modelVersion: 7n,
    docString: 'A linear layer.\nSecond line: ünïcödé ✓',
  });
  model.metadataProps = [
    create(StringStringEntryProtoSchema, { key: 'exitwise.kind', value: 'stage' }),
    create(StringStringEntryProtoSchema, { key: 'empty', value: '' }),
  ];
  model.opsetImport.push({ $typeName: 'onnx.OperatorSetIdProto', domain: 'ai.onnx.ml', version: 3n });
  model.graph!.docString = 'graph doc';
  model.graph!.node[0]!.docString = 'x · W';
  return model;
}

test('metadata, opset imports and doc strings survive encode → decode and save → load', () => {
  const model = richModel();
  const back = decodeModel(encodeModel(model));
  assert.ok(equals(ModelProtoSchema, back, model));
  assert.deepEqual(back.metadataProps.map((p) => [p.key, p.value]), [['exitwise.kind', 'stage'], ['empty', '']]);
  assert.deepEqual(back.opsetImport.map((o) => [o.domain, o.version]), [['', 17n], ['ai.onnx.ml', 3n]]);
  assert.deepEqual([back.docString, back.graph!.docString, back.graph!.node[0]!.docString], [model.docString, 'graph doc', 'x · W']);
  assert.equal(back.modelVersion, 7n);
  const path = join(dir, 'rich.onnx');
  saveModel(path, model);
  assert.ok(equals(ModelProtoSchema, loadModel(path), model));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'the atomic write left a temporary file');
});

test('ONNX\'s own loader (python3-onnx 1.12) reads what saveModel writes', { skip: !existsSync('/usr/bin/python3') }, (t) => {
  const path = join(dir, 'for-python.onnx');
  saveModel(path, richModel());
  const script = [
    'import json, sys, onnx, onnx.numpy_helper',
    'm = onnx.load(sys.argv[1]); onnx.checker.check_model(m)',
    'print(json.dumps({"meta": {p.key: p.value for p in m.metadata_props}, "doc": m.doc_string, "producer": m.producer_name,',
    '  "opsets": sorted([o.domain, o.version] for o in m.opset_import), "nodes": [n.op_type for n in m.graph.node],',
    '  "W": onnx.numpy_helper.to_array(m.graph.initializer[0]).tolist()}))',
  ].join('\n');
  const run = spawnSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' });
  if (run.status !== 0 && /No module named 'onnx'/.test(run.stderr)) return t.skip('python3-onnx is not installed');
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    meta: { 'exitwise.kind': 'stage', empty: '' },
    doc: 'A linear layer.\nSecond line: ünïcödé ✓',
    producer: 'pytorch',
    opsets: [['', 17], ['ai.onnx.ml', 3]],
    nodes: ['MatMul', 'Add'],
    W: [[1, -2, 3], [0.5, 4, -1]],
  });
});

/** A length-delimited field `fieldNo` holding a StringStringEntryProto, as newer ONNX writes metadata_props. */
function unknownEntryField(fieldNo: number, key: string, value: string): Uint8Array {
  const entry = toBinary(StringStringEntryProtoSchema, create(StringStringEntryProtoSchema, { key, value }));
  return new BinaryWriter().tag(fieldNo, WireType.LengthDelimited).bytes(entry).finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0;
}

test('fields from ONNX versions newer than 1.12 survive decode → encode unchanged', () => {
  // NodeProto.metadata_props (9, ONNX 1.16) inside a node; ModelProto field 26 (unknown to 1.12) at the top.
  const nodeField = unknownEntryField(9, 'source', 'layer1.linear');
  const modelField = unknownEntryField(26, 'device', 'cpu');
  const node = fromBinary(NodeProtoSchema, concat(toBinary(NodeProtoSchema, linearModel().graph!.node[0]!), nodeField));
  const model = linearModel();
  model.graph!.node[0] = node;
  const bytes = concat(encodeModel(model), modelField);
  const decoded = decodeModel(bytes);
  assert.equal(decoded.graph!.node[0]!.$unknown?.length, 1);
  assert.equal(decoded.$unknown?.[0]?.no, 26);
  const again = encodeModel(decoded);
  assert.deepEqual(again, bytes);
  assert.ok(contains(again, nodeField) && contains(again, modelField));
  validateModel(decoded);
});

test('emptyModel gives an opset-17 model that validates; DEFAULT_OPSET is 17', () => {
  const model = emptyModel();
  assert.equal(DEFAULT_OPSET, 17);
  assert.deepEqual(model.opsetImport.map((o) => [o.domain, o.version]), [['', 17n]]);
  assert.equal(validateModel(decodeModel(encodeModel(model))).nodes, 0);
  assert.deepEqual(emptyModel(20).opsetImport[0]!.version, 20n);
});
