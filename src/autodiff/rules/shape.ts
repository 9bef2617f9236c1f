/** Gradient rules of ops that only reinterpret the shape: Flatten, Reshape. */
import type { GradientRule } from '../rule.ts';

/** The gradient takes back the input's shape, read at run time so a symbolic batch works. */
const reshapeBack: GradientRule = {
  backward(ctx) {
    const { emit, node } = ctx;
    if (!ctx.wants(0)) return [undefined];
    return [emit.op('Reshape', [ctx.dy(0)!, emit.op('Shape', [node.input[0]!])], [], 'reshape_back')];
  },
};

export const shapeRules: Record<string, GradientRule> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
};
