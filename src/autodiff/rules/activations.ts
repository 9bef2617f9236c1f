/**
 * Gradient rules of elementwise functions of one tensor: Sigmoid, Tanh, Exp, Log, Neg, Sqrt,
 * Erf, Gelu (opset 20, exact and tanh forms), LeakyRelu, Clip, and Cast (float to float). Where
 * the derivative is a function of the output, it reads the output (no recomputation).
 */
import { intAttr, readFloat, readString } from '../attributes.ts';
import type { GraphEmitter } from '../emitter.ts';
import type { BackwardContext, GradientRule } from '../rule.ts';

/** A rule for input 0 from `grad(ctx, dy, x, y)`. */
function unary(grad: (ctx: BackwardContext, dy: string, x: string, y: string) => string): GradientRule {
  return { backward: (ctx) => [grad(ctx, ctx.dy(0)!, ctx.node.input[0]!, ctx.node.output[0]!)] };
}

/** Builds products left to right: mul(emit, a, b, c) = (a·b)·c. */
function mul(emit: GraphEmitter, ...xs: string[]): string {
  return xs.slice(1).reduce((p, x) => emit.op('Mul', [p, x]), xs[0]!);
}

/** exp(k·x²). */
function gauss(emit: GraphEmitter, x: string, k: number): string {
  return emit.op('Exp', [mul(emit, x, x, emit.scalar(k))]);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_CUBIC = 0.044715;

/** d gelu/dx = Φ(x) + x·φ(x) (exact); for the tanh form, the derivative of 0.5·x·(1 + tanh(u)). */
function geluGrad(ctx: BackwardContext, dy: string, x: string): string {
  const { emit, node } = ctx;
  const s = (v: number) => emit.scalar(v);
  const approximate = readString(node, 'approximate', 'none');
  if (approximate === 'none') {
    const cdf = mul(emit, emit.op('Add', [emit.op('Erf', [mul(emit, x, s(Math.SQRT1_2))]), s(1)]), s(0.5));
    const xpdf = mul(emit, x, gauss(emit, x, -0.5), s(1 / Math.sqrt(2 * Math.PI)));
    return mul(emit, dy, emit.op('Add', [cdf, xpdf]));
  }
  if (approximate !== 'tanh') ctx.fail(`Gelu approximate '${approximate}' is not an ONNX value`);
  const x2 = mul(emit, x, x);
  const t = emit.op('Tanh', [mul(emit, x, emit.op('Add', [mul(emit, x2, s(GELU_TANH_CUBIC)), s(1)]), s(SQRT_2_OVER_PI))]);
  const du = mul(emit, emit.op('Add', [mul(emit, x2, s(3 * GELU_TANH_CUBIC)), s(1)]), s(SQRT_2_OVER_PI)); // du/dx
  const sech2 = emit.op('Sub', [s(1), mul(emit, t, t)]);
  const slope = emit.op('Add', [mul(emit, emit.op('Add', [t, s(1)]), s(0.5)), mul(emit, x, sech2, du, s(0.5))]);
  return mul(emit, dy, slope);
}

/** Clip passes the gradient where min ≤ x ≤ max (PyTorch's clamp); a bound gets the gradient of the values it clipped. */
const clip: GradientRule = {
  backward(ctx) {
    const { emit, node } = ctx;
    const [x, min, max] = [node.input[0]!, node.input[1] ?? '', node.input[2] ?? ''];
    const dy = ctx.dy(0)!;
    const zero = emit.scalar(0);
    const inside = [
      ...(min === '' ? [] : [emit.op('GreaterOrEqual', [x, min])]),
      ...(max === '' ? [] : [emit.op('LessOrEqual', [x, max])]),
    ];
    const mask = inside.length === 2 ? emit.op('And', inside) : inside[0];
    const dx = mask === undefined ? dy : emit.op('Where', [mask, dy, zero], [], 'clip_dx');
    // Bounds are scalars: the sum over every clipped position.
    const boundGrad = (outside: string) => emit.op('ReduceSum', [emit.op('Where', [outside, dy, zero])], [intAttr('keepdims', 0)], 'clip_dbound');
    return [
      ctx.wants(0) ? dx : undefined,
      ctx.wants(1) ? boundGrad(emit.op('Less', [x, min])) : undefined,
      ctx.wants(2) ? boundGrad(emit.op('Greater', [x, max])) : undefined,
    ];
  },
};

export const activationRules: Record<string, GradientRule> = {
  Sigmoid: unary(({ emit }, dy, _x, y) => mul(emit, dy, y, emit.op('Sub', [emit.scalar(1), y]))),
  Tanh: unary(({ emit }, dy, _x, y) => mul(emit, dy, emit.op('Sub', [emit.scalar(1), mul(emit, y, y)]))),
  Exp: unary(({ emit }, dy, _x, y) => mul(emit, dy, y)),
  Log: unary(({ emit }, dy, x) => emit.op('Div', [dy, x])),
  Neg: unary(({ emit }, dy) => emit.op('Neg', [dy])),
  Sqrt: unary(({ emit }, dy, _x, y) => emit.op('Div', [mul(emit, dy, emit.scalar(0.5)), y])),
  Erf: unary(({ emit }, dy, x) => mul(emit, dy, gauss(emit, x, -1), emit.scalar(2 / Math.sqrt(Math.PI)))),
  Gelu: unary(geluGrad),
  // x > 0 ? dy : α·dy, read from the input (α may be negative); α·dy at x = 0 as in PyTorch.
  LeakyRelu: unary(({ emit, node }, dy, x) => {
    const alpha = readFloat(node, 'alpha', 0.01);
    return emit.op('Where', [emit.op('Greater', [x, emit.scalar(0)]), dy, mul(emit, dy, emit.scalar(alpha))], [], 'leaky_relu_dx');
  }),
  Clip: clip,
  // Float to float (e.g. float16 ↔ float32): the gradient is cast back to the input's type.
  Cast: unary((ctx, dy, x, y) => {
    const [from, to] = [ctx.dataType(x), ctx.dataType(y)];
    return from === to || from === 0 ? dy : ctx.emit.op('Cast', [dy], [intAttr('to', from)], 'cast_back');
  }),
};
