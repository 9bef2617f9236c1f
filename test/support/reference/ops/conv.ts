/**
 * Reference 2-D Conv and ConvTranspose (groups, strides, pads, dilations, auto_pad for Conv,
 * output_padding for ConvTranspose) with direct-loop backward. ConvTranspose runs the Conv loops
 * with the roles of input and output swapped (it is Conv's adjoint).
 */
import { readInt, readInts } from '../../../../src/autodiff/attributes.ts';
import { type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';
import { forEachTap, window2d } from './window.ts';

/** Calls `visit(xi, wi, yi)` for every multiply-add of the convolution of an input of `xDims` (flat indices). */
function forEachMac(xDims: number[], w: Tensor64, win: ReturnType<typeof window2d>, group: number, visit: (xi: number, wi: number, yi: number) => void): number[] {
  const [N, C, H, W] = xDims as [number, number, number, number];
  const [M, Cg] = w.dims as [number, number];
  const [OH, OW] = win.out(H, W);
  const Mg = M / group;
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    const g = Math.floor(m / Mg);
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const yi = ((n * M + m) * OH + oh) * OW + ow;
      for (let c = 0; c < Cg; c++) {
        const xc = g * Cg + c;
        forEachTap(win, H, W, oh, ow, (ih, iw, ki, kj) => {
          visit(((n * C + xc) * H + ih) * W + iw, ((m * Cg + c) * win.k[0] + ki) * win.k[1] + kj, yi);
        });
      }
    }
  }
  return [N, M, OH, OW];
}

/** Adds bias[channel] to every element of y ([N, C, H, W]). */
function addBias(y: Tensor64, b: Tensor64 | undefined): void {
  if (b === undefined) return;
  const plane = y.dims[2]! * y.dims[3]!;
  for (let i = 0; i < y.data.length; i++) y.data[i]! += b.data[Math.floor(i / plane) % y.dims[1]!]!;
}

function biasGrad(dy: Tensor64, b: Tensor64 | undefined): Tensor64 | undefined {
  if (b === undefined) return undefined;
  const db = tensor(b.dims);
  const plane = dy.dims[2]! * dy.dims[3]!;
  for (let i = 0; i < dy.data.length; i++) db.data[Math.floor(i / plane) % db.data.length]! += dy.data[i]!;
  return db;
}

/** ConvTranspose's output dims: s·(in − 1) + output_padding + (k − 1)·d + 1 − pads. */
function transposedDims(x: Tensor64, w: Tensor64, node: Parameters<RefOp['forward']>[1]['node']): number[] {
  const win = window2d(node, w.dims.slice(2), [0, 0]);
  const op = readInts(node, 'output_padding') ?? [0, 0];
  const size = (i: number) => win.s[i]! * (x.dims[2 + i]! - 1) + op[i]! + (win.k[i]! - 1) * win.d[i]! + 1 - win.p[i]! - win.p[i + 2]!;
  return [x.dims[0]!, w.dims[1]! * readInt(node, 'group', 1), size(0), size(1)];
}

export const convOps: Record<string, RefOp> = {
  Conv: {
    forward([x, w, b], { node }) {
      const win = window2d(node, w!.dims.slice(2), x!.dims.slice(2));
      const [H, W] = x!.dims.slice(2) as [number, number];
      const [OH, OW] = win.out(H, W);
      const y = tensor([x!.dims[0]!, w!.dims[0]!, OH, OW]);
      forEachMac(x!.dims, w!, win, readInt(node, 'group', 1), (xi, wi, yi) => { y.data[yi]! += x!.data[xi]! * w!.data[wi]!; });
      addBias(y, b);
      return [y];
    },
    backward([x, w, b], _y, [dy], { node }) {
      const [dx, dw] = [tensor(x!.dims), tensor(w!.dims)];
      const win = window2d(node, w!.dims.slice(2), x!.dims.slice(2));
      forEachMac(x!.dims, w!, win, readInt(node, 'group', 1), (xi, wi, yi) => {
        dx.data[xi]! += dy!.data[yi]! * w!.data[wi]!;
        dw.data[wi]! += dy!.data[yi]! * x!.data[xi]!;
      });
      return [dx, dw, biasGrad(dy!, b)];
    },
  },
  ConvTranspose: {
    forward([x, w, b], { node }) {
      const y = tensor(transposedDims(x!, w!, node));
      const win = window2d(node, w!.dims.slice(2), y.dims.slice(2));
      if (win.out(y.dims[2]!, y.dims[3]!).some((d, i) => d !== x!.dims[2 + i])) throw new Error('reference: ConvTranspose output_padding ≥ stride');
      forEachMac(y.dims, w!, win, readInt(node, 'group', 1), (yi, wi, xi) => { y.data[yi]! += x!.data[xi]! * w!.data[wi]!; });
      addBias(y, b);
      return [y];
    },
    backward([x, w, b], [y], [dy], { node }) {
      const [dx, dw] = [tensor(x!.dims), tensor(w!.dims)];
      const win = window2d(node, w!.dims.slice(2), y!.dims.slice(2));
      forEachMac(y!.dims, w!, win, readInt(node, 'group', 1), (yi, wi, xi) => {
        dx.data[xi]! += dy!.data[yi]! * w!.data[wi]!;
        dw.data[wi]! += dy!.data[yi]! * x!.data[xi]!;
      });
      return [dx, dw, biasGrad(dy!, b)];
    },
  },
};
