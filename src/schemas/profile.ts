/**
 * A measured latency profile of a bundle on one device, stored in `manifest.profiles[name]`
 * (e.g. `cpu-2t-b1`) and read by latency-targeted tuning.
 */
import { z } from 'zod';

const ms = z.number().nonnegative();
const positiveInt = z.number().int().positive();

export const LatencyProfileSchema = z.strictObject({
  kind: z.literal('latency'),
  /** The ONNX Runtime package that ran the segments. */
  backend: z.enum(['node', 'web']),
  /** ORT intra-op threads. */
  threads: positiveInt,
  /** Samples per run: the times are per sample at this batch size. */
  batch: positiveInt,
  /** `[K]` median milliseconds per sample of stage k. */
  stageMs: z.array(ms).min(1),
  /** `[K]` median milliseconds per sample of exit head k. */
  exitMs: z.array(ms).min(1),
  /** Untimed runs of each segment before measuring. */
  warmup: z.number().int().nonnegative(),
  /** Timed runs of each segment; the median is kept. */
  repeats: positiveInt,
  /** The CPU model, as the OS names it. */
  cpu: z.string(),
  /** ISO 8601 date-time of the measurement. */
  measuredAt: z.iso.datetime({ offset: true }),
});

export type LatencyProfile = z.output<typeof LatencyProfileSchema>;
