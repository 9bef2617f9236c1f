/** What an optimizer kind provides to the registry. */
import type { KindSchema } from '../config.ts';
import type { ParamEntry } from '../params.ts';
import type { Optimizer } from './types.ts';

export interface OptimizerDefinition<C> extends KindSchema<C> {
  /** An optimizer over the trainable entries of `params`. */
  create(config: C, params: readonly ParamEntry[]): Optimizer;
}
