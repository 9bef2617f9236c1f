/**
 * The cost model: parameters and FLOPs per node, totals, a per-op-type histogram, and the
 * cumulative FLOPs needed to compute any tensor (what an exit placed there costs to reach).
 * FLOP conventions are documented in flops.ts.
 *
 * Params: elements of the initializers a node reads, except those that are not learned weights:
 * integer/bool/string initializers (shapes, axes, indices), rank-0 scalars (formula constants),
 * and BatchNormalization's running mean and variance (buffers, as PyTorch counts them). Totals
 * count each initializer once however many nodes read it.
 *
 * @example
 * ```ts
 * const cost = analyzeCost(loadModel('tiny-cnn.onnx'));
 * cost.totalFlops;                     // per sample
 * cost.cumulativeFlops('/pool/MaxPool_output_0'); // FLOPs to reach an exit placed there
 * ```
 */
import { ExitwiseError } from '../../errors.ts';
import { describeNode, indexGraph } from '../graph-index.ts';
import type { ModelProto, TensorProto } from '../proto/onnx_pb.ts';
import { inferShapesStatic } from '../shapes/infer.ts';
import type { Dim, TensorShape } from '../shapes/types.ts';
import { DataType, elementCount } from '../tensor-data.ts';
import { nodeFlops, numericShapes } from './flops.ts';

export { DATA_MOVEMENT_OPS, PER_OUTPUT_ELEMENT_OPS, nodeFlops } from './flops.ts';

export interface CostOptions {
  /** Shapes from `inferShapes` (e.g. with the runtime fallback); default: `inferShapesStatic`. */
  shapes?: ReadonlyMap<string, TensorShape>;
  /** Overrides of graph input shapes, used when `shapes` is not given. */
  inputShapes?: Record<string, Dim[]>;
  /** Values of symbolic dims (default 1 each: per-sample cost with a symbolic batch). */
  symbols?: Record<string, number>;
}

export interface NodeCost {
  /** Index of the node in `graph.node`. */
  index: number;
  name: string;
  opType: string;
  /** Per-sample FLOPs (0 when unknown; see `warnings`). */
  flops: number;
  /** Elements of the parameter initializers this node reads. */
  params: number;
  /** Names of those initializers. */
  paramNames: string[];
}

export interface CostReport {
  /** One entry per node, in `graph.node` order. */
  nodes: NodeCost[];
  /** Parameter elements, each initializer counted once. */
  totalParams: number;
  totalFlops: number;
  /** Op type → total FLOPs of its nodes. */
  flopsByOpType: Record<string, number>;
  warnings: string[];
  /** FLOPs of every node needed to compute `tensor` (its ancestors). `EXW_SURGERY` for an unknown name. */
  cumulativeFlops(tensor: string): number;
  /** Indices of the nodes needed to compute `tensor`. */
  ancestorNodes(tensor: string): Set<number>;
}

/** Integer types hold shapes, axes and indices, not weights. */
const NON_PARAM_TYPES: ReadonlySet<number> = new Set([DataType.INT64, DataType.INT32, DataType.BOOL, DataType.STRING]);

function isParameter(t: TensorProto): boolean {
  return !NON_PARAM_TYPES.has(t.dataType) && t.dims.length > 0;
}

/** Params and per-sample FLOPs of every node of the main graph. */
export function analyzeCost(model: ModelProto, options: CostOptions = {}): CostReport {
  const graph = model.graph ?? (() => { throw new ExitwiseError('EXW_MODEL_INVALID', 'the model has no graph'); })();
  const index = indexGraph(graph);
  const warnings: string[] = [];
  let shapes = options.shapes;
  if (shapes === undefined) {
    const inferred = inferShapesStatic(model, options.inputShapes === undefined ? {} : { inputShapes: options.inputShapes });
    shapes = inferred.shapes;
    warnings.push(...inferred.warnings);
  }
  const shapeOf = numericShapes(shapes, options.symbols ?? {});
  const counted = new Set<string>();
  let totalParams = 0;
  const nodes = graph.node.map((node, i): NodeCost => {
    const result = nodeFlops(node, shapeOf);
    if ('unknown' in result) warnings.push(`${describeNode(node, i)}: FLOPs not counted: ${result.unknown}`);
    else if (result.warning !== undefined) warnings.push(`${describeNode(node, i)}: ${result.warning}`);
    const paramNames = node.input.filter((name, k) => {
      const t = index.initializers.get(name);
      const runningStats = node.opType === 'BatchNormalization' && k >= 3;
      return t !== undefined && isParameter(t) && !runningStats;
    });
    const params = paramNames.reduce((n, name) => n + elementCount(index.initializers.get(name)!.dims), 0);
    for (const name of paramNames) {
      if (!counted.has(name)) totalParams += elementCount(index.initializers.get(name)!.dims);
      counted.add(name);
    }
    return { index: i, name: node.name, opType: node.opType, flops: 'flops' in result ? result.flops : 0, params, paramNames };
  });
  const flopsByOpType: Record<string, number> = {};
  for (const n of nodes) flopsByOpType[n.opType] = (flopsByOpType[n.opType] ?? 0) + n.flops;

  const ancestorNodes = (tensor: string): Set<number> => {
    const known = index.producer.has(tensor) || index.initializers.has(tensor) || index.inputs.includes(tensor);
    if (!known) throw new ExitwiseError('EXW_SURGERY', `tensor "${tensor}" is not in the graph`, { hint: 'Use a tensor name from the model (graph input, initializer or node output).' });
    const seen = new Set<number>();
    const stack = [tensor];
    while (stack.length > 0) {
      const p = index.producer.get(stack.pop()!);
      if (p === undefined || seen.has(p)) continue;
      seen.add(p);
      stack.push(...index.nodeInputs(p));
    }
    return seen;
  };
  return {
    nodes,
    totalParams,
    totalFlops: nodes.reduce((n, c) => n + c.flops, 0),
    flopsByOpType,
    warnings,
    ancestorNodes,
    cumulativeFlops: (tensor) => [...ancestorNodes(tensor)].reduce((n, i) => n + nodes[i]!.flops, 0),
  };
}

/**
 * Per-sample FLOPs of every node needed to compute `tensor`. For many tensors of one model, call
 * `analyzeCost` once and use its `cumulativeFlops`.
 */
export function cumulativeFlops(model: ModelProto, tensor: string, options: CostOptions = {}): number {
  return analyzeCost(model, options).cumulativeFlops(tensor);
}
