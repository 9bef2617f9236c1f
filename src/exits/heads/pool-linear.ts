/** `pool-linear`: global average pool → flatten → linear. The cheapest head: C + 2·C·classes FLOPs. */
import { z } from 'zod';
import type { Rng } from '../../data/random.ts';
import type { GraphBuilder, Tensor } from '../../onnx/builder/index.ts';
import type { Dim } from '../../onnx/shapes/types.ts';
import { linearLayer } from './init.ts';
import type { HeadTemplate } from './types.ts';

export const PoolLinearSchema = z.object({ kind: z.literal('pool-linear') }).strict();
export type PoolLinearConfig = z.infer<typeof PoolLinearSchema>;

/** Why a `[N, C, H, W]` or `[N, D]` feature cannot be pooled to a vector, or undefined. */
export function refusesVector(feature: readonly Dim[]): string | undefined {
  if (feature.length !== 2 && feature.length !== 4) return `it reads [N, C, H, W] or [N, D] features, not rank ${feature.length}`;
  if (typeof feature[1] !== 'number') return `the feature's channel dim is "${feature[1]}", not a number`;
  return undefined;
}

/** `[N, C, H, W]` → global average pool and flatten → `[N, C]`; `[N, D]` passes through. */
export function poolToVector(b: GraphBuilder, feature: Tensor, prefix: string): Tensor {
  if (feature.dims.length === 2) return feature;
  const pooled = b.globalAveragePool(feature, { name: `${prefix}pool` }); // [N, C, 1, 1]
  return b.flatten(pooled, 1, { name: `${prefix}flatten` }); // [N, C]
}

/** A linear classifier `[N, D]` → `[N, classes]` whose output is named `<prefix>logits`. */
export function classifier(b: GraphBuilder, x: Tensor, prefix: string, classes: number, rng: Rng): Tensor {
  const { weight, bias } = linearLayer(b, `${prefix}fc/`, classes, x.dims[1] as number, rng);
  return b.gemm(x, weight, bias, { transB: true, name: `${prefix}logits` });
}

export const poolLinear: HeadTemplate<PoolLinearConfig> = {
  kind: 'pool-linear',
  description: 'global average pool → linear',
  schema: PoolLinearSchema,
  refuses: refusesVector,
  resolve: (config) => config,
  shrink: () => undefined,
  build: (b, feature, _config, ctx) => classifier(b, poolToVector(b, feature, ctx.prefix), ctx.prefix, ctx.classes, ctx.rng),
};
