/**
 * Elementwise ops: unary ops and activations keep their input's shape; binary and variadic ops
 * broadcast numpy-style. Integer arithmetic on small constant tensors is folded so that shape
 * subgraphs (`Shape → Gather → Mul → Concat → Reshape`) keep their values.
 */
import { DataType } from '../../tensor-data.ts';
import { addDims, broadcastShapes, divDims, formatShape, mulDims, UNKNOWN_DIM } from '../dims.ts';
import type { OutputFacts, RuleContext, ShapeRule } from '../context.ts';
import type { Dim } from '../types.ts';

/** Same type and shape as input 0 (values dropped: the op changes them). */
const sameAsInput: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  return [{ dataType: x.dataType, dims: x.dims }];
};

/** Same shape as input 0, boolean. */
const boolOfInput: ShapeRule = (ctx) => [{ dataType: DataType.BOOL, dims: ctx.dims(0) }];

const identity: ShapeRule = (ctx) => [ctx.input(0)];

/** Inference-time Dropout: the data, plus an optional boolean mask of the same shape. */
const dropout: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  return [{ dataType: x.dataType, dims: x.dims }, { dataType: DataType.BOOL, dims: x.dims }];
};

/** The broadcast shape of inputs `from..` (all of them by default). */
export function broadcastInputs(ctx: RuleContext, indices: number[]): Dim[] {
  let dims: Dim[] = [];
  for (const i of indices) {
    const next = broadcastShapes(dims, ctx.dims(i));
    if (next === undefined) {
      const shapes = indices.map((j) => formatShape(ctx.dims(j))).join(' and ');
      ctx.fail(`inputs ${shapes} do not broadcast`);
    }
    dims = next;
  }
  return dims;
}

type Fold = (a: Dim, b: Dim) => Dim;

/** Folds a binary op over small constant values (equal lengths, or one scalar). */
function foldValues(ctx: RuleContext, fold: Fold | undefined): Dim[] | undefined {
  const a = ctx.value(0);
  const b = ctx.value(1);
  if (fold === undefined || a === undefined || b === undefined) return undefined;
  const n = Math.max(a.length, b.length);
  if ((a.length !== n && a.length !== 1) || (b.length !== n && b.length !== 1)) return undefined;
  return Array.from({ length: n }, (_, i) => fold(a[a.length === 1 ? 0 : i]!, b[b.length === 1 ? 0 : i]!));
}

const numeric = (f: (a: number, b: number) => number): Fold => (a, b) =>
  typeof a === 'number' && typeof b === 'number' ? f(a, b) : UNKNOWN_DIM;

function isInteger(dataType: number): boolean {
  return dataType === DataType.INT64 || dataType === DataType.INT32;
}

const FOLDS: Record<string, Fold> = {
  Add: addDims,
  Sub: (a, b) => (b === 0 ? a : numeric((x, y) => x - y)(a, b)),
  Mul: mulDims,
  Div: (a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.trunc(a / b) : divDims(a, b)),
};

function binary(resultType: 'same' | 'bool'): ShapeRule {
  return (ctx) => {
    const dims = broadcastInputs(ctx, [0, 1]);
    const dataType = resultType === 'bool' ? DataType.BOOL : ctx.input(0).dataType;
    const out: OutputFacts = { dataType, dims };
    // Only integer arithmetic is folded: shape subgraphs are int64, and float folding would round.
    const value = isInteger(dataType) ? foldValues(ctx, FOLDS[ctx.node.opType]) : undefined;
    if (value !== undefined) out.value = value;
    return [out];
  };
}

const variadic: ShapeRule = (ctx) => {
  const indices = ctx.node.input.map((_, i) => i).filter((i) => ctx.has(i));
  return [{ dataType: ctx.input(indices[0]!).dataType, dims: broadcastInputs(ctx, indices) }];
};

const where: ShapeRule = (ctx) => [{ dataType: ctx.input(1).dataType, dims: broadcastInputs(ctx, [0, 1, 2]) }];

/** PRelu broadcasts the slope to X (unidirectionally): the output has X's shape. */
const prelu: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const dims = broadcastInputs(ctx, [0, 1]);
  if (dims.length !== x.dims.length) ctx.fail(`slope ${formatShape(ctx.dims(1))} has a higher rank than X ${formatShape(x.dims)}`);
  return [{ dataType: x.dataType, dims: x.dims }];
};

const cast: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const to = ctx.int('to', 0);
  const out: OutputFacts = { dataType: to, dims: x.dims };
  if (x.value !== undefined && isInteger(x.dataType) && isInteger(to)) out.value = x.value;
  return [out];
};

const castLike: ShapeRule = (ctx) => [{ dataType: ctx.input(1).dataType, dims: ctx.dims(0) }];

const UNARY = [
  'Relu', 'Sigmoid', 'Tanh', 'Gelu', 'Erf', 'Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Reciprocal',
  'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh',
  'Softplus', 'Softsign', 'Mish', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Selu', 'Celu',
  'ThresholdedRelu', 'Clip', 'Softmax', 'LogSoftmax', 'Hardmax', 'BitwiseNot', 'LRN',
  'MeanVarianceNormalization', 'Shrink', 'Trilu',
];

export const elementwiseRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, sameAsInput])),
  Identity: identity,
  Dropout: dropout,
  Not: boolOfInput,
  IsNaN: boolOfInput,
  IsInf: boolOfInput,
  ...Object.fromEntries(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor'].map((op) => [op, binary('same')])),
  ...Object.fromEntries(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'].map((op) => [op, binary('bool')])),
  ...Object.fromEntries(['Sum', 'Mean', 'Max', 'Min'].map((op) => [op, variadic])),
  Where: where,
  PRelu: prelu,
  Cast: cast,
  CastLike: castLike,
};
