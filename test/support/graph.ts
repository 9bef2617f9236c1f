/** A tiny builder of forward test graphs: float32 initializers, typed inputs, nodes. */
import { create } from '@bufbuild/protobuf';
import { type AttributeProto, type ModelProto, ModelProtoSchema, type NodeProto, NodeProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { valueInfoFromShape } from '../../src/onnx/shapes/index.ts';
import type { Dim } from '../../src/onnx/shapes/types.ts';
import { arrayToTensor, DataType } from '../../src/onnx/tensor-data.ts';

export function node(opType: string, input: string[], output: string[], attribute: AttributeProto[] = []): NodeProto {
  return create(NodeProtoSchema, { opType, input, output, attribute, name: output[0]! });
}

export interface TestGraph {
  /** Graph inputs: name → [dims, data type] (float32 unless given). */
  inputs: Record<string, Dim[] | [Dim[], number]>;
  /** Float32 initializers: name → [dims, values] (int64 for names in `int64`). */
  initializers?: Record<string, [number[], ArrayLike<number>]>;
  int64?: string[];
  nodes: NodeProto[];
  outputs: string[];
  opset?: number;
}

export function testModel(g: TestGraph): ModelProto {
  const int64 = new Set(g.int64 ?? []);
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: BigInt(g.opset ?? 17) }],
    graph: {
      name: 'test',
      node: g.nodes,
      input: Object.entries(g.inputs).map(([name, spec]) => {
        const [dims, dataType] = Array.isArray(spec[0]) ? (spec as [Dim[], number]) : [spec as Dim[], DataType.FLOAT];
        return valueInfoFromShape(name, { dataType, dims });
      }),
      initializer: Object.entries(g.initializers ?? {}).map(([name, [dims, values]]) => int64.has(name)
        ? arrayToTensor(name, DataType.INT64, dims, BigInt64Array.from(Array.from(values, (v) => BigInt(v))))
        : arrayToTensor(name, DataType.FLOAT, dims, Float32Array.from(values))),
      output: g.outputs.map((name) => ({ name })),
    },
  });
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` values uniform in [−scale, scale). */
export function randomValues(random: () => number, count: number, scale = 1): number[] {
  return Array.from({ length: count }, () => (random() * 2 - 1) * scale);
}
