/** Reference Softmax, LogSoftmax (any axis), SoftmaxCrossEntropyLoss ([N, C] scores, mean or sum). */
import { readInt, readString } from '../../../../src/autodiff/attributes.ts';
import { type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

/** Calls `visit(offsets)` with the flat offsets of each slice along `axis`. */
function forEachSlice(dims: number[], axisAttr: number, visit: (offsets: number[]) => void): void {
  const axis = axisAttr < 0 ? axisAttr + dims.length : axisAttr;
  const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = dims.slice(0, axis).reduce((p, d) => p * d, 1);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    visit(Array.from({ length: dims[axis]! }, (_, k) => (o * dims[axis]! + k) * inner + i));
  }
}

function logSoftmaxOf(x: Tensor64, axis: number): Tensor64 {
  const y = tensor(x.dims);
  forEachSlice(x.dims, axis, (offs) => {
    const max = Math.max(...offs.map((i) => x.data[i]!));
    const lse = max + Math.log(offs.reduce((s, i) => s + Math.exp(x.data[i]! - max), 0));
    for (const i of offs) y.data[i] = x.data[i]! - lse;
  });
  return y;
}

export const softmaxOps: Record<string, RefOp> = {
  Softmax: {
    forward: ([x], { node }) => [tensor(x!.dims, logSoftmaxOf(x!, readInt(node, 'axis', -1)).data.map(Math.exp))],
    backward([x], [y], [dy], { node }) {
      const dx = tensor(x!.dims);
      forEachSlice(x!.dims, readInt(node, 'axis', -1), (offs) => {
        const dot = offs.reduce((s, i) => s + dy!.data[i]! * y!.data[i]!, 0);
        for (const i of offs) dx.data[i] = y!.data[i]! * (dy!.data[i]! - dot);
      });
      return [dx];
    },
  },
  LogSoftmax: {
    forward: ([x], { node }) => [logSoftmaxOf(x!, readInt(node, 'axis', -1))],
    backward([x], [y], [dy], { node }) {
      const dx = tensor(x!.dims);
      forEachSlice(x!.dims, readInt(node, 'axis', -1), (offs) => {
        const total = offs.reduce((s, i) => s + dy!.data[i]!, 0);
        for (const i of offs) dx.data[i] = dy!.data[i]! - Math.exp(y!.data[i]!) * total;
      });
      return [dx];
    },
  },
  SoftmaxCrossEntropyLoss: {
    forward([scores, labels], { node }) {
      const logp = logSoftmaxOf(scores!, 1);
      const [N, C] = scores!.dims as [number, number];
      let total = 0;
      for (let n = 0; n < N; n++) total -= logp.data[n * C + labels!.data[n]!]!;
      return [tensor([], [readString(node, 'reduction', 'mean') === 'mean' ? total / N : total]), logp];
    },
    backward([scores, labels], [, logp], [dloss], { node }) {
      const [N, C] = scores!.dims as [number, number];
      const scale = dloss!.data[0]! / (readString(node, 'reduction', 'mean') === 'mean' ? N : 1);
      const d = tensor(scores!.dims, logp!.data.map((v, i) => (Math.exp(v) - (i % C === labels!.data[Math.floor(i / C)]! ? 1 : 0)) * scale));
      return [d, undefined];
    },
  },
};
