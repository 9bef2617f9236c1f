/**
 * Hostile and broken model bytes: truncated, random, bit-flipped, oversized, absurdly nested.
 * Every input must end in a model or a typed ExitwiseError with a stable code: never a
 * TypeError, a crash or a hang.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { equals } from '@bufbuild/protobuf';
import { isExitwiseError } from '../../src/errors.ts';
import { MAX_MESSAGE_NESTING, decodeModel, encodeModel, loadModel } from '../../src/onnx/model-io.ts';
import { ModelProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { tensorToArray } from '../../src/onnx/tensor-data.ts';
import { checkModel, validateModel } from '../../src/onnx/validate.ts';
import { TESTDATA_ROOT } from './conformance-runner.ts';
import { linearModel, tinyModel } from './tiny-models.ts';

const TIMEOUT = 60_000;
/** Real models with subgraphs (Loop, If), function-expanded ops, and initializers. */
const SAMPLES = ['node/test_loop11', 'node/test_if', 'node/test_layer_normalization_2d_axis0_expanded', 'pytorch-converted/test_Conv3d', 'pytorch-operator/test_operator_conv'];
const haveTestdata = existsSync(TESTDATA_ROOT);
const samples = (): Uint8Array[] => [
  encodeModel(linearModel()),
  ...(haveTestdata ? SAMPLES.map((s) => new Uint8Array(readFileSync(join(TESTDATA_ROOT, s, 'model.onnx')))) : []),
];

type Fate = 'decode-error' | 'invalid' | 'valid';

/**
 * Decodes, re-encodes, validates and reads every initializer of `bytes`; any failure that is not
 * an ExitwiseError propagates and fails the test.
 */
function fate(bytes: Uint8Array): Fate {
  let model;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    if (isExitwiseError(e, 'EXW_MODEL_DECODE')) return 'decode-error';
    throw e;
  }
  assert.ok(equals(ModelProtoSchema, decodeModel(encodeModel(model)), model), 'a decoded model re-encodes to itself');
  const { errors } = checkModel(model);
  for (const t of model.graph!.initializer) {
    try {
      tensorToArray(t);
    } catch (e) {
      if (!isExitwiseError(e, 'EXW_TENSOR_DATA')) throw e;
    }
  }
  return errors.length > 0 ? 'invalid' : 'valid';
}

function tally(inputs: Iterable<Uint8Array>): Record<Fate, number> {
  const counts: Record<Fate, number> = { 'decode-error': 0, invalid: 0, valid: 0 };
  for (const bytes of inputs) counts[fate(bytes)]++;
  return counts;
}

/** mulberry32: a tiny seeded PRNG, so failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('models cut at every byte give EXW_MODEL_DECODE or a typed validation result', { timeout: TIMEOUT }, () => {
  for (const model of samples()) {
    assert.equal(fate(model), 'valid');
    const counts = tally(Array.from({ length: model.byteLength }, (_, cut) => model.subarray(0, cut)));
    assert.equal(counts['decode-error'] + counts.invalid + counts.valid, model.byteLength);
    assert.ok(counts['decode-error'] > model.byteLength / 2, JSON.stringify(counts));
  }
});

test('random bytes, and real models with random bytes changed, never escape as untyped errors', { timeout: TIMEOUT }, () => {
  const garbage = Array.from({ length: 400 }, (_, seed) => {
    const next = random(seed + 1);
    const bytes = Uint8Array.from({ length: 1 + Math.floor(next() * 2048) }, () => Math.floor(next() * 256));
    if (seed % 2 === 1) bytes[0] = 0x3a; // ModelProto.graph, length-delimited: reach the graph parser
    return bytes;
  });
  const counts = tally(garbage);
  assert.ok(counts['decode-error'] > 300, JSON.stringify(counts));
  const models = samples();
  const flipped = Array.from({ length: 1500 }, (_, seed) => {
    const next = random(1000 + seed);
    const bytes = models[seed % models.length]!.slice();
    for (let k = 1 + Math.floor(next() * 4); k > 0; k--) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
    return bytes;
  });
  const flippedCounts = tally(flipped);
  assert.ok(flippedCounts.invalid + flippedCounts['decode-error'] > 0, JSON.stringify(flippedCounts));
});

test('oversized input and length prefixes longer than the data give EXW_MODEL_DECODE', () => {
  const model = encodeModel(linearModel());
  assert.throws(() => decodeModel(model, { maxBytes: model.byteLength - 1, source: 'big.onnx' }), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_DECODE') && /big.onnx is \d+ bytes, over the \d+-byte limit/.test(e.message));
  assert.equal(decodeModel(model, { maxBytes: model.byteLength }).graph!.name, 'linear');
  const claims = (length: number[]) => Uint8Array.from([0x3a, ...length, 0x0a, 0x00, 0x12]);
  for (const prefix of [[0xe8, 0x07] /* 1000 */, [0x80, 0x80, 0x80, 0x80, 0x08] /* 2^31 */, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] /* 2^64-1 */]) {
    assert.throws(() => decodeModel(claims(prefix)), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_DECODE'));
  }
  assert.throws(() => decodeModel(new Uint8Array(0)), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_DECODE') && /empty/.test(e.message));
  assert.throws(() => decodeModel(Uint8Array.of(0x08, 0x07)), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_DECODE') && /holds no graph/.test(e.message));
});

/** ModelProto bytes whose graph holds a node whose attribute holds a graph … `depth` graphs deep. */
function nestedModel(depth: number): Uint8Array {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
    return [...out, n];
  };
  // Built from the inside out as a list of prefixes: each level only adds bytes in front.
  const prefixes: number[][] = [];
  let graphLength = 0; // the innermost graph is empty
  for (let level = 1; level < depth; level++) {
    const attribute = [0x32, ...varint(graphLength)]; // AttributeProto.g = 6
    const attributeLength = attribute.length + graphLength;
    const node = [0x2a, ...varint(attributeLength)]; // NodeProto.attribute = 5
    const nodeLength = node.length + attributeLength;
    const graph = [0x0a, ...varint(nodeLength)]; // GraphProto.node = 1
    prefixes.push([...graph, ...node, ...attribute]);
    graphLength = graph.length + nodeLength;
  }
  prefixes.push([0x3a, ...varint(graphLength)]); // ModelProto.graph = 7
  return Uint8Array.from(prefixes.reverse().flat());
}

test('deeply nested subgraphs give EXW_MODEL_DECODE (the nesting limit), never a stack overflow', { timeout: TIMEOUT }, () => {
  // d nested graphs take 3d − 1 messages (model, graph, then node → attribute → graph per level).
  const deepest = Math.floor((MAX_MESSAGE_NESTING + 1) / 3);
  const model = decodeModel(nestedModel(deepest));
  assert.equal(checkModel(model).graphs, deepest);
  for (const depth of [deepest + 1, 5000, 200_000]) {
    assert.throws(() => decodeModel(nestedModel(depth)), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_DECODE') && /maximum recursion depth/.test(e.message), `depth ${depth}`);
  }
});

test('missing initializers, unknown domains and opsets decode, then fail validation with their codes', () => {
  const model = linearModel();
  model.graph!.initializer.pop();
  assert.throws(() => validateModel(decodeModel(encodeModel(model))), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_INVALID') && /tensor "b"/.test(e.message));
  const custom = tinyModel({ nodes: [{ opType: 'Magic', domain: 'org.custom', input: ['x'], output: ['y'] }], opsets: { '': 17, 'org.custom': 3 } });
  assert.throws(() => validateModel(decodeModel(encodeModel(custom))), (e: unknown) => isExitwiseError(e, 'EXW_UNKNOWN_OP'));
  const future = tinyModel({ nodes: [{ opType: 'Relu', input: ['x'], output: ['y'] }], opsets: { '': 99 } });
  assert.throws(() => validateModel(decodeModel(encodeModel(future))), (e: unknown) => isExitwiseError(e, 'EXW_UNKNOWN_OP'));
});

test('loadModel: missing file or a folder give EXW_IO; an empty file or a tensor file give EXW_MODEL_DECODE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'exitwise-bad-'));
  try {
    assert.throws(() => loadModel(join(dir, 'absent.onnx')), (e: unknown) => isExitwiseError(e, 'EXW_IO') && /absent.onnx/.test(e.message));
    assert.throws(() => loadModel(dir), (e: unknown) => isExitwiseError(e, 'EXW_IO'));
    writeFileSync(join(dir, 'empty.onnx'), '');
    assert.throws(() => loadModel(join(dir, 'empty.onnx')), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_DECODE') && /empty.onnx is empty/.test(e.message));
    if (haveTestdata) {
      const tensorFile = join(TESTDATA_ROOT, 'node/test_abs/test_data_set_0/input_0.pb');
      assert.throws(() => loadModel(tensorFile), (e: unknown) => isExitwiseError(e, 'EXW_MODEL_DECODE') && e.message.includes(tensorFile));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
