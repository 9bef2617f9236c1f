/**
 * What `exitwise tune --json` prints: the tuned policy written into the bundle, its figures on
 * the validation split, the calibration, and the Learn-then-Test certification when asked for.
 */
import { z } from 'zod';
import { BundlePolicySchema } from './bundle.ts';
import { AdaptiveFiguresSchema } from './eval.ts';

const count = z.number().int().nonnegative();
const fraction = z.number().min(0).max(1);

export const TuneTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('accuracy-drop'), maxDropPp: z.number().nonnegative(), minimise: z.enum(['flops', 'latency']).optional() }),
  z.strictObject({ kind: z.literal('flops-budget'), flopsPerSample: z.number().nonnegative() }),
  z.strictObject({ kind: z.literal('latency-budget'), msPerSample: z.number().nonnegative() }),
]);

export const CertificationSchema = z.strictObject({
  delta: z.number().gt(0).lt(1),
  maxDropPp: z.number().nonnegative(),
  certified: z.boolean(),
  reason: z.string().optional(),
  /** Validation samples that fitted the temperatures, the policy and the candidate thresholds. */
  tuneSamples: count,
  /** Held-out validation samples the candidates were certified on. */
  certifySamples: count,
  candidates: count,
  /** Losses (early exit wrong, final right) of the certified policy on the certification samples. */
  losses: count.optional(),
  /** (1 − δ) upper bound on its accuracy drop, percentage points. */
  upperBoundPp: z.number().nonnegative().optional(),
});

export const TuneReportSchema = z.strictObject({
  bundle: z.string(),
  dataset: z.string(),
  /** Always `val`: thresholds are never tuned on test. */
  split: z.literal('val'),
  /** The tuned policy, as written into the manifest. */
  policy: BundlePolicySchema,
  /** Its per-exit thresholds (null entries: exit disabled); null for patience, which has none. */
  thresholds: z.array(z.number().nullable()).nullable(),
  /** The target in absolute units (FLOPs per sample, ms per sample or pp). */
  target: TuneTargetSchema,
  /** For FLOPs budgets: the budget over the full model's FLOPs. */
  budgetFraction: z.number().nonnegative().optional(),
  temperatures: z.array(z.number().positive()),
  calibration: z.array(z.strictObject({ exit: count, temperature: z.number().positive(), eceBefore: fraction, eceAfter: fraction })),
  /** The tuned policy on every validation sample. */
  val: AdaptiveFiguresSchema,
  certification: CertificationSchema.nullable(),
  /** The latency profile used (a key of manifest.profiles), or null. */
  profile: z.string().nullable(),
  /** FLOPs per sample of the backbone alone. */
  fullModelFlops: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
});

export type TuneReport = z.output<typeof TuneReportSchema>;
