/** Reductions: Reduce* (axes as attribute or, from ReduceSum-13 / opset 18, as input), ArgMax/ArgMin, TopK. */
import { DataType } from '../../tensor-data.ts';
import { productOf, UNKNOWN_DIM } from '../dims.ts';
import type { OutputFacts, RuleContext, ShapeRule } from '../context.ts';
import type { Dim } from '../types.ts';

function reducedDims(ctx: RuleContext, dims: Dim[], axes: number[], keepDims: boolean): Dim[] {
  const set = new Set(axes.map((a) => ctx.axis(a, dims.length)));
  return keepDims ? dims.map((d, i) => (set.has(i) ? 1 : d)) : dims.filter((_, i) => !set.has(i));
}

const reduce: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const keepDims = ctx.int('keepdims', 1) === 1;
  let axes = ctx.ints('axes') ?? (ctx.has(1) ? ctx.numbers(1) : []);
  if (axes === undefined) {
    // Axes computed at run time: the rank is known only when dims are kept.
    return [{ dataType: x.dataType, dims: keepDims ? x.dims.map(() => UNKNOWN_DIM) : ctx.fail('axes are not constant and keepdims=0') }];
  }
  if (axes.length === 0) {
    if (ctx.int('noop_with_empty_axes', 0) === 1) return [{ dataType: x.dataType, dims: x.dims }];
    axes = x.dims.map((_, i) => i);
  }
  const out: OutputFacts = { dataType: x.dataType, dims: reducedDims(ctx, x.dims, axes, keepDims) };
  // ReduceProd over a shape vector: how some exports compute a flattened size.
  if (ctx.node.opType === 'ReduceProd' && x.dims.length === 1 && x.value !== undefined) out.value = [productOf(x.value)];
  return [out];
};

const argReduce: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const axis = ctx.int('axis', 0);
  return [{ dataType: DataType.INT64, dims: reducedDims(ctx, x.dims, [axis], ctx.int('keepdims', 1) === 1) }];
};

const topK: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const axis = ctx.axis(ctx.int('axis', -1), x.dims.length);
  const k: Dim = ctx.attr('k') !== undefined ? ctx.int('k', 0) : ctx.value(1)?.[0] ?? UNKNOWN_DIM;
  const dims = x.dims.map((d, i) => (i === axis ? k : d));
  return [{ dataType: x.dataType, dims }, { dataType: DataType.INT64, dims }];
};

const REDUCE = ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

export const reduceRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(REDUCE.map((op) => [op, reduce])),
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: topK,
};
