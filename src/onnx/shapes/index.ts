/**
 * Shape inference with a symbolic batch. `inferShapes` uses the rules, then asks ONNX Runtime
 * about what they could not infer; `inferShapesStatic` uses the rules alone, synchronously.
 *
 * @example
 * ```ts
 * const { shapes, warnings } = await inferShapes(loadModel('resnet.onnx'));
 * shapes.get('logits'); // { dataType: 1, dims: ['N', 1000] }
 * ```
 */
import type { ModelProto } from '../proto/onnx_pb.ts';
import { inferShapesStatic } from './infer.ts';
import { runtimeShapes } from './runtime-fallback.ts';
import type { InferShapesAsyncOptions, ShapeInference, TensorShape } from './types.ts';

export { inferShapesStatic } from './infer.ts';
export { opsWithShapeRules } from './registry.ts';
export { valueInfoFromShape, shapeFromValueInfo } from './value-info.ts';
export { evaluateDim, formatShape } from './dims.ts';
export type { Dim, InferShapesAsyncOptions, InferShapesOptions, KnownShape, ShapeInference, TensorShape } from './types.ts';
export { isKnown } from './types.ts';

/**
 * Infers the type and shape of every tensor of the model's main graph, keeping symbolic dims.
 * Tensors no rule covers are measured with ONNX Runtime (see `runtimeFallback`); a tensor found
 * neither way is `{ dims: 'unknown' }` with a line in `warnings`. Never throws over one node.
 */
export async function inferShapes(model: ModelProto, options: InferShapesAsyncOptions = {}): Promise<ShapeInference> {
  const first = inferShapesStatic(model, options);
  if (first.unknownOutputs.length === 0 || options.runtimeFallback === false) {
    return { shapes: first.shapes, warnings: first.warnings };
  }
  const graphInputs = new Set(model.graph!.input.map((i) => i.name));
  const initializers = new Set(model.graph!.initializer.map((t) => t.name));
  const inputs = new Map<string, TensorShape>();
  for (const [name, shape] of first.shapes) if (graphInputs.has(name) && !initializers.has(name)) inputs.set(name, shape);
  const measured = await runtimeShapes(model, first.unknownOutputs, inputs, options.symbolValues);
  const second = inferShapesStatic(model, options, measured.shapes);
  // Warnings of the first pass that the runtime resolved are dropped; what remains is unresolved.
  const unresolved = new Set(second.unknownOutputs);
  const warnings = unresolved.size === 0 ? [] : second.warnings;
  return { shapes: second.shapes, warnings: [...warnings, ...measured.warnings] };
}
