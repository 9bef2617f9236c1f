/**
 * The manifest of an early-exit bundle (`NAME.exitwise/manifest.json`): a published, validated
 * contract that every tool writing or reading bundles shares. See DESIGN.md, "The bundle".
 */
import { z } from 'zod';
import { DimSchema } from './inspect.ts';

/** The `format` field of every bundle manifest. */
export const BUNDLE_FORMAT = 'exitwise-bundle';
/** The manifest version this exitwise writes and the newest it reads. */
export const BUNDLE_VERSION = 1;

/**
 * A file inside the bundle folder: relative, `/`-separated, no segment starting with a dot (so
 * no `..`), so a manifest can never point outside its folder.
 */
export const BundlePathSchema = z.string().regex(/^[\w-][\w.-]*(\/[\w-][\w.-]*)*$/, 'a relative path inside the bundle (segments of letters, digits, "_", "-", ".", none starting with ".")');

const Count = z.number().int().nonnegative();
const Flops = z.number().nonnegative();

/** How raw inputs become the model's input tensor: `(raw · scale − mean[c]) / std[c]` per channel. */
export const PreprocessingSchema = z.strictObject({
  /** Multiplier applied to raw values first (1/255 for 8-bit images). */
  scale: z.number(),
  /** Per-channel mean subtracted after scaling (one value applies to all channels). */
  mean: z.array(z.number()).min(1),
  /** Per-channel standard deviation divided by after subtracting the mean. */
  std: z.array(z.number().positive()).min(1),
  /** Axis order of the model's input. */
  layout: z.enum(['NCHW', 'NHWC']),
});

export const BundleInputSchema = z.strictObject({
  /** Name of the graph input of stage 0. */
  name: z.string().min(1),
  /** Its shape, batch symbolic (e.g. `['batch', 1, 28, 28]`). */
  shape: z.array(DimSchema).min(1),
  dtype: z.enum(['float32', 'int64']),
  /** Absent for inputs that need none (token ids). */
  preprocessing: PreprocessingSchema.optional(),
});

/** One backbone slice: `stages/stage-K.onnx`. */
export const BundleStageSchema = z.strictObject({
  index: Count,
  file: BundlePathSchema,
  /** Its graph inputs in order: the previous stage's cut (or the bundle input for stage 0). */
  inputs: z.array(z.string().min(1)).min(1),
  /** Its graph outputs in order: the cut tensor that exit K and stage K+1 read. */
  outputs: z.array(z.string().min(1)).min(1),
  params: Count,
  /** Per-sample FLOPs. */
  flops: Flops,
});

/** One exit head: `exits/exit-K.onnx`, reading stage K's output. The last exit is the backbone's own classifier. */
export const BundleExitSchema = z.strictObject({
  index: Count,
  file: BundlePathSchema,
  /** The tensor it reads: stage K's first output. */
  input: z.string().min(1),
  /** Its logits `[N, classes]`. */
  output: z.string().min(1),
  params: Count,
  /** Per-sample FLOPs of the head alone. */
  flops: Flops,
  /** Per-sample FLOPs of an input that leaves here: stages 0..K plus heads 0..K (every head runs on the way). */
  cumulativeFlops: Flops,
  /** Calibration temperature: probabilities are softmax(logits / temperature). 1 = uncalibrated. */
  temperature: z.number().positive().default(1),
});

export const BundleTaskSchema = z.strictObject({
  kind: z.literal('classification'),
  /** Class names in logit order. */
  classes: z.array(z.string()).min(1),
});

/** The exit policy: `kind` picks it from the policy registry; its other fields are its own. */
export const BundlePolicySchema = z.looseObject({ kind: z.string().min(1) });

/** A measured profile of one device: free-form fields owned by the profiler. */
export const BundleProfileSchema = z.looseObject({});

/**
 * How the training images were split into train and validation: `tune` and calibration fit on
 * exactly the validation images the exits were not trained on.
 */
export const BundleSplitSchema = z.strictObject({
  /** Fraction of the (limited) training images held out, stratified by class. */
  valFraction: z.number().gt(0).lt(1),
  /** Seed of `splitTrainVal`. */
  seed: z.number().int().nonnegative(),
  /** Only the first `limit` training images were used, or null for all. */
  limit: z.number().int().positive().nullable(),
});

export const BundleProvenanceSchema = z.strictObject({
  /** The dataset the exits were trained and tuned on (e.g. `fashion-mnist`). */
  dataset: z.string(),
  /** The train/val split of that dataset; absent for bundles trained elsewhere. */
  split: BundleSplitSchema.optional(),
  /** The training strategy (e.g. `joint`, `heads-only`, `distillation`). */
  strategy: z.string(),
  /** ISO 8601 date-time of creation. */
  date: z.iso.datetime({ offset: true }),
  /** The exitwise version that wrote the bundle. */
  exitwiseVersion: z.string().min(1),
});

export const BundleManifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  task: BundleTaskSchema,
  input: BundleInputSchema,
  stages: z.array(BundleStageSchema).min(1),
  exits: z.array(BundleExitSchema).min(1),
  policy: BundlePolicySchema.optional(),
  /** Device name → its profile. */
  profiles: z.record(z.string().min(1), BundleProfileSchema).optional(),
  provenance: BundleProvenanceSchema,
});

/** A manifest as read and validated (defaults filled in). */
export type BundleManifest = z.output<typeof BundleManifestSchema>;
/** A manifest as written (defaults may be left out). */
export type BundleManifestInput = z.input<typeof BundleManifestSchema>;
export type BundleStage = z.output<typeof BundleStageSchema>;
export type BundleExit = z.output<typeof BundleExitSchema>;
export type BundleInput = z.output<typeof BundleInputSchema>;
export type Preprocessing = z.output<typeof PreprocessingSchema>;
export type BundleSplit = z.output<typeof BundleSplitSchema>;
