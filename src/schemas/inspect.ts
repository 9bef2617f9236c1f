/** The JSON document `exitwise inspect --json` prints: a published, validated contract. */
import { z } from 'zod';

/** A dimension: a size, or the name of a symbolic dimension such as `batch`. */
export const DimSchema = z.union([z.number().int().nonnegative(), z.string()]);

export const TensorInfoSchema = z.object({
  name: z.string(),
  /** ONNX element type name: float32, int64, … ('unknown' when not a tensor or not inferable). */
  dataType: z.string(),
  /** null when the shape could not be inferred. */
  shape: z.array(DimSchema).nullable(),
});

export const CutPointSchema = z.object({
  tensor: z.string(),
  /** FLOPs spent computing this tensor, as a fraction of the whole model's FLOPs (0..1). */
  flopsFraction: z.number().min(0).max(1),
  shape: z.array(DimSchema).nullable(),
});

export const InspectReportSchema = z.object({
  model: z.string(),
  producer: z.string(),
  irVersion: z.number().int(),
  opsets: z.record(z.string(), z.number().int()),
  inputs: z.array(TensorInfoSchema),
  outputs: z.array(TensorInfoSchema),
  nodes: z.number().int().nonnegative(),
  /** op type → number of nodes. */
  opHistogram: z.record(z.string(), z.number().int().positive()),
  /** Trainable weights: elements of all initializers (each counted once). */
  params: z.number().int().nonnegative(),
  /** FLOPs per sample (batch 1): 2×MACs for Conv/Gemm/MatMul, one per output element otherwise. */
  flops: z.number().nonnegative(),
  /** op type → FLOPs per sample. */
  flopsByOp: z.record(z.string(), z.number().nonnegative()),
  /** Tensors every input→output path passes through, in graph order, with their cost so far. */
  cutPoints: z.array(CutPointSchema),
  /** Things inspection could not determine (e.g. a shape ORT could not give); never fatal. */
  warnings: z.array(z.string()),
});

export type InspectReport = z.infer<typeof InspectReportSchema>;
