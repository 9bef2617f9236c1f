/** The reference ops, keyed by ONNX op type. */
import { convOps } from './conv.ts';
import { dropoutOps } from './dropout.ts';
import { elementwiseOps } from './elementwise.ts';
import { linearOps } from './linear.ts';
import { layerNormOps, normalizationOps } from './normalization.ts';
import type { RefOp } from './op.ts';
import { poolOps } from './pool.ts';
import { reduceOps } from './reduce.ts';
import { shapeOps } from './shape.ts';
import { softmaxOps } from './softmax.ts';

export const REFERENCE_OPS: ReadonlyMap<string, RefOp> = new Map(Object.entries({
  ...convOps, ...dropoutOps, ...elementwiseOps, ...linearOps, ...normalizationOps, ...layerNormOps, ...poolOps, ...reduceOps, ...shapeOps, ...softmaxOps,
}));
