/**
 * Reference broadcasting ops (Add, Sub, Mul, Div, Pow, Where) and elementwise functions (Relu,
 * Identity, Sigmoid, Tanh, Exp, Log, Neg, Sqrt, Erf, Gelu, LeakyRelu, Clip, Cast), each from its
 * scalar function and derivatives.
 */
import { readFloat, readInt, readString } from '../../../../src/autodiff/attributes.ts';
import { DataType } from '../../../../src/onnx/tensor-data.ts';
import { broadcastDims, broadcastIndex, sizeOf, type Tensor64, tensor } from '../tensor.ts';
import { erf } from './erf.ts';
import type { RefContext, RefOp } from './op.ts';

/** A broadcasting op of n inputs from its scalar function and its partial derivatives. */
function broadcasting(f: (...v: number[]) => number, partials: (...v: number[]) => number[]): RefOp {
  const layout = (inputs: (Tensor64 | undefined)[]) => {
    const dims = inputs.reduce<number[]>((d, t) => broadcastDims(d, t!.dims), []);
    return { dims, maps: inputs.map((t) => broadcastIndex(dims, t!.dims)) };
  };
  return {
    forward(inputs) {
      const { dims, maps } = layout(inputs);
      const out = tensor(dims);
      for (let i = 0; i < sizeOf(dims); i++) out.data[i] = f(...inputs.map((t, k) => t!.data[maps[k]![i]!]!));
      return [out];
    },
    backward(inputs, [y], [dy]) {
      const { maps } = layout(inputs);
      const grads = inputs.map((t) => tensor(t!.dims));
      for (let i = 0; i < y!.data.length; i++) {
        const p = partials(...inputs.map((t, k) => t!.data[maps[k]![i]!]!));
        grads.forEach((g, k) => { g.data[maps[k]![i]!]! += dy!.data[i]! * p[k]!; });
      }
      return grads;
    },
  };
}

/** An elementwise function from its value and derivative (both may read the node's attributes). */
function unary(f: (x: number, ctx: RefContext) => number, derivative: (x: number, ctx: RefContext) => number): RefOp {
  return {
    forward: ([x], ctx) => [tensor(x!.dims, x!.data.map((v) => f(v, ctx)))],
    backward: ([x], _y, [dy], ctx) => [tensor(x!.dims, x!.data.map((v, i) => dy!.data[i]! * derivative(v, ctx)))],
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
const cdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
const K = Math.sqrt(2 / Math.PI);
const tanhGelu = (x: number) => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3)));
const tanhGeluSlope = (x: number) => {
  const t = Math.tanh(K * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * 0.044715 * x * x);
};
const tanhForm = ({ node }: RefContext) => readString(node, 'approximate', 'none') === 'tanh';
const INTEGER_TYPES = new Set<number>([DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64, DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64]);

/** Clip: the gradient passes where min ≤ x ≤ max; a bound collects the gradient of the values it clipped. */
const clip: RefOp = {
  forward: ([x, min, max]) => [tensor(x!.dims, x!.data.map((v) => Math.min(Math.max(v, min?.data[0] ?? -Infinity), max?.data[0] ?? Infinity)))],
  backward([x, min, max], _y, [dy]) {
    const [lo, hi] = [min?.data[0] ?? -Infinity, max?.data[0] ?? Infinity];
    const [dmin, dmax] = [tensor(min?.dims ?? []), tensor(max?.dims ?? [])];
    const dx = tensor(x!.dims, x!.data.map((v, i) => {
      if (v < lo) dmin.data[0]! += dy!.data[i]!;
      if (v > hi) dmax.data[0]! += dy!.data[i]!;
      return v >= lo && v <= hi ? dy!.data[i]! : 0;
    }));
    return [dx, min === undefined ? undefined : dmin, max === undefined ? undefined : dmax];
  },
};

/** A comparison: 1 or 0, no gradient. */
function compare(f: (a: number, b: number) => boolean): RefOp {
  const op = broadcasting((a, b) => (f(a!, b!) ? 1 : 0), () => [0, 0]);
  return { forward: op.forward, backward: () => [undefined, undefined] };
}

export const elementwiseOps: Record<string, RefOp> = {
  Add: broadcasting((a, b) => a! + b!, () => [1, 1]),
  Sub: broadcasting((a, b) => a! - b!, () => [1, -1]),
  Mul: broadcasting((a, b) => a! * b!, (a, b) => [b!, a!]),
  Div: broadcasting((a, b) => a! / b!, (a, b) => [1 / b!, -a! / (b! * b!)]),
  // PyTorch's convention: ∂/∂b is 0 where a = 0.
  Pow: broadcasting((a, b) => a! ** b!, (a, b) => [b! * a! ** (b! - 1), a === 0 ? 0 : a! ** b! * Math.log(a!)]),
  Where: broadcasting((c, a, b) => (c ? a! : b!), (c) => [0, c ? 1 : 0, c ? 0 : 1]),
  // PyTorch's convention: the derivative at 0 is 0.
  Relu: unary((x) => Math.max(x, 0), (x) => (x > 0 ? 1 : 0)),
  Identity: unary((x) => x, () => 1),
  Sigmoid: unary(sigmoid, (x) => sigmoid(x) * (1 - sigmoid(x))),
  Tanh: unary(Math.tanh, (x) => 1 - Math.tanh(x) ** 2),
  Exp: unary(Math.exp, Math.exp),
  Log: unary(Math.log, (x) => 1 / x),
  Neg: unary((x) => -x, () => -1),
  Sqrt: unary(Math.sqrt, (x) => 0.5 / Math.sqrt(x)),
  Erf: unary(erf, (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x)),
  Gelu: unary((x, ctx) => (tanhForm(ctx) ? tanhGelu(x) : x * cdf(x)), (x, ctx) => (tanhForm(ctx) ? tanhGeluSlope(x) : cdf(x) + x * phi(x))),
  // PyTorch's convention: α at 0.
  LeakyRelu: unary((x, { node }) => (x > 0 ? x : readFloat(node, 'alpha', 0.01) * x), (x, { node }) => (x > 0 ? 1 : readFloat(node, 'alpha', 0.01))),
  Clip: clip,
  Greater: compare((a, b) => a > b),
  Less: compare((a, b) => a < b),
  Equal: compare((a, b) => a === b),
  Cast: unary((x, { node }) => (INTEGER_TYPES.has(readInt(node, 'to', 0)) ? Math.trunc(x) : x), () => 1),
};
