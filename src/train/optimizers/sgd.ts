/** SGD with momentum, dampening, Nesterov and coupled weight decay, as `torch.optim.SGD`. */
import { z } from 'zod';
import type { ParamEntry } from '../params.ts';
import { SlotOptimizer } from './base.ts';
import type { OptimizerDefinition } from './definition.ts';
import type { Resolved, SgdConfig } from './types.ts';

type Config = Resolved<SgdConfig>;

/** Defaults are PyTorch's, so that a PyTorch recipe ports unchanged (the fixtures check this). */
const schema = z.strictObject({
  kind: z.literal('sgd'),
  momentum: z.number().min(0).default(0),
  dampening: z.number().min(0).max(1).default(0),
  nesterov: z.boolean().default(false),
  weightDecay: z.number().min(0).default(0),
}).refine((c) => !c.nesterov || (c.momentum > 0 && c.dampening === 0), {
  // As PyTorch: Nesterov's look-ahead is defined for undampened momentum only.
  message: 'nesterov needs momentum > 0 and dampening 0', path: ['nesterov'],
}) satisfies z.ZodType<Config>;

class Sgd extends SlotOptimizer<Config> {
  protected update(i: number, param: ParamEntry, g: Float32Array, lr: number, t: number): void {
    const { momentum, dampening, nesterov } = this.config;
    const wd = param.decay ? this.config.weightDecay : 0;
    const p = param.value;
    if (momentum === 0) {
      for (let k = 0; k < p.length; k++) p[k]! -= lr * (g[k]! + wd * p[k]!);
      return;
    }
    const buf = this.slots['momentum']![i]!;
    // PyTorch starts the buffer at the first gradient itself, undampened.
    const keep = t === 1 ? 0 : momentum;
    const add = t === 1 ? 1 : 1 - dampening;
    // The direction is own·d + look·buf: d + μ·buf with Nesterov, buf without (no branch in the loop).
    const own = nesterov ? 1 : 0;
    const look = nesterov ? momentum : 1;
    for (let k = 0; k < p.length; k++) {
      const d = g[k]! + wd * p[k]!;
      const b = Math.fround(keep * buf[k]! + add * d); // the float32 value stored, as PyTorch uses it
      buf[k] = b;
      p[k]! -= lr * (own * d + look * b);
    }
  }
}

export const SGD: OptimizerDefinition<Config> = {
  schema,
  example: '{"kind":"sgd","momentum":0.9,"dampening":0,"nesterov":true,"weightDecay":0.0005}',
  create: (config, params) => new Sgd(config, params, config.momentum === 0 ? [] : ['momentum']),
};
