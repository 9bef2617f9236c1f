/**
 * Gradient rules of ReduceSum and ReduceMean: the output gradient broadcast back over the
 * reduced axes (divided by the number of reduced elements for the mean), scaled while still small.
 */
import { intAttr, readInt, readInts } from '../attributes.ts';
import { DataType } from '../../onnx/tensor-data.ts';
import type { BackwardContext, GradientRule } from '../rule.ts';

/** The reduced axes (normalized), or undefined when the node reduces nothing (noop_with_empty_axes). */
function reducedAxes(ctx: BackwardContext, rank: number): number[] | undefined {
  const { node } = ctx;
  const axesInput = node.input[1] ?? '';
  const axes = readInts(node, 'axes') ?? (axesInput === '' ? [] : ctx.constant(axesInput));
  if (axes === undefined) ctx.fail('gradients need constant axes (an initializer or Constant)');
  if (axes.length === 0) return readInt(node, 'noop_with_empty_axes', 0) === 1 ? undefined : [...Array(rank).keys()];
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
}

/** The element count of `name` as a float32 scalar. */
function sizeOf(ctx: BackwardContext, name: string): string {
  return ctx.emit.op('Cast', [ctx.emit.op('Size', [name])], [intAttr('to', DataType.FLOAT)]);
}

function reduceRule(mean: boolean): GradientRule {
  return {
    backward(ctx) {
      const { emit, node } = ctx;
      const x = node.input[0]!;
      const xDims = ctx.dims(x);
      const axes = reducedAxes(ctx, xDims.length);
      let g = ctx.dy(0)!;
      if (axes === undefined) return [g];
      if (readInt(node, 'keepdims', 1) === 0) g = emit.op('Unsqueeze', [g, emit.int64s(axes)]);
      if (mean) {
        const reduced = axes.map((a) => xDims[a]);
        const count = reduced.every((d) => typeof d === 'number')
          ? emit.scalar(1 / (reduced as number[]).reduce((p, d) => p * d, 1))
          : emit.op('Div', [sizeOf(ctx, node.output[0]!), sizeOf(ctx, x)]);
        g = emit.op('Mul', [g, count]);
      }
      return [emit.op('Expand', [g, emit.op('Shape', [x])], [], 'reduce_back')];
    },
  };
}

export const reduceRules: Record<string, GradientRule> = { ReduceSum: reduceRule(false), ReduceMean: reduceRule(true) };
