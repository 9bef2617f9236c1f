/** Reference Flatten and Reshape. */
import { readInt } from '../../../../src/autodiff/attributes.ts';
import { sizeOf, type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

function reshapeTo(x: Tensor64, dims: number[]): Tensor64 {
  return tensor(dims, x.data);
}

const backToInput: RefOp['backward'] = ([x], _y, [dy]) => [reshapeTo(dy!, x!.dims)];

export const shapeOps: Record<string, RefOp> = {
  Flatten: {
    forward([x], { node }) {
      const axis = readInt(node, 'axis', 1);
      const a = axis < 0 ? axis + x!.dims.length : axis;
      return [reshapeTo(x!, [sizeOf(x!.dims.slice(0, a)), sizeOf(x!.dims.slice(a))])];
    },
    backward: backToInput,
  },
  Reshape: {
    forward([x, shape]) {
      const wanted = Array.from(shape!.data, (d, i) => (d === 0 ? x!.dims[i]! : d));
      const known = wanted.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
      return [reshapeTo(x!, wanted.map((d) => (d === -1 ? sizeOf(x!.dims) / known : d)))];
    },
    backward: (inputs, outputs, dOut, ctx) => [...backToInput!(inputs, outputs, dOut, ctx), undefined],
  },
};
