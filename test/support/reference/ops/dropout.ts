/** Reference Dropout: in training mode it applies the mask a test supplies (ORT's own, fetched from the run). */
import { tensor } from '../tensor.ts';
import type { RefOp } from './op.ts';

const DEFAULT_DROPOUT_RATIO = 0.5;

export const dropoutOps: Record<string, RefOp> = {
  Dropout: {
    forward([x, ratio], { node, training, masks }) {
      const mask = masks.get(node.output[0]!);
      if (!training || mask === undefined) return [tensor(x!.dims, x!.data)];
      const keep = 1 - (ratio?.data[0] ?? DEFAULT_DROPOUT_RATIO);
      return [tensor(x!.dims, x!.data.map((v, i) => (v * mask.data[i]!) / keep))];
    },
    backward([x, ratio], _y, [dy], { node, training, masks }) {
      const mask = masks.get(node.output[0]!);
      if (!training || mask === undefined) return [dy];
      const keep = 1 - (ratio?.data[0] ?? DEFAULT_DROPOUT_RATIO);
      return [tensor(x!.dims, dy!.data.map((g, i) => (g * mask.data[i]!) / keep))];
    },
  },
};
