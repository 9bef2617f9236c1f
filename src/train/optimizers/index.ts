/**
 * The optimizer registry, keyed by `kind`. Optimizers update the store's trainable `Float32Array`s
 * in place, in TypeScript, from the gradients the training graph outputs.
 */
import { resolveKindConfig } from '../config.ts';
import type { ParamEntry, ParamStore } from '../params.ts';
import { ADAMW } from './adamw.ts';
import type { OptimizerDefinition } from './definition.ts';
import { SGD } from './sgd.ts';
import type { Optimizer, OptimizerConfig, OptimizerKind, Resolved } from './types.ts';

export type { AdamWConfig, Optimizer, OptimizerConfig, OptimizerKind, OptimizerState, SgdConfig } from './types.ts';

const OPTIMIZERS: { [K in OptimizerKind]: OptimizerDefinition<Resolved<Extract<OptimizerConfig, { kind: K }>>> } = {
  sgd: SGD,
  adamw: ADAMW,
};

/** Optimizer kinds, in registry order. */
export const OPTIMIZER_KINDS = Object.keys(OPTIMIZERS) as OptimizerKind[];

/** Checks a JSON optimizer config and fills in its defaults; `EXW_USAGE` naming the bad field. */
export function resolveOptimizerConfig(config: unknown): Resolved<OptimizerConfig> {
  return resolveKindConfig<Resolved<OptimizerConfig>>('optimizer', OPTIMIZERS, config);
}

/**
 * An optimizer over the trainable entries of `store`. Weight decay applies to the entries whose
 * `decay` is true.
 *
 * @example
 * const optimizer = createOptimizer({ kind: 'adamw', weightDecay: 0.05 }, store);
 * optimizer.step(grads, 1e-3);
 */
export function createOptimizer(config: OptimizerConfig, store: ParamStore | readonly ParamEntry[]): Optimizer {
  const resolved = resolveOptimizerConfig(config);
  const params = Array.isArray(store) ? store : (store as ParamStore).params();
  return (OPTIMIZERS[resolved.kind] as OptimizerDefinition<Resolved<OptimizerConfig>>).create(resolved, params);
}
