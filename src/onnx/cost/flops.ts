/**
 * FLOPs of one node, per sample. The conventions, fixed here once:
 *
 * - **Conv, ConvTranspose, Gemm, MatMul: 2 × multiply-accumulates.** Conv MACs = output elements
 *   × (C_in / group) × kernel elements (so grouped and depthwise convs cost 1/group); ConvTranspose
 *   MACs = input elements × (C_out / group) × kernel elements; Gemm = M·N·K; MatMul = output
 *   elements × K (batched). Bias additions (Conv's B, Gemm's C) are not counted: they are below
 *   1/K of the product, and fvcore and most papers leave them out.
 * - **Elementwise, activation, normalization, pooling, reduction, softmax: one FLOP per output
 *   element** (a pooling window or a reduction counts once per output, not per element read).
 * - **Pure data movement: zero** (Reshape, Transpose, Shape, Gather, Slice, Concat, Cast,
 *   Identity, Dropout at inference…).
 * - Per sample: symbolic dims (the batch) count as 1 unless `symbols` gives them a value.
 *
 * An op with none of these rules is counted one per output element, with a warning.
 */
import type { NodeProto } from '../proto/onnx_pb.ts';
import { evaluateDim } from '../shapes/dims.ts';
import type { TensorShape } from '../shapes/types.ts';

/** Ops that only move, select or relabel data: zero FLOPs. */
export const DATA_MOVEMENT_OPS: ReadonlySet<string> = new Set([
  'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Expand', 'Tile', 'Concat', 'Split',
  'Slice', 'Gather', 'GatherElements', 'GatherND', 'Shape', 'Size', 'Constant', 'ConstantOfShape',
  'Identity', 'Cast', 'CastLike', 'Dropout', 'Pad', 'Range', 'NonZero', 'DepthToSpace',
  'SpaceToDepth', 'ScatterElements', 'ScatterND', 'OneHot', 'EyeLike',
]);

/** Ops counted one FLOP per output element. */
export const PER_OUTPUT_ELEMENT_OPS: ReadonlySet<string> = new Set([
  'Relu', 'Sigmoid', 'Tanh', 'Gelu', 'Erf', 'Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Reciprocal',
  'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Softplus', 'Softsign', 'Mish', 'HardSigmoid',
  'HardSwish', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'PRelu', 'ThresholdedRelu', 'Clip', 'Not',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Equal', 'Less', 'Greater', 'LessOrEqual',
  'GreaterOrEqual', 'And', 'Or', 'Xor', 'Where', 'Sum', 'Mean', 'Max', 'Min',
  'BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization', 'LRN',
  'MeanVarianceNormalization', 'Softmax', 'LogSoftmax', 'Hardmax',
  'MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool',
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin', 'TopK', 'Resize', 'Upsample',
]);

/** Shapes of a node's tensors, evaluated per sample; undefined when a dim cannot be evaluated. */
export type NumericShape = (name: string) => number[] | undefined;

/** Result of one node: FLOPs, or why they could not be counted. */
export type FlopsResult = { flops: number } | { unknown: string };

type FlopsRule = (node: NodeProto, shape: NumericShape) => FlopsResult;

const count = (dims: number[]): number => dims.reduce((n, d) => n * d, 1);

function attrInt(node: NodeProto, name: string): number {
  return Number(node.attribute.find((a) => a.name === name)?.i ?? 0n);
}

/** Runs `f` on the shapes of the named tensors, or reports which one is missing. */
function withShapes(shape: NumericShape, names: readonly string[], f: (...dims: number[][]) => number): FlopsResult {
  const dims = names.map(shape);
  const missing = dims.findIndex((d) => d === undefined);
  if (missing >= 0) return { unknown: `the shape of "${names[missing]}" is not known per sample` };
  return { flops: f(...(dims as number[][])) };
}

const RULES: Record<string, FlopsRule> = {
  Conv: (n, s) => withShapes(s, [n.output[0]!, n.input[1]!], (y, w) => 2 * count(y) * count(w.slice(1))),
  ConvTranspose: (n, s) => withShapes(s, [n.input[0]!, n.input[1]!], (x, w) => 2 * count(x) * count(w.slice(1))),
  Gemm: (n, s) => withShapes(s, [n.output[0]!, n.input[0]!], (y, a) => 2 * count(y) * (attrInt(n, 'transA') === 1 ? a[0]! : a[1]!)),
  MatMul: (n, s) => withShapes(s, [n.output[0]!, n.input[0]!], (y, a) => 2 * count(y) * a[a.length - 1]!),
};

/** FLOPs of one node per the conventions above; `warning` set when the op had no rule of its own. */
export function nodeFlops(node: NodeProto, shape: NumericShape): FlopsResult & { warning?: string } {
  const rule = RULES[node.opType];
  if (rule !== undefined) return rule(node, shape);
  if (DATA_MOVEMENT_OPS.has(node.opType)) return { flops: 0 };
  const result = withShapes(shape, [node.output[0]!], (y) => count(y));
  if (PER_OUTPUT_ELEMENT_OPS.has(node.opType) || 'unknown' in result) return result;
  return { ...result, warning: `no FLOP rule for ${node.opType}; counted one per output element` };
}

/** A NumericShape over inferred shapes, with symbols (the batch) at their per-sample values. */
export function numericShapes(shapes: ReadonlyMap<string, TensorShape>, symbols: Readonly<Record<string, number>>): NumericShape {
  return (name) => {
    const s = shapes.get(name);
    if (s === undefined || s.dims === 'unknown') return undefined;
    const dims = s.dims.map((d) => evaluateDim(d, (sym) => symbols[sym] ?? 1));
    return dims.every((d) => d !== undefined) ? (dims as number[]) : undefined;
  };
}
