/**
 * What `exitwise attach --json` prints: where the exits went, their heads and what training made
 * of them, and the bundle written. Fractions are in [0, 1]. The per-epoch record of a head is
 * shared with `exitwise personalise`.
 */
import { z } from 'zod';
import { HeadConfigSchema } from '../exits/heads/registry.ts';
import type { HeadsEpochRecord } from '../train/heads-only/progress.ts';
import { BundleSplitSchema, PreprocessingSchema } from './bundle.ts';

const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();

/** One epoch of one head, accuracies against its training targets (labels or pseudo-labels). */
export const HeadsEpochRecordSchema = z.strictObject({
  epoch: z.number().int().positive(),
  loss: z.number(),
  trainAccuracy: fraction,
  valAccuracy: fraction,
  lr: z.number().nonnegative(),
  samplesPerSecond: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
}) satisfies z.ZodType<HeadsEpochRecord>;

/** How the heads were trained. */
export const HeadsTrainingSchema = z.strictObject({
  targets: z.enum(['labels', 'pseudo']),
  distill: z.strictObject({ alpha: fraction, temperature: z.number().positive(), teacher: z.enum(['final', 'next']) }).nullable(),
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  lr: z.number().positive(),
  optimizer: z.string(),
  trainImages: count,
  valImages: count,
  /** Backbone passes that cached the exits' features. */
  passes: z.number().int().positive(),
  cacheSeconds: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
});

export const AttachExitSchema = z.strictObject({
  index: count,
  /** The tensor the exit reads (for the final exit: where the backbone's own classifier starts). */
  tensor: z.string(),
  /** Backbone FLOPs up to the tensor over the backbone's total (the placement's fraction). */
  placementFraction: fraction,
  /** Per-sample FLOPs of leaving here: stages 0..k and this exit's head. */
  cumulativeFlops: z.number().nonnegative(),
  /** `cumulativeFlops` over the final exit's. */
  flopsFraction: z.number().nonnegative(),
  /** The head, resolved; null for the final exit (the backbone's own classifier, untouched). */
  head: HeadConfigSchema.nullable(),
  headFlops: z.number().nonnegative(),
  /** On the validation images, against their labels. */
  valAccuracy: fraction,
  /** Fraction of validation images where it predicts what the final exit predicts. */
  valAgreement: fraction,
  /** Per epoch; empty for the final exit. */
  history: z.array(HeadsEpochRecordSchema),
});

export const AttachReportSchema = z.strictObject({
  /** The bundle folder written. */
  bundle: z.string(),
  /** The imported model. */
  model: z.string(),
  dataset: z.string(),
  /** How raw pixels became the model's input, as the manifest records it. */
  preprocessing: PreprocessingSchema,
  split: BundleSplitSchema,
  heads: z.strictObject({
    /** All heads' FLOPs over the backbone's. */
    flopsFraction: z.number().nonnegative(),
    budget: z.number().nonnegative(),
    withinBudget: z.boolean(),
    /** What the plan changed from the heads asked for, and why. */
    adjustments: z.array(z.string()),
  }),
  /** Every exit, the final one last. */
  exits: z.array(AttachExitSchema).min(2),
  training: HeadsTrainingSchema,
});

export type AttachReport = z.infer<typeof AttachReportSchema>;
export type HeadsTraining = z.infer<typeof HeadsTrainingSchema>;
