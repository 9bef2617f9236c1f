/** Small hand-made models for the model IO, validation and bad-input tests. */
import { create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { type ModelProto, ModelProtoSchema, type NodeProtoSchema, type ValueInfoProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { DataType, arrayToTensor } from '../../src/onnx/tensor-data.ts';
import type { MessageInitShape } from '@bufbuild/protobuf';

type NodeInit = MessageInitShape<typeof NodeProtoSchema>;
type ValueInfoInit = MessageInitShape<typeof ValueInfoProtoSchema>;

/** A float tensor value info; string dims are symbolic. */
export function floatInfo(name: string, dims: (number | string)[] = []): ValueInfoInit {
  const dim = dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } }));
  return { name, type: { value: { case: 'tensorType', value: { elemType: DataType.FLOAT, shape: { dim } } } } };
}

/** One graph from nodes, float inputs/outputs and opset imports (default: ai.onnx 17). */
export function tinyModel(options: {
  nodes: NodeInit[];
  inputs?: string[];
  outputs?: string[];
  opsets?: Record<string, number>;
  initializers?: Record<string, number[]>;
}): ModelProto {
  const opsets = options.opsets ?? { '': 17 };
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version: BigInt(version) })),
    graph: {
      name: 'tiny',
      node: options.nodes,
      input: (options.inputs ?? ['x']).map((n) => floatInfo(n, [2])),
      output: (options.outputs ?? ['y']).map((n) => floatInfo(n)),
      initializer: Object.entries(options.initializers ?? {}).map(([name, values]) => arrayToTensor(name, DataType.FLOAT, [values.length], new Float32Array(values))),
    },
  });
}

/** y = x · W + b with a 2×3 weight: enough weights to notice any changed byte. */
export function linearModel(): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'linear',
      input: [floatInfo('x', ['N', 2])],
      output: [floatInfo('y', ['N', 3])],
      initializer: [
        arrayToTensor('W', DataType.FLOAT, [2, 3], new Float32Array([1, -2, 3, 0.5, 4, -1])),
        arrayToTensor('b', DataType.FLOAT, [3], new Float32Array([0.25, 0, -0.75])),
      ],
      node: [
        { opType: 'MatMul', input: ['x', 'W'], output: ['xw'], name: 'matmul' },
        { opType: 'Add', input: ['xw', 'b'], output: ['y'], name: 'add' },
      ],
    },
  });
}

/** linearModel by hand: x=[[1, 2]] → [2.25, 6, -0.75]. */
export const LINEAR_X = [1, 2];
export const LINEAR_Y = [1 * 1 + 2 * 0.5 + 0.25, -2 + 8 + 0, 3 - 2 - 0.75];

/** Runs a model's bytes on ORT (1 thread) and returns the named output's values. */
export async function runOrt(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, output: string): Promise<number[]> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 4 });
  try {
    const result = await session.run(feeds);
    return Array.from(result[output]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

/** The message of the error ORT gives when creating a session from `bytes`, or 'ok'. */
export async function ortLoadError(bytes: Uint8Array): Promise<string> {
  try {
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    await session.release();
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
}
