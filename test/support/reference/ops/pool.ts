/** Reference 2-D MaxPool (first maximum wins a tie), AveragePool and GlobalAveragePool. */
import { readInt } from '../../../../src/autodiff/attributes.ts';
import { tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';
import { forEachTap, window2d } from './window.ts';

/** Calls `visit(planeOffset, oi, oh, ow)` for every output position; returns the output dims. */
function forEachOutput(dims: number[], OH: number, OW: number, visit: (plane: number, oi: number, oh: number, ow: number) => void): number[] {
  const [N, C, H, W] = dims as [number, number, number, number];
  for (let nc = 0; nc < N * C; nc++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    visit(nc * H * W, (nc * OH + oh) * OW + ow, oh, ow);
  }
  return [N, C, OH, OW];
}

export const poolOps: Record<string, RefOp> = {
  MaxPool: {
    forward([x], { node }) {
      const win = window2d(node, undefined, x!.dims.slice(2));
      const [H, W] = x!.dims.slice(2) as [number, number];
      const [OH, OW] = win.out(H, W);
      const dims = [x!.dims[0]!, x!.dims[1]!, OH, OW];
      const [y, indices] = [tensor(dims), tensor(dims)];
      forEachOutput(x!.dims, OH, OW, (plane, oi, oh, ow) => {
        let best = -Infinity;
        let at = -1;
        forEachTap(win, H, W, oh, ow, (ih, iw) => {
          const i = plane + ih * W + iw;
          if (x!.data[i]! > best) [best, at] = [x!.data[i]!, i];
        });
        [y.data[oi], indices.data[oi]] = [best, at];
      });
      return [y, indices];
    },
    backward([x], [, indices], [dy]) {
      const dx = tensor(x!.dims);
      for (let i = 0; i < dy!.data.length; i++) dx.data[indices!.data[i]!]! += dy!.data[i]!;
      return [dx];
    },
  },
  AveragePool: {
    forward([x], { node }) {
      const win = window2d(node, undefined, x!.dims.slice(2));
      const includePad = readInt(node, 'count_include_pad', 0) === 1;
      const [H, W] = x!.dims.slice(2) as [number, number];
      const [OH, OW] = win.out(H, W);
      const y = tensor([x!.dims[0]!, x!.dims[1]!, OH, OW]);
      forEachOutput(x!.dims, OH, OW, (plane, oi, oh, ow) => {
        let [sum, count] = [0, 0];
        forEachTap(win, H, W, oh, ow, (ih, iw) => { sum += x!.data[plane + ih * W + iw]!; count++; });
        y.data[oi] = sum / (includePad ? win.k[0] * win.k[1] : count);
      });
      return [y];
    },
    backward([x], [y], [dy], { node }) {
      const win = window2d(node, undefined, x!.dims.slice(2));
      const includePad = readInt(node, 'count_include_pad', 0) === 1;
      const [H, W] = x!.dims.slice(2) as [number, number];
      const dx = tensor(x!.dims);
      forEachOutput(x!.dims, y!.dims[2]!, y!.dims[3]!, (plane, oi, oh, ow) => {
        const taps: number[] = [];
        forEachTap(win, H, W, oh, ow, (ih, iw) => taps.push(plane + ih * W + iw));
        const share = dy!.data[oi]! / (includePad ? win.k[0] * win.k[1] : taps.length);
        for (const t of taps) dx.data[t]! += share;
      });
      return [dx];
    },
  },
  GlobalAveragePool: {
    forward([x]) {
      const [N, C] = x!.dims as [number, number];
      const hw = x!.data.length / (N * C);
      const y = tensor([N, C, ...x!.dims.slice(2).map(() => 1)]);
      for (let i = 0; i < x!.data.length; i++) y.data[Math.floor(i / hw)]! += x!.data[i]! / hw;
      return [y];
    },
    backward([x], [y], [dy]) {
      const hw = x!.data.length / y!.data.length;
      return [tensor(x!.dims, x!.data.map((_, i) => dy!.data[Math.floor(i / hw)]! / hw))];
    },
  },
};
