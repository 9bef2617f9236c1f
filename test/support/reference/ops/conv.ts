/** Reference 2-D Conv (groups, strides, pads, dilations) with its direct-loop backward. */
import { readInt } from '../../../../src/autodiff/attributes.ts';
import { type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';
import { forEachTap, window2d } from './window.ts';

/** Calls `visit(xi, wi, yi)` for every multiply-add of the convolution (flat indices). */
function forEachMac(x: Tensor64, w: Tensor64, win: ReturnType<typeof window2d>, group: number, visit: (xi: number, wi: number, yi: number, m: number) => void): number[] {
  const [N, C, H, W] = x.dims as [number, number, number, number];
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
          visit(((n * C + xc) * H + ih) * W + iw, ((m * Cg + c) * win.k[0] + ki) * win.k[1] + kj, yi, m);
        });
      }
    }
  }
  return [N, M, OH, OW];
}

export const convOps: Record<string, RefOp> = {
  Conv: {
    forward([x, w, b], { node }) {
      const win = window2d(node, w!.dims.slice(2));
      const [H, W] = x!.dims.slice(2) as [number, number];
      const [OH, OW] = win.out(H, W);
      const y = tensor([x!.dims[0]!, w!.dims[0]!, OH, OW]);
      forEachMac(x!, w!, win, readInt(node, 'group', 1), (xi, wi, yi) => { y.data[yi]! += x!.data[xi]! * w!.data[wi]!; });
      if (b !== undefined) for (let i = 0; i < y.data.length; i++) y.data[i]! += b.data[Math.floor(i / (OH * OW)) % w!.dims[0]!]!;
      return [y];
    },
    backward([x, w, b], _y, [dy], { node }) {
      const [dx, dw] = [tensor(x!.dims), tensor(w!.dims)];
      const db = b === undefined ? undefined : tensor(b.dims);
      const win = window2d(node, w!.dims.slice(2));
      forEachMac(x!, w!, win, readInt(node, 'group', 1), (xi, wi, yi) => {
        dx.data[xi]! += dy!.data[yi]! * w!.data[wi]!;
        dw.data[wi]! += dy!.data[yi]! * x!.data[xi]!;
      });
      if (db !== undefined) {
        const spatial = dy!.dims[2]! * dy!.dims[3]!;
        for (let i = 0; i < dy!.data.length; i++) db.data[Math.floor(i / spatial) % db.data.length]! += dy!.data[i]!;
      }
      return [dx, dw, db];
    },
  },
};
