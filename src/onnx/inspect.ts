/**
 * One look at a model: what it takes and gives, what it is made of, what it costs, and where it
 * can be cut for exits. The `inspect` command prints this; later tools (exit placement) use it.
 */
import { basename } from 'node:path';
import type { InspectReport } from '../schemas/inspect.ts';
import { analyzeCost } from './cost/index.ts';
import { loadModel } from './model-io.ts';
import type { ModelProto } from './proto/onnx_pb.ts';
import { inferShapes } from './shapes/index.ts';
import type { TensorShape } from './shapes/types.ts';
import { findCutPoints } from './surgery/cut-points.ts';
import { dataTypeName } from './tensor-data.ts';
import { validateModel } from './validate.ts';

export interface InspectOptions {
  /** Ask ONNX Runtime for shapes no static rule can give (default true). */
  ortShapes?: boolean;
  /** The name shown for the model (default: 'model'). */
  label?: string;
}

/** Inspects a model held in memory. Throws typed errors for invalid models; never for one odd op. */
export async function inspectModel(model: ModelProto, options: InspectOptions = {}): Promise<InspectReport> {
  validateModel(model);
  const graph = model.graph!;
  const { shapes, warnings } = await inferShapes(model, { runtimeFallback: options.ortShapes ?? true });
  const cost = analyzeCost(model, { shapes });
  const describe = (name: string) => {
    const shape = shapes.get(name);
    return {
      name,
      dataType: shape === undefined ? 'unknown' : dataTypeName(shape.dataType),
      shape: shapeDims(shape),
    };
  };
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const opHistogram: Record<string, number> = {};
  for (const node of graph.node) {
    const key = node.domain === '' || node.domain === 'ai.onnx' ? node.opType : `${node.domain}::${node.opType}`;
    opHistogram[key] = (opHistogram[key] ?? 0) + 1;
  }
  const total = cost.totalFlops;
  return {
    model: options.label ?? 'model',
    producer: [model.producerName, model.producerVersion].filter((s) => s !== '').join(' '),
    irVersion: Number(model.irVersion),
    opsets: Object.fromEntries(model.opsetImport.map((o) => [o.domain, Number(o.version)])),
    inputs: graph.input.filter((v) => !initializers.has(v.name)).map((v) => describe(v.name)),
    outputs: graph.output.map((v) => describe(v.name)),
    nodes: graph.node.length,
    opHistogram,
    params: cost.totalParams,
    flops: total,
    flopsByOp: cost.flopsByOpType,
    cutPoints: findCutPoints(model).map((tensor) => ({
      tensor,
      // Clamp: rounding can put a fraction a hair above 1 on a tensor computed by the last op.
      flopsFraction: total > 0 ? Math.min(1, cost.cumulativeFlops(tensor) / total) : 0,
      shape: shapeDims(shapes.get(tensor)),
    })),
    warnings: [...warnings, ...cost.warnings],
  };
}

/** Loads (external data resolved inside the model folder) and inspects a model file. */
export async function inspectModelFile(path: string, options: InspectOptions = {}): Promise<InspectReport> {
  return inspectModel(loadModel(path), { label: basename(path), ...options });
}

function shapeDims(shape: TensorShape | undefined): (number | string)[] | null {
  return shape === undefined || shape.dims === 'unknown' ? null : shape.dims;
}
