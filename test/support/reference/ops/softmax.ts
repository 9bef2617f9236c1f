/** Reference Softmax, LogSoftmax (any axis), SoftmaxCrossEntropyLoss ([N, C, d…] scores; weights, ignore_index; mean, sum, none). */
import { readInt, readString } from '../../../../src/autodiff/attributes.ts';
import type { NodeProto } from '../../../../src/onnx/proto/onnx_pb.ts';
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

/**
 * Per label (scores [N, C, d…], labels [N, d…]): the flat index of its log-probability, its
 * weight (class weight, 0 when ignored), and the mean's divisor Σ weights.
 */
function sceTerms(scores: Tensor64, labels: Tensor64, weights: Tensor64 | undefined, node: NodeProto) {
  const C = scores.dims[1]!;
  const inner = scores.dims.slice(2).reduce((p, d) => p * d, 1);
  const ignore = node.attribute.find((a) => a.name === 'ignore_index');
  const picks = Array.from(labels.data, (label, k) => {
    const [n, j] = [Math.floor(k / inner), k % inner];
    const w = ignore !== undefined && label === Number(ignore.i) ? 0 : weights === undefined ? 1 : weights.data[label]!;
    return { at: (n * C + label) * inner + j, w, label };
  });
  return { picks, total: picks.reduce((s, p) => s + p.w, 0), C, inner };
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
    forward([scores, labels, weights], { node }) {
      const logp = logSoftmaxOf(scores!, 1);
      const { picks, total } = sceTerms(scores!, labels!, weights, node);
      const losses = picks.map(({ at, w }) => (w === 0 ? 0 : -w * logp.data[at]!));
      const reduction = readString(node, 'reduction', 'mean');
      const sum = losses.reduce((a, b) => a + b, 0);
      const loss = reduction === 'none' ? tensor(labels!.dims, losses) : tensor([], [reduction === 'mean' ? sum / total : sum]);
      return [loss, logp];
    },
    backward([scores, labels, weights], [, logp], [dloss], { node }) {
      const { picks, total, C, inner } = sceTerms(scores!, labels!, weights, node);
      const reduction = readString(node, 'reduction', 'mean');
      const d = tensor(scores!.dims);
      picks.forEach(({ w, label }, k) => {
        const g = reduction === 'none' ? dloss!.data[k]! : dloss!.data[0]! / (reduction === 'mean' ? total : 1);
        const [n, j] = [Math.floor(k / inner), k % inner];
        for (let c = 0; c < C; c++) {
          const i = (n * C + c) * inner + j;
          d.data[i] = w * g * (Math.exp(logp!.data[i]!) - (c === label ? 1 : 0));
        }
      });
      return [d, undefined, undefined];
    },
  },
};
