/**
 * What `exitwise personalise --json` prints: every exit before and after personalisation, on the
 * user's held-out images and (for a user simulated from a dataset) on the test images of the
 * user's classes, with the cost of stopping at each exit. Fractions are in [0, 1].
 */
import { z } from 'zod';
import { HeadsEpochRecordSchema, HeadsTrainingSchema } from './attach.ts';

const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();

/** One exit on one set of images. */
export const ExitScoreSchema = z.strictObject({
  /** Against the true labels; null when the images have none (a real user's). */
  accuracy: fraction.nullable(),
  /** Fraction of images where the exit predicts what the final exit predicts. */
  agreement: fraction,
});

export const BeforeAfterSchema = z.strictObject({ before: ExitScoreSchema, after: ExitScoreSchema });

export const PersonaliseExitSchema = z.strictObject({
  index: count,
  /** Per-sample FLOPs of leaving here (stages 0..k and this exit's head). */
  cumulativeFlops: z.number().nonnegative(),
  /** `cumulativeFlops` over the final exit's. */
  flopsFraction: z.number().nonnegative(),
  /** On the user's held-out images. */
  userVal: BeforeAfterSchema,
  /** On the test images of the user's classes; null without --dataset. */
  test: BeforeAfterSchema.nullable(),
  /** Per epoch of head training; empty for the final exit (never trained). */
  history: z.array(HeadsEpochRecordSchema),
});

export const PersonaliseReportSchema = z.strictObject({
  /** The bundle personalised (unchanged). */
  bundle: z.string(),
  /** The personalised bundle written. */
  out: z.string(),
  user: z.strictObject({
    /** `dataset`: simulated from a dataset's classes; `images`: a folder of PNGs or an IDX file. */
    source: z.enum(['dataset', 'images']),
    /** The dataset and class indices (source `dataset`), or the path (source `images`). */
    dataset: z.string().nullable(),
    classes: z.array(count).nullable(),
    path: z.string().nullable(),
    images: count,
    trainImages: count,
    valImages: count,
  }),
  /** Test images of the user's classes (null without --dataset). */
  testImages: count.nullable(),
  /** Every exit, the final one last. */
  exits: z.array(PersonaliseExitSchema).min(2),
  training: HeadsTrainingSchema,
});

export type PersonaliseReport = z.infer<typeof PersonaliseReportSchema>;
