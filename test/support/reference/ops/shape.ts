/**
 * Reference ops that move data: Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Expand,
 * Concat, Slice, Gather, and Constant. Each backward routes every output element's gradient to
 * the input element it came from, by explicit index arithmetic.
 */
import { readInt, readInts } from '../../../../src/autodiff/attributes.ts';
import { tensorToArray } from '../../../../src/onnx/tensor-data.ts';
import { broadcastDims, broadcastIndex, sizeOf, stridesOf, type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

const axisOf = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** A pure data movement: `source(x, inputs, node)` gives the output dims and, per output element, the flat input index it copies. */
function movement(source: (inputs: (Tensor64 | undefined)[], ctx: Parameters<RefOp['forward']>[1]) => { dims: number[]; from: Int32Array | number[] }): RefOp {
  return {
    forward(inputs, ctx) {
      const { dims, from } = source(inputs, ctx);
      return [tensor(dims, Array.from(from, (k) => inputs[0]!.data[k]!))];
    },
    backward(inputs, _y, [dy], ctx) {
      const { from } = source(inputs, ctx);
      const dx = tensor(inputs[0]!.dims);
      Array.from(from).forEach((k, i) => { dx.data[k]! += dy!.data[i]!; });
      return [dx];
    },
  };
}

const identityMap = (x: Tensor64) => Array.from({ length: x.data.length }, (_, i) => i);

/** Calls `visit(index)` with every multi-index of `dims` in row-major order. */
function forEachIndex(dims: readonly number[], visit: (idx: number[]) => void): void {
  const idx = Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < sizeOf(dims); flat++) {
    visit(idx);
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++idx[k]! < dims[k]!) break;
      idx[k] = 0;
    }
  }
}

function sliceParams(x: Tensor64, inputs: (Tensor64 | undefined)[]) {
  const rank = x.dims.length;
  const [starts, ends] = [Array.from(inputs[1]!.data), Array.from(inputs[2]!.data)];
  const axes = inputs[3] === undefined ? starts.map((_, i) => i) : Array.from(inputs[3].data, (a) => axisOf(a, rank));
  const steps = inputs[4] === undefined ? starts.map(() => 1) : Array.from(inputs[4].data);
  // Per axis: the selected input coordinates.
  const picks = x.dims.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a, i) => {
    const d = x.dims[a]!;
    const step = steps[i]!;
    const norm = (v: number) => (v < 0 ? v + d : v);
    const chosen: number[] = [];
    if (step > 0) {
      const [s, e] = [Math.min(Math.max(norm(starts[i]!), 0), d), Math.min(Math.max(norm(ends[i]!), 0), d)];
      for (let k = s; k < e; k += step) chosen.push(k);
    } else {
      const [s, e] = [Math.min(Math.max(norm(starts[i]!), -1), d - 1), Math.min(Math.max(norm(ends[i]!), -1), d - 1)];
      for (let k = s; k > e; k += step) chosen.push(k);
    }
    picks[a] = chosen;
  });
  return picks;
}

export const shapeOps: Record<string, RefOp> = {
  Flatten: movement(([x], { node }) => {
    const a = axisOf(readInt(node, 'axis', 1), x!.dims.length);
    return { dims: [sizeOf(x!.dims.slice(0, a)), sizeOf(x!.dims.slice(a))], from: identityMap(x!) };
  }),
  Reshape: movement(([x, shape]) => {
    const wanted = Array.from(shape!.data, (d, i) => (d === 0 ? x!.dims[i]! : d));
    const known = wanted.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    return { dims: wanted.map((d) => (d === -1 ? sizeOf(x!.dims) / known : d)), from: identityMap(x!) };
  }),
  Squeeze: movement(([x, axes]) => {
    const drop = axes === undefined ? x!.dims.map((d, i) => (d === 1 ? i : -1)) : Array.from(axes.data, (a) => axisOf(a, x!.dims.length));
    return { dims: x!.dims.filter((_, i) => !drop.includes(i)), from: identityMap(x!) };
  }),
  Unsqueeze: movement(([x, axes]) => {
    const rank = x!.dims.length + axes!.data.length;
    const add = Array.from(axes!.data, (a) => axisOf(a, rank));
    const rest = [...x!.dims];
    return { dims: Array.from({ length: rank }, (_, i) => (add.includes(i) ? 1 : rest.shift()!)), from: identityMap(x!) };
  }),
  Transpose: movement(([x], { node }) => {
    const perm = readInts(node, 'perm') ?? x!.dims.map((_, i) => x!.dims.length - 1 - i);
    const dims = perm.map((p) => x!.dims[p]!);
    const strides = stridesOf(x!.dims);
    const from: number[] = [];
    forEachIndex(dims, (idx) => from.push(idx.reduce((s, v, k) => s + v * strides[perm[k]!]!, 0)));
    return { dims, from };
  }),
  Expand: movement(([x, shape]) => {
    const dims = broadcastDims(x!.dims, Array.from(shape!.data));
    return { dims, from: broadcastIndex(dims, x!.dims) };
  }),
  Slice: movement((inputs) => {
    const x = inputs[0]!;
    const picks = sliceParams(x, inputs);
    const strides = stridesOf(x.dims);
    const from: number[] = [];
    const dims = picks.map((p) => p.length);
    forEachIndex(dims, (idx) => from.push(idx.reduce((s, v, k) => s + picks[k]![v]! * strides[k]!, 0)));
    return { dims, from };
  }),
  Gather: movement(([x, indices], { node }) => {
    const a = axisOf(readInt(node, 'axis', 0), x!.dims.length);
    const dims = [...x!.dims.slice(0, a), ...indices!.dims, ...x!.dims.slice(a + 1)];
    const strides = stridesOf(x!.dims);
    const q = indices!.dims.length;
    const idxStrides = stridesOf(indices!.dims);
    const from: number[] = [];
    forEachIndex(dims, (idx) => {
      const j = idx.slice(a, a + q).reduce((s, v, k) => s + v * idxStrides[k]!, 0);
      const picked = axisOf(indices!.data[j]!, x!.dims[a]!);
      const src = [...idx.slice(0, a), picked, ...idx.slice(a + q)];
      from.push(src.reduce((s, v, k) => s + v * strides[k]!, 0));
    });
    return { dims, from };
  }),
  Concat: {
    forward(inputs, { node }) {
      const a = axisOf(readInt(node, 'axis', 0), inputs[0]!.dims.length);
      const dims = [...inputs[0]!.dims];
      dims[a] = inputs.reduce((s, t) => s + t!.dims[a]!, 0);
      const out = tensor(dims);
      const outer = sizeOf(dims.slice(0, a));
      let k = 0;
      for (let o = 0; o < outer; o++) for (const t of inputs) {
        const chunk = sizeOf(t!.dims.slice(a));
        for (let i = 0; i < chunk; i++) out.data[k++] = t!.data[o * chunk + i]!;
      }
      return [out];
    },
    backward(inputs, _y, [dy], { node }) {
      const a = axisOf(readInt(node, 'axis', 0), inputs[0]!.dims.length);
      const grads = inputs.map((t) => tensor(t!.dims));
      const outer = sizeOf(inputs[0]!.dims.slice(0, a));
      let k = 0;
      for (let o = 0; o < outer; o++) for (const g of grads) {
        const chunk = sizeOf(g.dims.slice(a));
        for (let i = 0; i < chunk; i++) g.data[o * chunk + i] = dy!.data[k++]!;
      }
      return grads;
    },
  },
  Constant: {
    forward(_inputs, { node }) {
      const { dims, data } = tensorToArray(node.attribute.find((a) => a.name === 'value')!.t!);
      return [tensor(dims, Array.from(data as ArrayLike<number | bigint>, Number))];
    },
  },
};
