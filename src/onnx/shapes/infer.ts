/**
 * Shape inference over a model's main graph. Rules run in topological order on the inputs'
 * shapes and on the values of small constant tensors (so PyTorch's Shape→Gather→Concat→Reshape
 * chains resolve with the batch symbol intact). Declared shapes (graph inputs, outputs,
 * value_info) fill whatever a rule leaves unknown. Nothing here throws over one bad node: it
 * becomes an unknown entry and a warning.
 */
import { ExitwiseError, isExitwiseError } from '../../errors.ts';
import { describeNode, indexGraph } from '../graph-index.ts';
import type { ModelProto } from '../proto/onnx_pb.ts';
import { RuleContext, type TensorFacts, UnknownInputError } from './context.ts';
import { formatShape, normalizeDim, UNKNOWN_DIM } from './dims.ts';
import { shapeRuleFor } from './registry.ts';
import { tensorFacts } from './rules/constants.ts';
import type { InferShapesOptions, ShapeInference, TensorShape } from './types.ts';
import { shapeFromValueInfo } from './value-info.ts';

/** Shape inference plus the node outputs that stayed unknown (what the runtime fallback asks ORT for). */
export interface StaticInference extends ShapeInference {
  unknownOutputs: string[];
}

/**
 * Infers shapes with the rules alone (no ONNX Runtime), synchronously.
 * @param known shapes already established elsewhere (e.g. measured by the runtime); they rank
 *   with declared value_info.
 */
export function inferShapesStatic(model: ModelProto, options: InferShapesOptions = {}, known?: ReadonlyMap<string, TensorShape>): StaticInference {
  const graph = model.graph;
  if (graph === undefined) throw new ExitwiseError('EXW_MODEL_INVALID', 'the model has no graph');
  const index = indexGraph(graph);
  const warnings: string[] = [];
  const declared = new Map<string, TensorShape>();
  for (const info of [...graph.valueInfo, ...graph.output, ...graph.input]) {
    const shape = shapeFromValueInfo(info);
    if (shape !== undefined) declared.set(info.name, shape);
  }
  for (const [name, shape] of known ?? []) declared.set(name, shape);
  const facts = new Map<string, TensorFacts>();
  for (const [name, tensor] of index.initializers) {
    try {
      facts.set(name, tensorFacts(tensor));
    } catch {
      // Unloaded external data: the dims are still known.
      facts.set(name, { dataType: tensor.dataType, dims: tensor.dims.map(Number) });
    }
  }
  for (const name of index.inputs) {
    const override = options.inputShapes?.[name];
    const shape = declared.get(name);
    if (override !== undefined) facts.set(name, { dataType: shape?.dataType ?? 0, dims: override.map(normalizeDim) });
    else if (shape !== undefined) facts.set(name, shape);
    else {
      facts.set(name, { dataType: 0, dims: 'unknown' });
      warnings.push(`graph input "${name}" declares no tensor shape; pass it in inputShapes`);
    }
  }
  const unknownOutputs: string[] = [];
  for (const i of index.order) {
    const node = graph.node[i]!;
    const outputs = node.output;
    let inferred: TensorFacts[] = [];
    const rule = shapeRuleFor(node);
    if (rule === undefined) {
      warnings.push(`${describeNode(node, i)}: no shape rule for this op`);
    } else {
      try {
        inferred = rule(new RuleContext(node, (name) => facts.get(name)));
      } catch (e) {
        if (!(e instanceof UnknownInputError)) {
          warnings.push(isExitwiseError(e) ? `${describeNode(node, i)}: ${e.message.replace(/^[^:]*: /, '')}` : `${describeNode(node, i)}: shape rule failed: ${String(e)}`);
        }
      }
    }
    outputs.forEach((name, k) => {
      if (name === '') return;
      const merged = mergeDeclared(name, inferred[k], declared.get(name), warnings);
      facts.set(name, merged);
      if (merged.dims === 'unknown') unknownOutputs.push(name);
    });
  }
  const shapes = new Map<string, TensorShape>();
  for (const [name, f] of facts) shapes.set(name, { dataType: f.dataType, dims: f.dims });
  return { shapes, warnings, unknownOutputs };
}

/** Inferred facts, with '?' dims and unknown shapes filled from a declaration. */
function mergeDeclared(name: string, inferred: TensorFacts | undefined, declared: TensorShape | undefined, warnings: string[]): TensorFacts {
  if (inferred === undefined || inferred.dims === 'unknown') return declared ?? { dataType: inferred?.dataType ?? 0, dims: 'unknown' };
  if (declared === undefined || declared.dims === 'unknown') return inferred;
  if (declared.dims.length !== inferred.dims.length) {
    warnings.push(`"${name}": inferred ${formatShape(inferred.dims)} disagrees in rank with the declared ${formatShape(declared.dims)}; keeping the inferred shape`);
    return inferred;
  }
  const dims = inferred.dims.map((d, k) => (d === UNKNOWN_DIM ? declared.dims[k]! : d));
  return { ...inferred, dataType: inferred.dataType || declared.dataType, dims };
}
