/**
 * Models and reference data for the runtime tests: a hand-computable MLP built with protobuf
 * `create`, and Debian libonnx-testdata cases (model + input/output tensors from ONNX itself).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, fromBinary } from '@bufbuild/protobuf';
import { DataType, arrayToTensor, dataTypeName, tensorToArray } from '../../src/onnx/tensor-data.ts';
import { type ModelProto, ModelProtoSchema, TensorProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import type { TensorLike } from '../../src/runtime/tensor.ts';

export const TESTDATA = '/usr/share/libonnx-testdata/data/node';

/** y = relu(x · W + b) with W = [[1, -1, 0], [2, 0, 1], [0, 1, -2], [-1, 1, 1]] and b = [0.5, -0.5, 0]. */
export const MLP_W = [1, -1, 0, 2, 0, 1, 0, 1, -2, -1, 1, 1];
export const MLP_B = [0.5, -0.5, 0];

const floatInfo = (name: string, dims: (number | string)[]) => ({
  name,
  type: {
    value: {
      case: 'tensorType' as const,
      value: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } })) },
      },
    },
  },
});

/** x[N, 4] → MatMul → `xw` → Add → `h` → Relu → y[N, 3]. */
export function mlpModel(): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'mlp',
      input: [floatInfo('x', ['N', 4])],
      output: [floatInfo('y', ['N', 3])],
      initializer: [
        arrayToTensor('W', DataType.FLOAT, [4, 3], new Float32Array(MLP_W)),
        arrayToTensor('b', DataType.FLOAT, [3], new Float32Array(MLP_B)),
      ],
      node: [
        { opType: 'MatMul', input: ['x', 'W'], output: ['xw'], name: 'matmul' },
        { opType: 'Add', input: ['xw', 'b'], output: ['h'], name: 'add' },
        { opType: 'Relu', input: ['h'], output: ['y'], name: 'relu' },
      ],
    },
  });
}

/** The MLP computed by hand in float64: [xw, h, y] for x[N, 4]. */
export function mlpReference(x: ArrayLike<number>): { xw: number[]; h: number[]; y: number[] } {
  const xw: number[] = [];
  for (let n = 0; n < x.length / 4; n++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += x[n * 4 + k]! * MLP_W[k * 3 + j]!;
      xw.push(s);
    }
  }
  const h = xw.map((v, i) => v + MLP_B[i % 3]!);
  return { xw, h, y: h.map((v) => Math.max(0, v)) };
}

export interface TestCase {
  name: string;
  model: Uint8Array;
  feeds: Record<string, TensorLike>;
  expected: Record<string, TensorLike>;
}

function toTensorLike(bytes: Uint8Array): TensorLike {
  const { dataType, dims, data } = tensorToArray(fromBinary(TensorProtoSchema, bytes));
  return { type: dataTypeName(dataType), dims, data } as TensorLike;
}

/** Loads libonnx-testdata case `name` (data set 0): inputs and outputs in graph order. */
export function loadCase(name: string): TestCase {
  const dir = join(TESTDATA, name);
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
  const graph = fromBinary(ModelProtoSchema, bytes).graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.map((v) => v.name).filter((n) => !initializers.has(n));
  const files = readdirSync(join(dir, 'test_data_set_0'));
  const read = (prefix: string, names: string[]) =>
    Object.fromEntries(names.map((n, i) => [n, toTensorLike(readFileSync(join(dir, 'test_data_set_0', `${prefix}_${i}.pb`)))]));
  if (files.filter((f) => f.startsWith('input_')).length !== inputs.length) throw new Error(`${name}: input count mismatch`);
  return { name, model: bytes, feeds: read('input', inputs), expected: read('output', graph.output.map((v) => v.name)) };
}

/** Largest |a − b| over two numeric tensors after checking type and dims agree. */
export function maxAbsDiff(a: TensorLike, b: TensorLike): number {
  if (a.type !== b.type) throw new Error(`type ${a.type} vs ${b.type}`);
  if (a.dims.join() !== b.dims.join()) throw new Error(`dims [${a.dims}] vs [${b.dims}]`);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return worst;
}
