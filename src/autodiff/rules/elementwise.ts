/**
 * Gradient rules of elementwise ops: Add, Sub, Mul, Div with numpy broadcasting (gradients are
 * summed back to each operand's shape), Relu and Identity.
 */
import { reduceToShape } from '../broadcast.ts';
import type { BackwardContext, GradientRule } from '../rule.ts';

/** Reduces an output-shaped gradient to operand i's shape. */
function toOperand(ctx: BackwardContext, i: number, grad: string): string {
  const operand = ctx.node.input[i]!;
  return reduceToShape(ctx.emit, grad, ctx.dims(ctx.node.output[0]!), ctx.dims(operand), operand);
}

/** A binary op: `local(ctx, i, dy)` is the output-shaped gradient for operand i. */
function binary(local: (ctx: BackwardContext, i: number, dy: string) => string): GradientRule {
  return {
    backward(ctx) {
      const dy = ctx.dy(0)!;
      return [0, 1].map((i) => (ctx.wants(i) ? toOperand(ctx, i, local(ctx, i, dy)) : undefined));
    },
  };
}

const [a, b] = [0, 1];

export const elementwiseRules: Record<string, GradientRule> = {
  Add: binary((_ctx, _i, dy) => dy),
  Sub: binary((ctx, i, dy) => (i === a ? dy : ctx.emit.op('Neg', [dy]))),
  Mul: binary((ctx, i, dy) => ctx.emit.op('Mul', [dy, ctx.node.input[1 - i]!])),
  // d(a/b)/da = 1/b;  d(a/b)/db = -(a/b)/b, reusing the forward output.
  Div: binary((ctx, i, dy) => {
    const { emit, node } = ctx;
    if (i === a) return emit.op('Div', [dy, node.input[b]!]);
    return emit.op('Neg', [emit.op('Div', [emit.op('Mul', [dy, node.output[0]!]), node.input[b]!])]);
  }),
  // The mask is read from the output: y > 0 exactly where x > 0 (PyTorch also gives 0 at x = 0).
  Relu: {
    backward(ctx) {
      const { emit, node } = ctx;
      const zero = emit.scalar(0);
      const mask = emit.op('Greater', [node.output[0]!, zero], [], 'relu_mask');
      return [emit.op('Where', [mask, ctx.dy(0)!, zero], [], 'relu_grad')];
    },
  },
  Identity: { backward: (ctx) => [ctx.dy(0)] },
};
