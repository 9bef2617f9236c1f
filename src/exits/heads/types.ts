/** The contract every exit-head template meets; templates are registered by `kind` in registry.ts. */
import type { z } from 'zod';
import type { GraphBuilder, Tensor } from '../../onnx/builder/index.ts';
import type { Dim } from '../../onnx/shapes/types.ts';
import type { Rng } from '../../data/random.ts';

/** What a head needs besides its config while it is built. */
export interface HeadBuildContext {
  /** Prefix of every node and weight name of this head (`exit0/`), unique per exit. */
  prefix: string;
  /** Number of classes: the width of the logits. */
  classes: number;
  /** Seeded generator for the initial weights. */
  rng: Rng;
}

/**
 * An exit-head architecture. Configs are JSON with a `kind` field; `resolve` fills in the
 * defaults that depend on the feature (widths), so a resolved config states the head exactly.
 */
export interface HeadTemplate<C extends { kind: string }> {
  readonly kind: C['kind'];
  /** One line for listings. */
  readonly description: string;
  /** Validates a config of this kind (strict: unknown fields are refused). */
  readonly schema: z.ZodType<C>;
  /** Why the template cannot read a feature of these dims, or undefined when it can. */
  refuses(feature: readonly Dim[]): string | undefined;
  /** The config with every default filled in for this feature. */
  resolve(config: C, feature: readonly Dim[]): C;
  /**
   * A cheaper config (narrower), or undefined when it cannot shrink further; used to keep the
   * heads within the FLOPs budget.
   */
  shrink(config: C, feature: readonly Dim[]): C | undefined;
  /** Adds the head's nodes reading `feature` and returns its logits `[N, classes]`. */
  build(b: GraphBuilder, feature: Tensor, config: C, ctx: HeadBuildContext): Tensor;
}
