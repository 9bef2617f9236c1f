/** Reference Add, Sub, Mul, Div (numpy broadcasting), Relu, Identity. */
import { broadcastDims, broadcastIndex, sizeOf, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

type Partials = (a: number, b: number) => [number, number];

/** A broadcasting binary op from its scalar function and its two partial derivatives. */
function binary(f: (a: number, b: number) => number, partials: Partials): RefOp {
  return {
    forward([a, b]) {
      const dims = broadcastDims(a!.dims, b!.dims);
      const [ia, ib] = [broadcastIndex(dims, a!.dims), broadcastIndex(dims, b!.dims)];
      const out = tensor(dims);
      for (let i = 0; i < sizeOf(dims); i++) out.data[i] = f(a!.data[ia[i]!]!, b!.data[ib[i]!]!);
      return [out];
    },
    backward([a, b], [y], [dy]) {
      const [ia, ib] = [broadcastIndex(y!.dims, a!.dims), broadcastIndex(y!.dims, b!.dims)];
      const [da, db] = [tensor(a!.dims), tensor(b!.dims)];
      for (let i = 0; i < y!.data.length; i++) {
        const [pa, pb] = partials(a!.data[ia[i]!]!, b!.data[ib[i]!]!);
        da.data[ia[i]!]! += dy!.data[i]! * pa;
        db.data[ib[i]!]! += dy!.data[i]! * pb;
      }
      return [da, db];
    },
  };
}

function unary(f: (x: number) => number, derivative: (x: number) => number): RefOp {
  return {
    forward: ([x]) => [tensor(x!.dims, x!.data.map(f))],
    backward: ([x], _y, [dy]) => [tensor(x!.dims, x!.data.map((v, i) => dy!.data[i]! * derivative(v)))],
  };
}

export const elementwiseOps: Record<string, RefOp> = {
  Add: binary((a, b) => a + b, () => [1, 1]),
  Sub: binary((a, b) => a - b, () => [1, -1]),
  Mul: binary((a, b) => a * b, (a, b) => [b, a]),
  Div: binary((a, b) => a / b, (a, b) => [1 / b, -a / (b * b)]),
  // PyTorch's convention: the derivative at 0 is 0.
  Relu: unary((x) => Math.max(x, 0), (x) => (x > 0 ? 1 : 0)),
  Identity: unary((x) => x, () => 1),
};
