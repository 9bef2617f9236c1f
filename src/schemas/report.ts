/** What `exitwise report --json` prints: where the page went and the headline figures on it. */
import { z } from 'zod';

const fraction = z.number().min(0).max(1);

export const ReportSummarySchema = z.strictObject({
  /** The HTML file written. */
  out: z.string(),
  bytes: z.number().int().positive(),
  bundle: z.string(),
  dataset: z.string(),
  split: z.string(),
  samples: z.number().int().positive(),
  /** The `data-chart` ids of the page's charts, in page order. */
  charts: z.array(z.string()),
  /** The bundle's tuned policy on the split; null when it has none. */
  policy: z.strictObject({
    kind: z.string(),
    accuracy: fraction,
    finalAccuracy: fraction,
    /** Expected FLOPs over the full model's. */
    flopsFraction: z.number().nonnegative(),
    /** Expected ms per sample; null without latency. */
    expectedMs: z.number().nonnegative().nullable(),
  }).nullable(),
  /** Where the latency curve comes from; null when it is left out. */
  latency: z.string().nullable(),
  /** Where the calibrated reliability diagrams' temperatures come from. */
  calibration: z.enum(['manifest', 'fitted-on-val', 'none']),
  seconds: z.number().nonnegative(),
});

export type ReportSummary = z.infer<typeof ReportSummarySchema>;
