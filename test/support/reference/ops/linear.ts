/** Reference Gemm and MatMul (1-D operands promoted as numpy does, batch broadcasting) with direct-loop backward. */
import { readFloat, readInt } from '../../../../src/autodiff/attributes.ts';
import type { NodeProto } from '../../../../src/onnx/proto/onnx_pb.ts';
import { broadcastDims, broadcastIndex, sizeOf, type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

/** Calls `visit(ai, bi, yi)` for each multiply-add of alpha·op(A)·op(B); returns [M, N]. */
function forEachGemmMac(a: Tensor64, b: Tensor64, node: NodeProto, visit: (ai: number, bi: number, yi: number) => void): [number, number] {
  const [tA, tB] = [readInt(node, 'transA', 0), readInt(node, 'transB', 0)];
  const [M, K] = tA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const N = tB ? b.dims[0]! : b.dims[1]!;
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) {
    visit(tA ? k * M + i : i * K + k, tB ? j * K + k : k * N + j, i * N + j);
  }
  return [M, N];
}

/** Calls `visit(ai, bi, yi)` for each multiply-add of a batched MatMul; returns the output dims. */
function forEachMatMulMac(a: Tensor64, b: Tensor64, visit: (ai: number, bi: number, yi: number) => void): number[] {
  const [M, K] = a.dims.slice(-2) as [number, number];
  const N = b.dims[b.dims.length - 1]!;
  const batch = broadcastDims(a.dims.slice(0, -2), b.dims.slice(0, -2));
  const [ia, ib] = [broadcastIndex(batch, a.dims.slice(0, -2)), broadcastIndex(batch, b.dims.slice(0, -2))];
  for (let t = 0; t < sizeOf(batch); t++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) {
    visit(ia[t]! * M * K + i * K + k, ib[t]! * K * N + k * N + j, (t * M + i) * N + j);
  }
  return [...batch, M, N];
}

/** numpy's 1-D promotion: a vector a is [1, K], a vector b is [K, 1] (same data, flat indices unchanged). */
function promote(a: Tensor64, b: Tensor64): [Tensor64, Tensor64] {
  return [a.dims.length === 1 ? { dims: [1, a.dims[0]!], data: a.data } : a, b.dims.length === 1 ? { dims: [b.dims[0]!, 1], data: b.data } : b];
}

export const linearOps: Record<string, RefOp> = {
  Gemm: {
    forward([a, b, c], { node }) {
      const [alpha, beta] = [readFloat(node, 'alpha', 1), readFloat(node, 'beta', 1)];
      const sums: number[] = [];
      const [M, N] = forEachGemmMac(a!, b!, node, (ai, bi, yi) => { sums[yi] = (sums[yi] ?? 0) + a!.data[ai]! * b!.data[bi]!; });
      const ic = c === undefined ? undefined : broadcastIndex([M, N], c.dims);
      return [tensor([M, N], Array.from({ length: M * N }, (_, i) => alpha * sums[i]! + (ic === undefined ? 0 : beta * c!.data[ic[i]!]!)))];
    },
    backward([a, b, c], [y], [dy], { node }) {
      const [alpha, beta] = [readFloat(node, 'alpha', 1), readFloat(node, 'beta', 1)];
      const [da, db] = [tensor(a!.dims), tensor(b!.dims)];
      forEachGemmMac(a!, b!, node, (ai, bi, yi) => {
        da.data[ai]! += alpha * dy!.data[yi]! * b!.data[bi]!;
        db.data[bi]! += alpha * dy!.data[yi]! * a!.data[ai]!;
      });
      let dc: Tensor64 | undefined;
      if (c !== undefined) {
        dc = tensor(c.dims);
        const ic = broadcastIndex(y!.dims, c.dims);
        for (let i = 0; i < dy!.data.length; i++) dc.data[ic[i]!]! += beta * dy!.data[i]!;
      }
      return [da, db, dc];
    },
  },
  MatMul: {
    forward([a0, b0]) {
      const [a, b] = promote(a0!, b0!);
      const sums: number[] = [];
      const dims = forEachMatMulMac(a, b, (ai, bi, yi) => { sums[yi] = (sums[yi] ?? 0) + a.data[ai]! * b.data[bi]!; });
      const kept = dims.filter((_, i) => !(a0!.dims.length === 1 && i === dims.length - 2) && !(b0!.dims.length === 1 && i === dims.length - 1));
      return [tensor(kept, Array.from({ length: sizeOf(dims) }, (_, i) => sums[i] ?? 0))];
    },
    backward([a0, b0], _y, [dy]) {
      const [a, b] = promote(a0!, b0!);
      const [da, db] = [tensor(a0!.dims), tensor(b0!.dims)];
      forEachMatMulMac(a, b, (ai, bi, yi) => {
        da.data[ai]! += dy!.data[yi]! * b.data[bi]!;
        db.data[bi]! += dy!.data[yi]! * a.data[ai]!;
      });
      return [da, db];
    },
  },
};
