/**
 * Which nodes a training graph differentiates: those on a path from a trainable parameter to
 * the loss. Frozen parameters, and everything that only they feed, generate no backward work;
 * integer tensors (indices, shapes) carry no gradient.
 */
import type { GraphIndex } from '../onnx/graph-index.ts';
import type { TensorShape } from '../onnx/shapes/types.ts';
import { DataType } from '../onnx/tensor-data.ts';

const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

export interface Reachability {
  /** Tensors that depend on a trainable parameter through differentiable values. */
  requiresGrad: ReadonlySet<string>;
  /** Node indices to differentiate, in topological order. */
  active: readonly number[];
}

/**
 * `stopGradient` tensors are treated as constants: nothing flows back through them (a
 * distillation teacher that must not learn from its students).
 */
export function reachability(
  index: GraphIndex, trainable: readonly string[], loss: string, shapes: ReadonlyMap<string, TensorShape>, stopGradient: ReadonlySet<string> = new Set(),
): Reachability {
  const { graph, order } = index;
  // Unknown types (0) are taken to be differentiable: a wrong guess costs a rule lookup, not a wrong gradient.
  const differentiable = (name: string) => {
    const type = shapes.get(name)?.dataType ?? 0;
    return type === 0 || FLOAT_TYPES.has(type);
  };
  const requiresGrad = new Set(trainable);
  for (const i of order) {
    const node = graph.node[i]!;
    if (!node.input.some((n) => requiresGrad.has(n))) continue;
    for (const out of node.output) if (out !== '' && differentiable(out) && !stopGradient.has(out)) requiresGrad.add(out);
  }
  const reachesLoss = new Set([loss]);
  for (const i of [...order].reverse()) {
    const node = graph.node[i]!;
    if (node.output.some((n) => reachesLoss.has(n))) for (const n of node.input) if (n !== '') reachesLoss.add(n);
  }
  const active = order.filter((i) => graph.node[i]!.output.some((n) => requiresGrad.has(n) && reachesLoss.has(n)));
  return { requiresGrad, active };
}
