/** The JSON document `exitwise run --json` prints: a published, validated contract. */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const flops = z.number().nonnegative();

/** One input's answer. */
export const RunResultSchema = z.strictObject({
  /** The file it came from. */
  file: z.string(),
  /** Its index inside an IDX array; null for a PNG. */
  index: count.nullable(),
  /** Predicted class index, and its name from the manifest. */
  prediction: count,
  class: z.string(),
  /** The exit that answered. */
  exit: count,
  /** Tempered max softmax probability at that exit. */
  confidence: z.number().min(0).max(1),
  /** FLOPs spent on this input: stages run plus exit heads run. */
  flops,
  /** `flops` over the backbone alone (every stage and the final head): above 1 when it ran every head. */
  flopsFraction: flops,
});

export const RunReportSchema = z.strictObject({
  /** The bundle folder. */
  bundle: z.string(),
  backend: z.enum(['node', 'web']),
  /** The policy deciding the exits (its JSON form). */
  policy: z.looseObject({ kind: z.string() }),
  /** FLOPs per input of the backbone alone: what every input would cost without early exits. */
  fullFlops: flops,
  results: z.array(RunResultSchema),
  summary: z.strictObject({
    count,
    meanFlops: flops,
    /** `meanFlops / fullFlops`. */
    flopsFraction: flops,
    /** Inputs answered at each exit, final exit last. */
    exitCounts: z.array(count),
    /** Wall-clock milliseconds of the runtime calls (files read and sessions opened excluded). */
    ms: z.number().nonnegative(),
  }),
});

export type RunReport = z.infer<typeof RunReportSchema>;
export type RunResult = z.infer<typeof RunResultSchema>;
