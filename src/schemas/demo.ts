/** What `exitwise demo --json` prints: the figures of the whole workflow on one dataset. */
import { z } from 'zod';
import { BenchBatchSchema } from './bench.ts';

const fraction = z.number().min(0).max(1);

export const DemoReportSchema = z.strictObject({
  dataset: z.string(),
  /** The run folder, the bundle inside it and the HTML report. */
  out: z.string(),
  bundle: z.string(),
  report: z.string(),
  /** Per exit on the test split, final last: accuracy, FLOPs fraction of the full model, share of test inputs the tuned policy stops there. */
  exits: z.array(z.strictObject({ index: z.number().int().nonnegative(), accuracy: fraction, flopsFraction: z.number().nonnegative(), share: fraction })),
  /** The tuned policy on the test split. */
  accuracyFull: fraction,
  accuracyAdaptive: fraction,
  /** Expected FLOPs of adaptive inference over the full model's. */
  flopsRatio: z.number().nonnegative(),
  /** Measured wall-clock of the adaptive runtime against the plain model, per batch size. */
  bench: z.array(BenchBatchSchema),
  seconds: z.number().nonnegative(),
});

export type DemoReport = z.infer<typeof DemoReportSchema>;
