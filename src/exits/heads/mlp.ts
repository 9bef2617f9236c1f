/** `mlp`: global average pool → linear → ReLU → linear: a nonlinear head for the price of a vector. */
import { z } from 'zod';
import { reluWeight, zeros } from './init.ts';
import { classifier, poolToVector, refusesVector } from './pool-linear.ts';
import type { HeadTemplate } from './types.ts';

/** Narrowest hidden layer the budget may shrink a head to; below it the head falls back to `pool-linear`. */
export const MIN_MLP_HIDDEN = 8;

export const MlpSchema = z.object({
  kind: z.literal('mlp'),
  /** Hidden units (default: the feature's channels). */
  hidden: z.number().int().positive().optional(),
}).strict();
export type MlpConfig = z.infer<typeof MlpSchema>;

export const mlp: HeadTemplate<MlpConfig> = {
  kind: 'mlp',
  description: 'global average pool → linear → ReLU → linear',
  schema: MlpSchema,
  refuses: refusesVector,
  resolve: (config, feature) => ({ kind: config.kind, hidden: config.hidden ?? (feature[1] as number) }),
  shrink(config, feature) {
    const half = Math.floor(this.resolve(config, feature).hidden! / 2);
    return half >= MIN_MLP_HIDDEN ? { ...config, hidden: half } : undefined;
  },
  build(b, feature, config, ctx) {
    const { hidden } = this.resolve(config, feature.dims);
    const p = ctx.prefix;
    const x = poolToVector(b, feature, p); // [N, C]
    const w = reluWeight(b, `${p}hidden/weight`, [hidden!, x.dims[1] as number], ctx.rng);
    const h = b.relu(b.gemm(x, w, zeros(b, `${p}hidden/bias`, hidden!), { transB: true, name: `${p}hidden` }), { name: `${p}hidden_relu` }); // [N, hidden]
    return classifier(b, h, p, ctx.classes, ctx.rng);
  },
};
