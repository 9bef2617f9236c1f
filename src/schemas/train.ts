/**
 * The JSON documents of training, published and validated: a run folder's `run.json`, and what
 * `exitwise train --json` prints.
 */
import { z } from 'zod';
import type { EpochRecord } from '../train/progress.ts';

const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();

export const EpochRecordSchema = z.strictObject({
  epoch: z.number().int().positive(),
  step: count,
  lr: z.number().nonnegative(),
  trainLoss: z.number(),
  trainAccuracy: fraction,
  valLoss: z.number(),
  valAccuracy: fraction,
  /** Validation accuracy of every exit, final last (multi-exit runs only). */
  exitValAccuracy: z.array(fraction).optional(),
  samplesPerSecond: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
}) satisfies z.ZodType<EpochRecord>;

/** The final figures of a finished run. */
export const FinalMetricsSchema = z.strictObject({
  /** On the dataset's test split, with the exported model: reported, never used for a choice. */
  testAccuracy: fraction,
  testLoss: z.number(),
  /** Of the last epoch, on the held-out validation images. */
  valAccuracy: fraction,
  valLoss: z.number(),
  /** Epochs trained. */
  epochs: count,
  /** Wall time of the whole run, across resumes. */
  seconds: z.number().nonnegative(),
  /** Test accuracy of every exit, final last (multi-exit runs only). */
  exitTestAccuracy: z.array(fraction).optional(),
  /** The bundle folder written for deployment (multi-exit runs only). */
  bundle: z.string().optional(),
});

export const RunRecordSchema = z.strictObject({
  format: z.literal('exitwise-run'),
  version: z.literal(1),
  /** `running` while training (or after a kill), `interrupted` after SIGINT, `completed` at the end. */
  status: z.enum(['running', 'interrupted', 'completed']),
  /** The resolved training config (`TrainConfig`). */
  config: z.record(z.string(), z.unknown()),
  history: z.array(EpochRecordSchema),
  result: FinalMetricsSchema.nullable(),
  provenance: z.strictObject({
    exitwiseVersion: z.string(),
    onnxruntime: z.string(),
    node: z.string(),
    dataset: z.strictObject({ name: z.string(), source: z.string(), trainImages: count, valImages: count, testImages: count }),
    /** Trainable parameters of the model. */
    params: count,
    /** ORT intra-op threads of the latest session (null: ORT's default). */
    threads: z.number().int().positive().nullable(),
    startedAt: z.string(),
    updatedAt: z.string(),
    /** Processes that trained this run: 1, plus one per resume. */
    sessions: z.number().int().positive(),
  }),
});

export type RunRecord = z.infer<typeof RunRecordSchema>;
export type FinalMetrics = z.infer<typeof FinalMetricsSchema>;

/** What `exitwise train --json` prints. */
export const TrainReportSchema = FinalMetricsSchema.extend({
  /** The run folder. */
  out: z.string(),
  /** The inference model (weights as initializers, BatchNorm in inference mode). */
  model: z.string(),
  config: z.record(z.string(), z.unknown()),
  history: z.array(EpochRecordSchema),
});

export type TrainReport = z.infer<typeof TrainReportSchema>;
