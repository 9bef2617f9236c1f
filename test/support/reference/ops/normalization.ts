/**
 * Reference BatchNormalization: batch statistics (biased variance, as in the normalization
 * itself) in training mode, running statistics otherwise; direct-loop backward.
 */
import { readFloat } from '../../../../src/autodiff/attributes.ts';
import { type Tensor64, tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

interface Stats {
  mean: number[];
  invStd: number[];
  /** Channel of each flat index. */
  channel: (i: number) => number;
  /** Elements per channel. */
  count: number;
}

/** Per-channel batch statistics, or the running ones outside training. */
export function channelStats(x: Tensor64, runMean: Tensor64, runVar: Tensor64, eps: number, training: boolean): Stats {
  const C = x.dims[1]!;
  const inner = x.dims.slice(2).reduce((p, d) => p * d, 1);
  const channel = (i: number) => Math.floor(i / inner) % C;
  const count = x.data.length / C;
  const mean = new Array<number>(C).fill(0);
  const variance = new Array<number>(C).fill(0);
  if (training) {
    x.data.forEach((v, i) => { mean[channel(i)]! += v / count; });
    x.data.forEach((v, i) => { variance[channel(i)]! += (v - mean[channel(i)]!) ** 2 / count; });
  } else {
    for (let c = 0; c < C; c++) [mean[c], variance[c]] = [runMean.data[c]!, runVar.data[c]!];
  }
  return { mean, invStd: variance.map((v) => 1 / Math.sqrt(v + eps)), channel, count };
}

export const normalizationOps: Record<string, RefOp> = {
  BatchNormalization: {
    forward([x, scale, bias, runMean, runVar], { node, training }) {
      const s = channelStats(x!, runMean!, runVar!, readFloat(node, 'epsilon', 1e-5), training);
      return [tensor(x!.dims, x!.data.map((v, i) => {
        const c = s.channel(i);
        return scale!.data[c]! * (v - s.mean[c]!) * s.invStd[c]! + bias!.data[c]!;
      }))];
    },
    backward([x, scale, bias, runMean, runVar], _y, [dy], { node, training }) {
      const s = channelStats(x!, runMean!, runVar!, readFloat(node, 'epsilon', 1e-5), training);
      const C = scale!.data.length;
      const xhat = x!.data.map((v, i) => (v - s.mean[s.channel(i)]!) * s.invStd[s.channel(i)]!);
      const [dscale, dbias] = [tensor([C]), tensor(bias!.dims)];
      dy!.data.forEach((g, i) => {
        dscale.data[s.channel(i)]! += g * xhat[i]!;
        dbias.data[s.channel(i)]! += g;
      });
      const dx = tensor(x!.dims, dy!.data.map((g, i) => {
        const c = s.channel(i);
        const k = scale!.data[c]! * s.invStd[c]!;
        // With batch statistics the mean and variance depend on x too.
        return training ? k * (g - dbias.data[c]! / s.count - xhat[i]! * dscale.data[c]! / s.count) : k * g;
      }));
      return [dx, dscale, dbias, undefined, undefined];
    },
  },
};
