/**
 * `conv-pool-linear`: 3×3 conv → BatchNorm → ReLU → global average pool → linear. The conv lets
 * an early exit re-mix features that the backbone has not yet made linearly separable; stride 2
 * by default quarters its cost, which dominates the head's.
 */
import { z } from 'zod';
import type { Dim } from '../../onnx/shapes/types.ts';
import { ones, reluWeight, zeros } from './init.ts';
import { classifier, poolToVector } from './pool-linear.ts';
import type { HeadTemplate } from './types.ts';

/** Narrowest conv the budget may shrink a head to; below it the head falls back to `pool-linear`. */
export const MIN_CONV_CHANNELS = 4;
/** Default stride: halves the resolution, so the conv costs a quarter of a stride-1 conv. */
const DEFAULT_STRIDE = 2;
/** PyTorch's BatchNorm2d epsilon. */
const BN_EPSILON = 1e-5;

export const ConvPoolLinearSchema = z.object({
  kind: z.literal('conv-pool-linear'),
  /** Conv output channels (default: the feature's channels). */
  channels: z.number().int().positive().optional(),
  /** Conv stride (default 2). */
  stride: z.number().int().positive().optional(),
}).strict();
export type ConvPoolLinearConfig = z.infer<typeof ConvPoolLinearSchema>;

export const convPoolLinear: HeadTemplate<ConvPoolLinearConfig> = {
  kind: 'conv-pool-linear',
  description: '3×3 conv (stride 2) → BatchNorm → ReLU → global average pool → linear',
  schema: ConvPoolLinearSchema,
  refuses(feature: readonly Dim[]) {
    if (feature.length !== 4) return `it reads [N, C, H, W] features, not rank ${feature.length}`;
    return feature.slice(1).every((d) => typeof d === 'number') ? undefined : `the feature's dims [${feature.join(', ')}] are not all numbers past the batch`;
  },
  resolve: (config, feature) => ({ kind: config.kind, channels: config.channels ?? (feature[1] as number), stride: config.stride ?? DEFAULT_STRIDE }),
  shrink(config, feature) {
    const { channels } = this.resolve(config, feature);
    const half = Math.floor(channels! / 2);
    return half >= MIN_CONV_CHANNELS ? { ...config, channels: half } : undefined;
  },
  build(b, feature, config, ctx) {
    const { channels, stride } = this.resolve(config, feature.dims);
    const p = ctx.prefix;
    const inChannels = feature.dims[1] as number;
    const w = reluWeight(b, `${p}conv/weight`, [channels!, inChannels, 3, 3], ctx.rng);
    const conv = b.conv(feature, w, undefined, { pads: [1, 1, 1, 1], strides: [stride!, stride!], name: `${p}conv` }); // [N, channels, ⌈H/s⌉, ⌈W/s⌉]
    const bn = b.batchNorm(conv, ones(b, `${p}bn/scale`, channels!), zeros(b, `${p}bn/bias`, channels!),
      zeros(b, `${p}bn/running_mean`, channels!), ones(b, `${p}bn/running_var`, channels!), { epsilon: BN_EPSILON, name: `${p}bn` });
    const act = b.relu(bn, { name: `${p}relu` });
    return classifier(b, poolToVector(b, act, p), p, ctx.classes, ctx.rng);
  },
};
