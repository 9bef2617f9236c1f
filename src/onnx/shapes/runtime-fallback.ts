/**
 * Shapes measured by ONNX Runtime, for tensors no rule could infer (custom-domain ops, control
 * flow, ops exitwise has no rule for). The unknown tensors become extra graph outputs and the
 * model runs on zero inputs: once with every input symbol at its base value, then once per
 * symbol with that symbol doubled. A dim that doubles with symbol `s` and ignores the others is
 * `c*s`; one that changes in some other way is `'?'`.
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../../errors.ts';
import { createSession, type Session } from '../../runtime/session.ts';
import type { TensorLike } from '../../runtime/tensor.ts';
import { ModelProtoSchema, type ModelProto, ValueInfoProtoSchema } from '../proto/onnx_pb.ts';
import { DataType, dataTypeFromName, dataTypeName } from '../tensor-data.ts';
import { dimSymbols, evaluateDim, mulDims, UNKNOWN_DIM } from './dims.ts';
import type { Dim, TensorShape } from './types.ts';

export interface RuntimeShapes {
  shapes: Map<string, TensorShape>;
  warnings: string[];
}

/** Measures the shapes of `names` by running the model. Failures become warnings, never throws. */
export async function runtimeShapes(
  model: ModelProto,
  names: readonly string[],
  inputs: ReadonlyMap<string, TensorShape>,
  symbolValues: Readonly<Record<string, number>> = {},
): Promise<RuntimeShapes> {
  const warnings: string[] = [];
  const shapes = new Map<string, TensorShape>();
  const symbols = [...new Set([...inputs.values()].flatMap((s) => (s.dims === 'unknown' ? [] : s.dims.flatMap(dimSymbols))))];
  const base = (s: string): number => symbolValues[s] ?? 1;
  let session: Session;
  try {
    const probe = clone(ModelProtoSchema, model);
    const graph = probe.graph!;
    const outputs = new Set(graph.output.map((o) => o.name));
    for (const name of names) if (!outputs.has(name)) graph.output.push(create(ValueInfoProtoSchema, { name }));
    session = await createSession(probe, { optimizationLevel: 'disabled', threads: 1 });
  } catch (cause) {
    warnings.push(`ONNX Runtime could not load the model to measure ${names.length} unknown shape(s): ${(cause as Error).message}`);
    return { shapes, warnings };
  }
  try {
    const run = async (value: (s: string) => number): Promise<Record<string, TensorLike>> => {
      const feeds: Record<string, TensorLike> = {};
      for (const [name, shape] of inputs) feeds[name] = zeroTensor(name, shape, value);
      return session.run(feeds, { outputs: [...names] });
    };
    const baseRun = await run(base);
    const symbolRuns: Record<string, TensorLike>[] = [];
    for (const s of symbols) symbolRuns.push(await run((t) => (t === s ? 2 * base(t) : base(t))));
    for (const name of names) {
      const t = baseRun[name]!;
      const dims = t.dims.map((d, k) => mapDim(d, symbols.map((s, j) => [s, base(s), symbolRuns[j]![name]!.dims[k]!] as const)));
      shapes.set(name, { dataType: dataTypeFromName(t.type), dims });
    }
  } catch (cause) {
    warnings.push(`ONNX Runtime could not run the model on zero inputs to measure ${names.length} unknown shape(s): ${(cause as Error).message}`);
  } finally {
    await session.release();
  }
  return { shapes, warnings };
}

/** A measured dim as a size, a multiple of one symbol, or `'?'`. */
function mapDim(d: number, runs: readonly (readonly [symbol: string, base: number, doubled: number])[]): Dim {
  const moved = runs.filter(([, , doubled]) => doubled !== d);
  if (moved.length === 0) return d;
  if (moved.length > 1) return UNKNOWN_DIM;
  const [symbol, base, doubled] = moved[0]!;
  return doubled === 2 * d && d % base === 0 ? mulDims(symbol, d / base) : UNKNOWN_DIM;
}

function zeroTensor(name: string, shape: TensorShape, value: (s: string) => number): TensorLike {
  if (shape.dims === 'unknown') throw new ExitwiseError('EXW_SHAPE', `input "${name}" has an unknown shape`);
  const dims = shape.dims.map((d) => evaluateDim(d, value) ?? 1);
  const count = dims.reduce((n, d) => n * d, 1);
  const type = dataTypeName(shape.dataType);
  switch (shape.dataType) {
    case DataType.FLOAT: return { type: 'float32', data: new Float32Array(count), dims };
    case DataType.DOUBLE: return { type: 'float64', data: new Float64Array(count), dims };
    case DataType.INT64: return { type: 'int64', data: new BigInt64Array(count), dims };
    case DataType.INT32: return { type: 'int32', data: new Int32Array(count), dims };
    case DataType.BOOL: return { type: 'bool', data: new Uint8Array(count), dims };
    case DataType.UINT8: return { type: 'uint8', data: new Uint8Array(count), dims };
    case DataType.INT8: return { type: 'int8', data: new Int8Array(count), dims };
    case DataType.FLOAT16: return { type: 'float16', data: new Uint16Array(count), dims };
    default: throw new ExitwiseError('EXW_SHAPE', `input "${name}" has type ${type}, which the shape probe cannot fill`);
  }
}
