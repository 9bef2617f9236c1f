/**
 * The early-exit part of a training run's config: where exits go, which heads, how they are
 * trained. Resolved once against the backbone (placements become tensor names, heads are planned
 * within the FLOPs budget, loss weights become numbers) so that `run.json` says exactly what was
 * built, and a resumed run rebuilds the same multi-exit model.
 */
import { z } from 'zod';
import { ExitwiseError } from '../errors.ts';
import type { DistillTeacher } from '../exits/distill-loss.ts';
import { DEFAULT_HEAD, planHeads } from '../exits/heads/plan.ts';
import { type HeadConfig, parseHeadConfig } from '../exits/heads/registry.ts';
import { placeExits, type PlacementSpec } from '../exits/placement.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';

/** How the exits are trained; see `TRAINING_STRATEGIES`. */
export type TrainingStrategy = 'e2e' | 'distill' | 'exits-only';

/** What each strategy does, for `--help` and errors. */
export const TRAINING_STRATEGIES: Readonly<Record<TrainingStrategy, string>> = {
  'e2e': 'backbone and exits end to end with the weighted joint loss Σ w_k·CE_k',
  'distill': 'end to end; each early exit also learns from the final exit\'s softened predictions (α·CE + (1−α)·T²·KL)',
  'exits-only': 'the backbone alone first, then only the exit heads on its frozen features, cached once',
};

/**
 * Defaults, with why:
 * - 3 exits equidistant in FLOPs (at 19%, 50% and 68% of the default ResNet-14): three heads fit
 *   the 5% head budget with a conv each, and every exit costs a session call at batch 1, so more
 *   exits buy little on a 40-MFLOP model.
 * - loss weights `'depth'`: w_k = the exit's FLOPs fraction (final 1). Early heads get gradient
 *   in proportion to the compute behind them, which keeps them from pulling the shared early
 *   layers away from what the final exit needs (the final exit must stay within 0.3 pp of the
 *   same backbone trained alone); `'uniform'` is the plain sum of SDN/BranchyNet.
 * - distillation α = 0.5, T = 3, teacher = the final exit (Phuong & Lampert 2019; Zhang et al.
 *   2019 use similar values).
 */
export const DEFAULT_EXIT_PLACEMENT: PlacementSpec = { by: 'count', count: 3 };
export const DEFAULT_LOSS_WEIGHTS = 'depth';
export const DEFAULT_DISTILLATION = { alpha: 0.5, temperature: 3, teacher: 'final' as DistillTeacher };

/** Named weightings: `uniform` (1 each), `depth` (FLOPs fraction of each exit), `increasing` ((k+1)/K). */
export type LossWeighting = 'uniform' | 'depth' | 'increasing';

export interface ExitsConfigInput {
  placement?: PlacementSpec;
  /** One head for every exit, or one per exit (default: conv-pool-linear, narrowed to the budget). */
  head?: HeadConfig | HeadConfig[];
  strategy?: TrainingStrategy;
  /** A weighting name or one weight per exit, final last. */
  weights?: LossWeighting | number[];
  distill?: { alpha?: number; temperature?: number; teacher?: DistillTeacher };
}

export interface ExitsConfig {
  /** The exit tensors, in order (placement resolved on the backbone). */
  placement: { by: 'tensors'; tensors: string[] };
  /** One resolved head per exit. */
  head: HeadConfig[];
  strategy: TrainingStrategy;
  /** One weight per exit, the final exit last. */
  weights: number[];
  /** Null unless the strategy is `distill`. */
  distill: { alpha: number; temperature: number; teacher: DistillTeacher } | null;
}

const InputSchema = z.strictObject({
  placement: z.unknown().optional(),
  head: z.unknown().optional(),
  strategy: z.enum(['e2e', 'distill', 'exits-only']).optional(),
  weights: z.union([z.enum(['uniform', 'depth', 'increasing']), z.array(z.number().nonnegative()).min(2)]).optional(),
  distill: z.strictObject({
    alpha: z.number().min(0).max(1).optional(),
    temperature: z.number().positive().optional(),
    teacher: z.enum(['final', 'next']).optional(),
  }).optional(),
});

/**
 * Resolves the exits of a run on its backbone; `EXW_USAGE` naming what is wrong (placement and
 * head errors come from placeExits and planHeads with their own codes and hints).
 */
export function resolveExitsConfig(input: ExitsConfigInput, backbone: ModelProto): ExitsConfig {
  const checked = InputSchema.safeParse(input);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `exits.${i.path.join('.')}: ${i.message}`);
    throw new ExitwiseError('EXW_USAGE', `bad exits config: ${issues.join('; ')}`, {
      hint: `For example {"placement":{"by":"count","count":3},"strategy":"distill","weights":"uniform"}; strategies: ${Object.keys(TRAINING_STRATEGIES).join(', ')}.`,
    });
  }
  const placements = placeExits(backbone, input.placement ?? DEFAULT_EXIT_PLACEMENT);
  const requested = input.head === undefined ? DEFAULT_HEAD : Array.isArray(input.head) ? input.head.map(parseHeadConfig) : parseHeadConfig(input.head);
  const plan = planHeads({ model: backbone }, placements, { heads: requested });
  const exits = placements.length + 1;
  const weighting = input.weights ?? DEFAULT_LOSS_WEIGHTS;
  let weights: number[];
  if (Array.isArray(weighting)) {
    if (weighting.length !== exits) {
      throw new ExitwiseError('EXW_USAGE', `${weighting.length} loss weights for ${exits} exits (${placements.length} early exits and the final one)`, { hint: 'Give one weight per exit, the final exit last, or a weighting name: uniform, depth, increasing.' });
    }
    weights = [...weighting];
  } else {
    weights = {
      uniform: () => new Array<number>(exits).fill(1),
      depth: () => [...placements.map((p) => p.fraction), 1],
      increasing: () => Array.from({ length: exits }, (_, k) => (k + 1) / exits),
    }[weighting]();
  }
  const strategy = input.strategy ?? 'e2e';
  return {
    placement: { by: 'tensors', tensors: placements.map((p) => p.tensor) },
    head: plan.heads.map((h) => h.config),
    strategy,
    weights,
    distill: strategy === 'distill' ? { ...DEFAULT_DISTILLATION, ...input.distill } : null,
  };
}
