/**
 * Gradient rules of broadcasting elementwise ops: Add, Sub, Mul, Div, Pow, Where (gradients are
 * summed back to each operand's shape), and of Relu and Identity.
 */
import { DataType } from '../../onnx/tensor-data.ts';
import { intAttr } from '../attributes.ts';
import { reduceToShape } from '../broadcast.ts';
import type { BackwardContext, GradientRule } from '../rule.ts';

/** Reduces an output-shaped gradient to input i's shape. */
function toOperand(ctx: BackwardContext, i: number, grad: string): string {
  const operand = ctx.node.input[i]!;
  return reduceToShape(ctx.emit, grad, ctx.dims(ctx.node.output[0]!), ctx.dims(operand), operand);
}

/** An op whose inputs `operands` broadcast: `local(ctx, i, dy)` is the output-shaped gradient for input i. */
function broadcasting(operands: number[], local: (ctx: BackwardContext, i: number, dy: string) => string): GradientRule {
  return {
    backward(ctx) {
      const dy = ctx.dy(0)!;
      const grads: (string | undefined)[] = [];
      for (const i of operands) grads[i] = ctx.wants(i) ? toOperand(ctx, i, local(ctx, i, dy)) : undefined;
      return grads;
    },
  };
}

const [a, b] = [0, 1];

/** d(aᵇ)/da = b·aᵇ⁻¹ (a constant exponent folds: 2 gives 2a); d(aᵇ)/db = aᵇ·ln a, taken as 0 where a = 0 as in PyTorch. */
function powGrad(ctx: BackwardContext, i: number, dy: string): string {
  const { emit, node } = ctx;
  const [base, exponent] = [node.input[a]!, node.input[b]!];
  if (i === a) {
    const c = ctx.constant(exponent);
    if (c !== undefined && c.length === 1) {
      const slope = c[0] === 2 ? base : c[0] === 1 ? undefined : emit.op('Pow', [base, emit.scalar(c[0]! - 1)]);
      const scaled = emit.op('Mul', [dy, emit.scalar(c[0]!)]);
      return slope === undefined ? scaled : emit.op('Mul', [scaled, slope], [], 'pow_da');
    }
    const slope = emit.op('Mul', [exponent, emit.op('Pow', [base, emit.op('Sub', [exponent, emit.scalar(1)])])]);
    return emit.op('Mul', [dy, slope], [], 'pow_da');
  }
  const zero = emit.scalar(0);
  const logBase = emit.op('Where', [emit.op('Equal', [base, zero]), zero, emit.op('Log', [base])]);
  return emit.op('Mul', [dy, emit.op('Mul', [node.output[0]!, logBase])], [], 'pow_db');
}

export const elementwiseRules: Record<string, GradientRule> = {
  Add: broadcasting([a, b], (_ctx, _i, dy) => dy),
  Sub: broadcasting([a, b], (ctx, i, dy) => (i === a ? dy : ctx.emit.op('Neg', [dy]))),
  Mul: broadcasting([a, b], (ctx, i, dy) => ctx.emit.op('Mul', [dy, ctx.node.input[1 - i]!])),
  // d(a/b)/da = 1/b;  d(a/b)/db = -(a/b)/b, reusing the forward output.
  Div: broadcasting([a, b], (ctx, i, dy) => {
    const { emit, node } = ctx;
    if (i === a) return emit.op('Div', [dy, node.input[b]!]);
    return emit.op('Neg', [emit.op('Div', [emit.op('Mul', [dy, node.output[0]!]), node.input[b]!])]);
  }),
  Pow: broadcasting([a, b], powGrad),
  // Where(cond, x, y): the gradient goes to x where cond holds, to y elsewhere; cond has none.
  Where: broadcasting([1, 2], (ctx, i, dy) => {
    const { emit, node } = ctx;
    const zero = emit.scalar(0);
    return emit.op('Where', i === 1 ? [node.input[0]!, dy, zero] : [node.input[0]!, zero, dy], [], 'where_grad');
  }),
  // dy·(y > 0): the mask read from the output, y > 0 exactly where x > 0 (PyTorch also gives 0
  // at x = 0); multiplying by the mask cast to float measured faster on ORT than Where.
  Relu: {
    backward(ctx) {
      const { emit, node } = ctx;
      const mask = emit.op('Greater', [node.output[0]!, emit.scalar(0)], [], 'relu_mask');
      return [emit.op('Mul', [ctx.dy(0)!, emit.op('Cast', [mask], [intAttr('to', DataType.FLOAT)])], [], 'relu_grad')];
    },
  },
  Identity: { backward: (ctx) => [ctx.dy(0)] },
};
