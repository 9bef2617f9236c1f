/** What `exitwise export --json` prints: the subnet written and its cost next to the full model's. */
import { z } from 'zod';

const count = z.number().int().nonnegative();

/** Params and per-sample FLOPs of one model. */
export const ModelCostSchema = z.strictObject({ params: count, flops: z.number().nonnegative() });

export const ExportReportSchema = z.strictObject({
  /** The bundle folder exported from. */
  bundle: z.string(),
  /** The ONNX file written. */
  out: z.string(),
  /** The exit the subnet ends at (0-based). */
  exit: count,
  /** Number of exits of the bundle (the last is the full model). */
  exits: z.number().int().positive(),
  /** The subnet's input and output tensor names. */
  input: z.string(),
  output: z.string(),
  subnet: ModelCostSchema,
  /** The backbone alone: the subnet at the last exit. */
  full: ModelCostSchema,
  /** `subnet.flops / full.flops`. */
  flopsFraction: z.number().nonnegative(),
});

export type ExportReport = z.infer<typeof ExportReportSchema>;
