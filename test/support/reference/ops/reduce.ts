/** Reference ReduceSum and ReduceMean (axes as attribute or input, keepdims, noop_with_empty_axes). */
import { readInt, readInts } from '../../../../src/autodiff/attributes.ts';
import type { NodeProto } from '../../../../src/onnx/proto/onnx_pb.ts';
import { sizeOf, stridesOf, type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

/** For each input element, the flat index of the output element it is reduced into; undefined for a no-op. */
function plan(x: Tensor64, axesInput: Tensor64 | undefined, node: NodeProto) {
  const rank = x.dims.length;
  const listed = readInts(node, 'axes') ?? (axesInput === undefined ? [] : Array.from(axesInput.data));
  if (listed.length === 0 && readInt(node, 'noop_with_empty_axes', 0) === 1) return undefined;
  const axes = listed.length === 0 ? [...Array(rank).keys()] : listed.map((a) => (a < 0 ? a + rank : a));
  const keptDims = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = stridesOf(keptDims);
  const inStrides = stridesOf(x.dims);
  const into = new Int32Array(x.data.length).map((_, flat) => x.dims.reduce((s, _d, k) => {
    const coord = Math.floor(flat / inStrides[k]!) % x.dims[k]!;
    return s + (axes.includes(k) ? 0 : coord * outStrides[k]!);
  }, 0));
  const dims = readInt(node, 'keepdims', 1) === 1 ? keptDims : x.dims.filter((_, i) => !axes.includes(i));
  return { dims, into, count: sizeOf(axes.map((a) => x.dims[a]!)) };
}

function reduce(mean: boolean): RefOp {
  return {
    forward([x, axes], { node }) {
      const p = plan(x!, axes, node);
      if (p === undefined) return [tensor(x!.dims, x!.data)];
      const y = tensor(p.dims);
      x!.data.forEach((v, i) => { y.data[p.into[i]!]! += mean ? v / p.count : v; });
      return [y];
    },
    backward([x, axes], _y, [dy], { node }) {
      const p = plan(x!, axes, node);
      if (p === undefined) return [dy];
      return [tensor(x!.dims, Array.from(p.into, (o) => dy!.data[o]! / (mean ? p.count : 1)))];
    },
  };
}

export const reduceOps: Record<string, RefOp> = { ReduceSum: reduce(false), ReduceMean: reduce(true) };
