/** AdamW: Adam with decoupled weight decay, as `torch.optim.AdamW` (without AMSGrad). */
import { z } from 'zod';
import type { ParamEntry } from '../params.ts';
import { SlotOptimizer } from './base.ts';
import type { OptimizerDefinition } from './definition.ts';
import type { AdamWConfig, Resolved } from './types.ts';

type Config = Resolved<AdamWConfig>;

/** Defaults are PyTorch's, so that a PyTorch recipe ports unchanged (the fixtures check this). */
const schema = z.strictObject({
  kind: z.literal('adamw'),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0.01),
}) satisfies z.ZodType<Config>;

class AdamW extends SlotOptimizer<Config> {
  protected update(i: number, param: ParamEntry, g: Float32Array, lr: number, t: number): void {
    const { beta1, beta2, eps } = this.config;
    const p = param.value;
    const m = this.slots['expAvg']![i]!;
    const v = this.slots['expAvgSq']![i]!;
    const shrink = 1 - lr * (param.decay ? this.config.weightDecay : 0);
    const stepSize = lr / (1 - beta1 ** t);
    const correction2 = Math.sqrt(1 - beta2 ** t);
    const fresh1 = 1 - beta1;
    const fresh2 = 1 - beta2;
    for (let k = 0; k < p.length; k++) {
      const gk = g[k]!;
      // The moments as stored (float32), as PyTorch uses them; kept in locals, not read back.
      const mk = Math.fround(beta1 * m[k]! + fresh1 * gk);
      const vk = Math.fround(beta2 * v[k]! + fresh2 * gk * gk);
      m[k] = mk;
      v[k] = vk;
      p[k] = p[k]! * shrink - (stepSize * mk) / (Math.sqrt(vk) / correction2 + eps);
    }
  }
}

export const ADAMW: OptimizerDefinition<Config> = {
  schema,
  example: '{"kind":"adamw","beta1":0.9,"beta2":0.999,"eps":1e-8,"weightDecay":0.01}',
  create: (config, params) => new AdamW(config, params, ['expAvg', 'expAvgSq']),
};
