/**
 * Gradient rules of ops that move data without arithmetic: Flatten, Reshape, Squeeze, Unsqueeze
 * (the gradient takes back the input's shape), Transpose (the inverse permutation) and Expand
 * (summed over the broadcast axes).
 */
import { intsAttr, readInts } from '../attributes.ts';
import { reduceToShape } from '../broadcast.ts';
import type { GradientRule } from '../rule.ts';

/** The gradient takes back the input's shape, read at run time so a symbolic batch works. */
const reshapeBack: GradientRule = {
  backward(ctx) {
    const { emit, node } = ctx;
    return [emit.op('Reshape', [ctx.dy(0)!, emit.op('Shape', [node.input[0]!])], [], 'reshape_back')];
  },
};

const transpose: GradientRule = {
  backward(ctx) {
    const { emit, node } = ctx;
    const rank = ctx.dims(node.input[0]!).length;
    const perm = readInts(node, 'perm') ?? [...Array(rank).keys()].reverse();
    const inverse = Array<number>(rank);
    perm.forEach((p, i) => { inverse[p] = i; });
    return [emit.op('Transpose', [ctx.dy(0)!], [intsAttr('perm', inverse)], 'transpose_back')];
  },
};

const expand: GradientRule = {
  backward(ctx) {
    const { node } = ctx;
    const x = node.input[0]!;
    return [reduceToShape(ctx.emit, ctx.dy(0)!, ctx.dims(node.output[0]!), ctx.dims(x), x)];
  },
};

export const shapeRules: Record<string, GradientRule> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Expand: expand,
};
