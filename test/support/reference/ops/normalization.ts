/**
 * Reference BatchNormalization: batch statistics (biased variance, as in the normalization
 * itself) in training mode, running statistics otherwise; LayerNormalization; direct-loop backward.
 */
import { readFloat, readInt } from '../../../../src/autodiff/attributes.ts';
import { broadcastIndex, sizeOf, type Tensor64, tensor } from '../tensor.ts';
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

/** LayerNormalization over the axes from `axis` on; outputs Y, Mean and InvStdDev (kept dims). */
export const layerNormOps: Record<string, RefOp> = {
  LayerNormalization: {
    forward([x, scale, bias], { node }) {
      const { rows, size, scaleAt, statDims } = lnLayout(x!, scale!, node);
      const y = tensor(x!.dims);
      const [mean, invStd] = [tensor(statDims), tensor(statDims)];
      for (let r = 0; r < rows; r++) {
        const row = x!.data.subarray(r * size, (r + 1) * size);
        const m = row.reduce((s, v) => s + v, 0) / size;
        const inv = 1 / Math.sqrt(row.reduce((s, v) => s + (v - m) ** 2, 0) / size + readFloat(node, 'epsilon', 1e-5));
        [mean.data[r], invStd.data[r]] = [m, inv];
        row.forEach((v, j) => { y.data[r * size + j] = (v - m) * inv * scale!.data[scaleAt[j]!]! + (bias?.data[scaleAt[j]!] ?? 0); });
      }
      return [y, mean, invStd];
    },
    backward([x, scale, bias], [, mean, invStd], [dy], { node }) {
      const { rows, size, scaleAt } = lnLayout(x!, scale!, node);
      const [dx, dscale] = [tensor(x!.dims), tensor(scale!.dims)];
      const dbias = bias === undefined ? undefined : tensor(bias.dims);
      for (let r = 0; r < rows; r++) {
        const [m, inv] = [mean!.data[r]!, invStd!.data[r]!];
        const at = (j: number) => r * size + j;
        const xhat = (j: number) => (x!.data[at(j)]! - m) * inv;
        const g = (j: number) => dy!.data[at(j)]! * scale!.data[scaleAt[j]!]!;
        let [meanG, meanGX] = [0, 0];
        for (let j = 0; j < size; j++) { meanG += g(j) / size; meanGX += (g(j) * xhat(j)) / size; }
        for (let j = 0; j < size; j++) {
          dx.data[at(j)] = inv * (g(j) - meanG - xhat(j) * meanGX);
          dscale.data[scaleAt[j]!]! += dy!.data[at(j)]! * xhat(j);
          if (dbias !== undefined) dbias.data[scaleAt[j]!]! += dy!.data[at(j)]!;
        }
      }
      return [dx, dscale, dbias];
    },
  },
};

function lnLayout(x: Tensor64, scale: Tensor64, node: Parameters<RefOp['forward']>[1]['node']) {
  const rank = x.dims.length;
  const a = readInt(node, 'axis', -1) < 0 ? readInt(node, 'axis', -1) + rank : readInt(node, 'axis', -1);
  const normDims = x.dims.slice(a);
  const size = sizeOf(normDims);
  return {
    rows: x.data.length / size, size, scaleAt: broadcastIndex(normDims, scale.dims),
    statDims: x.dims.map((d, i) => (i < a ? d : 1)),
  };
}
