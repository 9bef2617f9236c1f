/**
 * What `exitwise eval --json` prints: every exit's figures on one split, the oracle and
 * overthinking, and the bundle policy's adaptive figures. Fractions are in [0, 1].
 */
import { z } from 'zod';
import type { ExitFigures } from '../analysis/exit-analysis.ts';
import { BundlePolicySchema } from './bundle.ts';

const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();
const flops = z.number().nonnegative();

export const ExitFiguresSchema = z.strictObject({
  index: count,
  accuracy: fraction,
  /** FLOPs per sample of stopping here: stages 0..k and every head 0..k. */
  cumulativeFlops: flops,
  /** Over the full model's FLOPs (the backbone alone); above 1 at the final exit by the early heads' cost. */
  flopsFraction: z.number().nonnegative(),
  /** The bundle's calibration temperature. */
  temperature: z.number().positive(),
  /** Expected calibration error of the raw logits (15 bins). */
  ece: fraction,
  /** ECE with the bundle's temperature. */
  eceCalibrated: fraction,
}) satisfies z.ZodType<ExitFigures>;

export const AdaptiveFiguresSchema = z.strictObject({
  samples: count,
  accuracy: fraction,
  finalAccuracy: fraction,
  /** Percentage points lost against the final exit (negative: gained). */
  dropPp: z.number(),
  expectedFlops: flops,
  /** Over the full model's FLOPs. */
  flopsFraction: z.number().nonnegative(),
  /** From a latency profile, when one was used. */
  expectedMs: z.number().nonnegative().optional(),
  /** Samples stopping at each exit. */
  exitCounts: z.array(count),
  exitFractions: z.array(fraction),
});

export const EvalReportSchema = z.strictObject({
  bundle: z.string(),
  dataset: z.string(),
  split: z.enum(['train', 'val', 'test']),
  samples: count,
  /** FLOPs per sample of the backbone alone: the baseline of every FLOPs fraction. */
  fullModelFlops: flops,
  /** Final exit last. */
  exits: z.array(ExitFiguresSchema).min(1),
  /** Fraction of samples some exit gets right. */
  oracleAccuracy: fraction,
  /** FLOPs of stopping every sample at its first right exit (or the final one), over the full model's. */
  oracleFlopsFraction: z.number().nonnegative(),
  overthinking: z.strictObject({
    /** Some non-final exit was right. */
    wasteful: fraction,
    /** Some non-final exit was right and the final exit is wrong. */
    destructive: fraction,
  }),
  /** The bundle policy on this split; null when the bundle has no policy. */
  adaptive: AdaptiveFiguresSchema.extend({ policy: BundlePolicySchema }).nullable(),
  /** Wall time of the evaluation. */
  seconds: z.number().nonnegative(),
});

export type EvalReport = z.output<typeof EvalReportSchema>;
