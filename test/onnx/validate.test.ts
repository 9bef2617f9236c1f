/**
 * validateModel: each broken model gives the typed error naming the node and tensor, and ONNX
 * Runtime (the independent reference) refuses the same model; valid models pass and ORT runs them.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { create } from '@bufbuild/protobuf';
import { type ErrorCode, isExitwiseError } from '../../src/errors.ts';
import { decodeModel, encodeModel } from '../../src/onnx/model-io.ts';
import { FunctionProtoSchema, GraphProtoSchema, type ModelProto, TypeProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { DataType, arrayToTensor } from '../../src/onnx/tensor-data.ts';
import { checkModel, validateModel } from '../../src/onnx/validate.ts';
import { TESTDATA_ROOT, listCases } from './conformance-runner.ts';
import { LINEAR_X, LINEAR_Y, floatInfo, linearModel, ortLoadError, runOrt, tinyModel } from './tiny-models.ts';

/** Asserts validateModel throws `code` with a message matching every pattern, and ORT refuses the model too. */
async function assertInvalid(model: ModelProto, code: ErrorCode, patterns: RegExp[], ortRefuses = true): Promise<void> {
  assert.throws(() => validateModel(model), (e: unknown) => {
    assert.ok(isExitwiseError(e, code), `expected ${code}, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message + (e.hint ?? ''), p);
    return true;
  });
  if (ortRefuses) assert.notEqual(await ortLoadError(encodeModel(model)), 'ok', 'ORT loads a model validation refuses');
}

test('a valid model passes, and ORT runs it to the hand-computed answer', async () => {
  const model = linearModel();
  assert.deepEqual(validateModel(model), { warnings: [], opsets: { '': 17 }, graphs: 1, nodes: 2 });
  const y = await runOrt(encodeModel(model), { x: new ort.Tensor('float32', new Float32Array(LINEAR_X), [1, 2]) }, 'y');
  assert.deepEqual(y, LINEAR_Y);
});

test('a missing initializer names the node and the tensor', async () => {
  const model = linearModel();
  model.graph!.initializer = model.graph!.initializer.filter((t) => t.name !== 'W');
  await assertInvalid(model, 'EXW_MODEL_INVALID', [/MatMul "matmul" \(node #0\)/, /tensor "W"/, /initializer is missing/]);
});

test('structural errors: unproduced output, two producers, a cycle, an empty op type', async () => {
  await assertInvalid(tinyModel({ nodes: [{ opType: 'Relu', input: ['x'], output: ['h'] }], outputs: ['y'] }), 'EXW_MODEL_INVALID', [/output "y", which nothing produces/]);
  await assertInvalid(tinyModel({ nodes: [{ opType: 'Relu', input: ['x'], output: ['y'] }, { opType: 'Abs', input: ['x'], output: ['y'] }] }), 'EXW_MODEL_INVALID', [/tensor "y" twice: as an output of Relu \(node #0\) and as an output of Abs \(node #1\)/]);
  await assertInvalid(tinyModel({ nodes: [{ opType: 'Relu', input: ['x'], output: ['x'] }] }), 'EXW_MODEL_INVALID', [/tensor "x" twice: as a graph input and as an output of Relu/]);
  await assertInvalid(tinyModel({
    nodes: [{ opType: 'Add', input: ['x', 'b'], output: ['a'] }, { opType: 'Relu', input: ['a'], output: ['b'] }, { opType: 'Abs', input: ['a'], output: ['y'] }],
  }), 'EXW_MODEL_INVALID', [/cycle/]);
  await assertInvalid(tinyModel({ nodes: [{ opType: '', input: ['x'], output: ['y'] }] }), 'EXW_MODEL_INVALID', [/no op_type/]);
});

test('ops and domains: unimported, unknown, misspelt, too new for the opset, opset too new for ORT', async () => {
  const relu = (opType: string, domain = '') => [{ opType, domain, input: ['x'], output: ['y'], name: 'n' }];
  await assertInvalid(tinyModel({ nodes: relu('Relu', 'ai.onnx.ml') }), 'EXW_UNKNOWN_OP', [/domain ai.onnx.ml/, /opset_import does not list/]);
  await assertInvalid(tinyModel({ nodes: relu('Frobnicate', 'com.example'), opsets: { '': 17, 'com.example': 1 } }), 'EXW_UNKNOWN_OP', [/"com.example"/, /Known domains/]);
  await assertInvalid(tinyModel({ nodes: relu('Reluu') }), 'EXW_UNKNOWN_OP', [/ai.onnx has no op "Reluu"/, /Did you mean "Relu"/]);
  await assertInvalid(tinyModel({ nodes: relu('Gelu') }), 'EXW_UNKNOWN_OP', [/Gelu exists from ai.onnx opset 20/, /imports opset 17/]);
  assert.equal(validateModel(tinyModel({ nodes: relu('Gelu'), opsets: { '': 20 } })).nodes, 1);
  await assertInvalid(tinyModel({ nodes: relu('Relu'), opsets: { '': 27 } }), 'EXW_UNKNOWN_OP', [/opset 27/, /opset ≤ 26/]);
  await assertInvalid(tinyModel({ nodes: relu('Relu'), opsets: { '': 17, 'ai.onnx': 16 } }), 'EXW_MODEL_INVALID', [/twice/], false);
  const ir = tinyModel({ nodes: relu('Relu') });
  ir.irVersion = 14n;
  await assertInvalid(ir, 'EXW_MODEL_INVALID', [/ir_version 14/]);
});

test('the default domain may be spelt ai.onnx; legacy ops ORT registers give warnings, not errors', () => {
  assert.equal(validateModel(tinyModel({ nodes: [{ opType: 'Relu', domain: 'ai.onnx', input: ['x'], output: ['y'] }] })).nodes, 1);
  const report = validateModel(tinyModel({ nodes: [{ opType: 'ImageScaler', input: ['x'], output: ['y'] }], opsets: { '': 9 } }));
  assert.equal(report.warnings.length, 1);
  assert.match(report.warnings[0]!.message, /ImageScaler is not a standard op at ai.onnx opset 9/);
  const unused = validateModel(tinyModel({ nodes: [{ opType: 'Relu', input: ['x'], output: ['y'] }], opsets: { '': 17, 'com.unused': 1 } }));
  assert.match(unused.warnings[0]!.message, /"com.unused", which no node uses/);
});

test('model-local functions define their domain; ORT runs them as validation expects', async () => {
  const model = tinyModel({ nodes: [{ opType: 'DoubleRelu', domain: 'my.funcs', input: ['x'], output: ['y'] }], opsets: { '': 17, 'my.funcs': 1 } });
  model.irVersion = 8n;
  model.functions.push(create(FunctionProtoSchema, {
    name: 'DoubleRelu', domain: 'my.funcs', input: ['a'], output: ['b'], opsetImport: [{ domain: '', version: 17n }],
    node: [{ opType: 'Relu', input: ['a'], output: ['r'] }, { opType: 'Add', input: ['r', 'r'], output: ['b'] }],
  }));
  assert.deepEqual(validateModel(model).graphs, 2);
  assert.deepEqual(await runOrt(encodeModel(model), { x: new ort.Tensor('float32', new Float32Array([-1, 3]), [2]) }, 'y'), [0, 6]);
  model.functions[0]!.node[1]!.input[1] = 'nowhere';
  await assertInvalid(model, 'EXW_MODEL_INVALID', [/function my.funcs::DoubleRelu/, /Add \(node #1\) reads tensor "nowhere"/]);
});

/** If(cond) then y = x + bias (bias from the outer scope) else y = x. */
function ifModel(thenInput: string): ModelProto {
  const branch = (name: string, input: string[]) => create(GraphProtoSchema, {
    name, node: [{ opType: input.length === 2 ? 'Add' : 'Identity', input, output: [`${name}_out`] }], output: [floatInfo(`${name}_out`, [2])],
  });
  const model = tinyModel({
    inputs: ['x', 'cond'],
    initializers: { bias: [10, 20] },
    nodes: [{
      opType: 'If', name: 'choose', input: ['cond'], output: ['y'],
      attribute: [
        { name: 'then_branch', type: 5, g: branch('then', ['x', thenInput]) },
        { name: 'else_branch', type: 5, g: branch('else', ['x']) },
      ],
    }],
  });
  model.graph!.input[1]!.type = create(TypeProtoSchema, { value: { case: 'tensorType', value: { elemType: DataType.BOOL, shape: { dim: [] } } } });
  return model;
}

test('subgraphs read outer-scope names; an undefined one is named with its path', async () => {
  const model = ifModel('bias');
  assert.equal(validateModel(model).graphs, 3);
  const feeds = { x: new ort.Tensor('float32', new Float32Array([1, 2]), [2]), cond: new ort.Tensor('bool', new Uint8Array([1]), []) };
  assert.deepEqual(await runOrt(encodeModel(model), feeds, 'y'), [11, 22]);
  await assertInvalid(ifModel('no_such_bias'), 'EXW_MODEL_INVALID', [/If "choose" \(node #0\) \.then_branch/, /Add \(node #0\) reads tensor "no_such_bias"/]);
});

test('initializer and Constant data sizes are checked against their dims', async () => {
  const model = linearModel();
  model.graph!.initializer[0]!.dims = [3n, 3n];
  await assertInvalid(model, 'EXW_TENSOR_DATA', [/initializer "W"/, /24 bytes of raw_data; float32\[3, 3\] needs 36/]);
  const constant = tinyModel({ nodes: [{ opType: 'Constant', output: ['y'], name: 'c', attribute: [{ name: 'value', type: 4, t: arrayToTensor('v', DataType.FLOAT, [2], new Float32Array([1, 2])) }] }], inputs: [] });
  assert.equal(validateModel(constant).nodes, 1);
  constant.graph!.node[0]!.attribute[0]!.t!.dims = [5n];
  await assertInvalid(constant, 'EXW_TENSOR_DATA', [/Constant "c" \(node #0\), attribute "value"/]);
});

test('several errors are all reported by checkModel, and counted in the thrown message', () => {
  const model = linearModel();
  model.graph!.initializer = [];
  assert.deepEqual(checkModel(model).errors.map((e) => e.code), ['EXW_MODEL_INVALID', 'EXW_MODEL_INVALID']);
  assert.throws(() => validateModel(model), /and 1 more problem: .*tensor "b"/);
});

test('every libonnx-testdata model validates without errors', { skip: !existsSync(TESTDATA_ROOT) }, () => {
  const problems: string[] = [];
  for (const c of listCases(['node', 'pytorch-converted', 'pytorch-operator', 'simple'])) {
    const { errors } = checkModel(decodeModel(readFileSync(join(c.dir, 'model.onnx'))));
    if (errors.length > 0) problems.push(`${c.id}: ${errors[0]!.message}`);
  }
  assert.deepEqual(problems, []);
});
