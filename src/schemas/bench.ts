/**
 * What `exitwise bench --json` prints: wall-clock of adaptive inference against the plain model
 * and a naive batched early exit, next to the FLOPs-ideal speedup (DESIGN.md principle 4).
 * Times are medians over interleaved rounds, in milliseconds per input.
 */
import { z } from 'zod';
import { PolicyJsonSchema } from './policy.ts';

const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();

/** One batch size. */
export const BenchBatchSchema = z.strictObject({
  batch: z.number().int().positive(),
  /** The plain single-exit model (the backbone as one graph, one ORT session). */
  fullMs: ms,
  /** The adaptive runtime with the bundle's policy (batch compaction). */
  adaptiveMs: ms,
  /** Naive batched early exit: every stage and head runs on the whole batch until all inputs have exited. */
  paddedMs: ms,
  /** `fullMs / adaptiveMs`. */
  speedup: z.number().nonnegative(),
  /** Full-model FLOPs over `expectedFlops`. */
  idealSpeedup: z.number().nonnegative(),
  /** `speedup / idealSpeedup`: the share of the FLOPs saving that became wall-clock. */
  efficiency: z.number().nonnegative(),
  /** `paddedMs / adaptiveMs`: what batch compaction buys. */
  speedupVsPadded: z.number().nonnegative(),
  accuracyFull: fraction,
  accuracyAdaptive: fraction,
  /** Inputs that stopped at each exit, final exit last. */
  exitHistogram: z.array(count),
  /**
   * Mean FLOPs per input of the adaptive run at the inputs' actual exits: every stage and head it
   * ran (the manifest's cumulative FLOPs, less heads of exits the policy disables).
   */
  expectedFlops: z.number().nonnegative(),
});

/** The worst case: the adaptive runtime with a policy that lets nothing exit early, against the plain model. */
export const BenchNoExitSchema = z.strictObject({
  batch: z.number().int().positive(),
  fullMs: ms,
  adaptiveMs: ms,
  /** `adaptiveMs / fullMs` (the goal is ≤ 1.10). */
  ratio: z.number().nonnegative(),
});

export const BenchReportSchema = z.strictObject({
  bundle: z.string(),
  dataset: z.string(),
  split: z.enum(['train', 'val', 'test']),
  /** Inputs measured (the first `--limit` of the split, or all). */
  count: z.number().int().positive(),
  /** ORT intra-op threads of every session (null: ORT's default). */
  threads: z.number().int().positive().nullable(),
  rounds: z.number().int().positive(),
  /** The policy of the adaptive and padded runs. */
  policy: PolicyJsonSchema,
  /** How the adaptive runtime ran it: `compiled` (one graph, one ORT call per batch) or `segments` (one call per exit). */
  adaptiveRuntime: z.enum(['compiled', 'segments']),
  /** FLOPs per input of the plain model. */
  fullFlops: z.number().nonnegative(),
  batches: z.array(BenchBatchSchema).min(1),
  noExit: z.array(BenchNoExitSchema).min(1),
});

export type BenchReport = z.infer<typeof BenchReportSchema>;
export type BenchBatch = z.infer<typeof BenchBatchSchema>;
export type BenchNoExit = z.infer<typeof BenchNoExitSchema>;
