/**
 * Test-local helpers for the surgery tests: a tiny graph builder over protobuf `create`, the
 * synthetic residual networks the tests cut, and ONNX Runtime runs of whole and split models.
 */
import { readFileSync } from 'node:fs';
import { type MessageInitShape, create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../../src/onnx/model-io.ts';
import {
  AttributeProto_AttributeType as A, AttributeProtoSchema, type GraphProto, type ModelProto, ModelProtoSchema,
  NodeProtoSchema, type TensorProto, type ValueInfoProto, ValueInfoProtoSchema,
} from '../../src/onnx/proto/onnx_pb.ts';
import { DataType, arrayToTensor } from '../../src/onnx/tensor-data.ts';
import type { Stage } from '../../src/onnx/surgery/split.ts';
import type { TensorShape } from '../../src/onnx/shapes/types.ts';

export const FIXTURES = new URL('../fixtures/', import.meta.url);

/** A tensor ValueInfo (float unless told); `dims` undefined means rank unknown. */
export function floatInfo(name: string, dims?: (number | string)[], elemType: number = DataType.FLOAT): ValueInfoProto {
  const shape = dims === undefined ? undefined : {
    dim: dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } })),
  };
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: 'tensorType', value: shape === undefined ? { elemType } : { elemType, shape } } },
  });
}

type AttrValue = number | number[] | GraphProto;

function attribute(name: string, v: AttrValue): MessageInitShape<typeof AttributeProtoSchema> {
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v.map(BigInt) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: BigInt(v) } : { name, type: A.FLOAT, f: v };
  return { name, type: A.GRAPH, g: v };
}

/** Builds a graph node by node; every node output gets a rank-unknown float value_info unless `typed` is false. */
export class TinyGraph {
  readonly nodes: MessageInitShape<typeof NodeProtoSchema>[] = [];
  readonly inits: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: string[] = [];
  /** Element types of tensors that are not float. */
  readonly elemTypes = new Map<string, number>();
  private seed: number;

  constructor(seed = 1, private readonly typed = true) {
    this.seed = seed;
  }

  input(name: string, dims: (number | string)[]): string {
    this.inputs.push(floatInfo(name, dims));
    return name;
  }

  /** A weight with deterministic pseudo-random values in [-scale, scale] (or `offset ± scale`). */
  weight(name: string, dims: number[], scale = 0.5, offset = 0): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
      data[i] = offset + scale * (2 * (this.seed / 2147483648) - 1);
    }
    this.inits.push(arrayToTensor(name, DataType.FLOAT, dims, data));
    return name;
  }

  node(opType: string, input: string[], output: string, attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push({ opType, name: output, input, output: [output], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return output;
  }

  output(name: string): void {
    this.outputs.push(name);
  }

  graph(name = 'g'): GraphProto {
    return this.model(name).graph!;
  }

  model(name = 'g'): ModelProto {
    const produced = this.nodes.flatMap((n) => n.output ?? []);
    return create(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [{ domain: '', version: 17n }],
      graph: {
        name,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs.map((o) => floatInfo(o, undefined, this.elemTypes.get(o))),
        valueInfo: this.typed ? produced.filter((t) => !this.outputs.includes(t)).map((t) => floatInfo(t, undefined, this.elemTypes.get(t))) : [],
      },
    });
  }
}

/** Conv 3×3 (pad 1) → BatchNormalization with random statistics. */
export function convBn(g: TinyGraph, name: string, input: string, cin: number, cout: number): string {
  const conv = g.node('Conv', [input, g.weight(`${name}.w`, [cout, cin, 3, 3], 0.3)], `${name}_conv`, { pads: [1, 1, 1, 1] });
  return g.node('BatchNormalization', [
    conv, g.weight(`${name}.scale`, [cout], 0.5, 1), g.weight(`${name}.bias`, [cout], 0.2),
    g.weight(`${name}.mean`, [cout], 0.2), g.weight(`${name}.var`, [cout], 0.5, 1),
  ], `${name}_bn`, { epsilon: 1e-5 });
}

/** relu(bn(conv(relu(bn(conv(x))))) + x): inside tensors `${name}_*`, output `${name}_out`. */
export function residualBlock(g: TinyGraph, name: string, input: string, c: number): string {
  const a = g.node('Relu', [convBn(g, `${name}_1`, input, c, c)], `${name}_mid`);
  const sum = g.node('Add', [convBn(g, `${name}_2`, a, c, c), input], `${name}_sum`);
  return g.node('Relu', [sum], `${name}_out`);
}

export interface ResNetOptions {
  blocks?: number;
  /** Add an auxiliary head (pool → flatten → Gemm → `aux`) after this block (1-based). */
  auxAfter?: number;
  /** Also return the pooled features `pool` as a graph output. */
  featuresOutput?: boolean;
  /** Add a node that nothing reads (`dead`, off the stem). */
  deadNode?: boolean;
}

/** x[N, 3, 8, 8] → stem (conv-bn-relu `stem_out`) → residual blocks → pool → flat → Gemm → logits. */
export function residualNet(options: ResNetOptions = {}): ModelProto {
  const g = new TinyGraph(42);
  const c = 4;
  let h = g.node('Relu', [convBn(g, 'stem', g.input('x', ['N', 3, 8, 8]), 3, c)], 'stem_out');
  if (options.deadNode === true) g.node('Sigmoid', [h], 'dead');
  for (let b = 1; b <= (options.blocks ?? 2); b++) {
    h = residualBlock(g, `block${b}`, h, c);
    if (options.auxAfter === b) {
      const flat = g.node('Flatten', [g.node('GlobalAveragePool', [h], 'aux_pool')], 'aux_flat');
      g.output(g.node('Gemm', [flat, g.weight('aux.w', [5, c]), g.weight('aux.b', [5])], 'aux', { transB: 1 }));
    }
  }
  const pool = g.node('GlobalAveragePool', [h], 'pool');
  const flat = g.node('Flatten', [pool], 'flat');
  g.output(g.node('Gemm', [flat, g.weight('fc.w', [5, c]), g.weight('fc.b', [5])], 'logits', { transB: 1 }));
  if (options.featuresOutput === true) g.output('pool');
  return g.model('resnet');
}

/** Deterministic input data in [-1, 1]. */
export function inputTensor(dims: number[], seed = 3): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 12.9898 + i * 78.233) * 0.999;
  return new ort.Tensor('float32', data, dims);
}

/** Runs a model once in ONNX Runtime (a fresh session). */
export async function runOrt(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    const needed = Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]!]));
    return await session.run(needed);
  } finally {
    await session.release();
  }
}

/** Runs stages one after another, each fed from the original feeds and earlier stages' outputs. */
export async function runStages(stages: readonly Stage[], feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const pool: Record<string, ort.Tensor> = { ...feeds };
  for (const stage of stages) {
    for (const name of stage.inputs) if (pool[name] === undefined) throw new Error(`stage input "${name}" was never produced`);
    Object.assign(pool, await runOrt(stage.model, pool));
  }
  return pool;
}

/** The model with extra graph outputs (rank-unknown float), to read intermediate tensors. */
export function withOutputs(model: ModelProto, names: string[]): ModelProto {
  const copy = create(ModelProtoSchema, { ...model, graph: { ...model.graph!, output: [...model.graph!.output, ...names.map((n) => floatInfo(n))] } });
  return copy;
}

/** Types of every node output, read from an ORT run: batch dim → 'N'. Stands in for shape inference. */
export async function shapesFromOrt(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<Map<string, TensorShape>> {
  const outputs = new Set(model.graph!.output.map((o) => o.name));
  const names = model.graph!.node.flatMap((n) => n.output).filter((o) => o !== '' && !outputs.has(o));
  const result = await runOrt(withOutputs(model, names), feeds);
  return new Map(Object.entries(result).map(([name, t]) => [name, { dataType: DataType.FLOAT, dims: t.dims.map((d, i) => (i === 0 ? 'N' : d)) }]));
}

/** Largest |a − b| / max(1, |b|) over two float tensors of the same shape. */
export function maxRelDiff(a: ort.Tensor, b: ort.Tensor): number {
  if (a.dims.join() !== b.dims.join()) throw new Error(`shapes differ: [${a.dims}] vs [${b.dims}]`);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  return worst;
}

export function loadFixture(name: string): Uint8Array {
  return readFileSync(new URL(name, FIXTURES));
}
