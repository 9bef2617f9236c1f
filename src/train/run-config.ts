/**
 * The configuration of a training run: everything that decides its result, as JSON. A config is
 * resolved once (defaults filled in, every part checked) and then written to `run.json` and to
 * every checkpoint, so a run folder says exactly how its model was made and a resumed run
 * continues with the same settings. Where a run writes, how many threads it uses and how it
 * reports progress are options of {@link train}, not part of the config: they do not change the
 * weights.
 */
import { z } from 'zod';
import type { AugmentOptions } from '../data/augment.ts';
import { datasetSpec } from '../data/registry.ts';
import { DEFAULT_VAL_FRACTION } from '../data/splits.ts';
import { ExitwiseError } from '../errors.ts';
import { buildBackbone } from '../nn/registry.ts';
import type { BackboneSpec, Resolved } from '../nn/types.ts';
import { type ClipConfig, resolveClipConfig } from './clip.ts';
import { type ExitsConfig, type ExitsConfigInput, resolveExitsConfig } from './exits-config.ts';
import { resolveOptimizerConfig } from './optimizers/index.ts';
import type { OptimizerConfig } from './optimizers/types.ts';
import { type ResolvedScheduleConfig, resolveScheduleConfig, type ScheduleConfig } from './schedules.ts';

/**
 * Defaults, chosen for the accuracy goal (≥ 92.5% on the Fashion-MNIST test split with the
 * default ResNet-14) on a 2-core CPU. They are the standard CIFAR ResNet recipe (He et al. 2016;
 * also bench/torch_accuracy.py, the PyTorch run they are compared with):
 * - SGD with Nesterov momentum 0.9 and weight decay 5e-4 on weights (not on biases and BN
 *   parameters, see `defaultDecay`): with BatchNorm it generalises better than AdamW at the same
 *   cost per step, and it has one state buffer instead of two.
 * - lr 0.1 at batch 128 (1e-3 when AdamW is chosen), cosine decay to 0 over the run: no milestones to tune, and the low
 *   learning rate of the last epochs is where most of the final accuracy comes from.
 * - one epoch of linear warmup from lr/3 (a tenth of the run when shorter than 10 epochs): the
 *   first steps see freshly initialised BN statistics and large gradients; warming up costs at
 *   most a third of an epoch of progress.
 * - 15 epochs: the cosine's length; the nn defaults (src/nn/resnet.ts) are sized for it.
 * - no gradient clipping: BN keeps the gradients of this model in range; clipping is there for
 *   models without normalisation (`clip`).
 */
export const DEFAULT_EPOCHS = 15;
export const DEFAULT_BATCH_SIZE = 128;
/** Peak learning rate by optimizer kind: 0.1 is SGD's at batch 128; Adam-type steps are normalised, 1e-3 is theirs. */
export const DEFAULT_LR: Readonly<Record<OptimizerConfig['kind'], number>> = { sgd: 0.1, adamw: 1e-3 };
const DEFAULT_WARMUP_EPOCHS = 1;
const DEFAULT_OPTIMIZER: OptimizerConfig = { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 };
/** The architecture when none is given: the ResNet-style backbone with its defaults. */
export const DEFAULT_ARCH: BackboneSpec = { kind: 'resnet' };

/**
 * Training augmentation by dataset. A shift of up to 2 pixels (crop with padding 2) suits both
 * 28×28 datasets. Horizontal flips suit Fashion-MNIST (a mirrored shoe or shirt is still one) but
 * not MNIST (a mirrored 2 or 7 is no digit). A dataset missing here trains without augmentation.
 */
const DEFAULT_AUGMENT: Readonly<Record<string, AugmentOptions>> = {
  'mnist': { cropPadding: 2 },
  'fashion-mnist': { cropPadding: 2, horizontalFlip: true },
};

/** A resolved run configuration: every field present. */
export interface TrainConfig {
  /** A name from the dataset registry (`mnist`, `fashion-mnist`). */
  dataset: string;
  /** The backbone, with every default filled in (what `buildBackbone(spec).spec` returns). */
  arch: Resolved<BackboneSpec>;
  epochs: number;
  batchSize: number;
  optimizer: Resolved<OptimizerConfig>;
  /** The learning-rate schedule; durations in epochs or steps. */
  schedule: ResolvedScheduleConfig;
  /** Gradient clipping, or null for none. */
  clip: ClipConfig | null;
  augment: AugmentOptions;
  /** Fraction of the training images held out for validation (evaluated every epoch). */
  valFraction: number;
  /** Seed of the train/val split, the shuffles and the augmentation (the weights use `arch.seed`). */
  seed: number;
  /** Train on the first `limit` training images only (val is taken from them), or null for all: quick checks. */
  limit: number | null;
  /** The early exits and how they are trained, or null for a single-exit backbone. */
  exits: ExitsConfig | null;
}

/**
 * A config as a user writes it: only `dataset` is required. `optimizer` and `schedule` given
 * without a `kind`, or with the default's kind, are merged over the defaults (so `{ lr: 0.05 }`
 * keeps the cosine and its warmup); with another kind they are taken as they are.
 */
export interface TrainConfigInput {
  dataset: string;
  arch?: BackboneSpec;
  epochs?: number;
  batchSize?: number;
  optimizer?: Partial<OptimizerConfig>;
  schedule?: Partial<ScheduleConfig>;
  clip?: ClipConfig | null;
  augment?: AugmentOptions;
  valFraction?: number;
  seed?: number;
  limit?: number | null;
  /** Early exits (see exits-config.ts); absent or null trains the backbone alone. */
  exits?: ExitsConfigInput | null;
}

const positiveInt = z.number().int().positive();
const InputSchema = z.strictObject({
  dataset: z.string().min(1),
  arch: z.unknown().optional(),
  epochs: positiveInt.optional(),
  batchSize: positiveInt.optional(),
  optimizer: z.record(z.string(), z.unknown()).optional(),
  schedule: z.record(z.string(), z.unknown()).optional(),
  clip: z.unknown().optional(),
  augment: z.strictObject({ cropPadding: z.number().int().min(0).optional(), horizontalFlip: z.boolean().optional() }).optional(),
  valFraction: z.number().gt(0).lt(1).optional(),
  seed: z.number().int().min(0).max(0xffff_ffff).optional(),
  limit: positiveInt.nullable().optional(),
  exits: z.record(z.string(), z.unknown()).nullable().optional(),
});

/**
 * Checks a config and fills in its defaults; `EXW_USAGE` naming every field at fault (an unknown
 * dataset or backbone kind lists the known ones).
 *
 * @example
 * const config = resolveTrainConfig({ dataset: 'fashion-mnist', epochs: 20, schedule: { lr: 0.05 } });
 * config.schedule; // { kind: 'cosine', lr: 0.05, unit: 'epoch', total: 20, warmup: 1, … }
 */
export function resolveTrainConfig(input: TrainConfigInput): TrainConfig {
  const checked = InputSchema.safeParse(input);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'config'}: ${i.message}`);
    throw new ExitwiseError('EXW_USAGE', `bad training config: ${issues.join('; ')}`, {
      hint: `Only "dataset" is required; for example {"dataset":"fashion-mnist","epochs":${DEFAULT_EPOCHS},"batchSize":${DEFAULT_BATCH_SIZE},"schedule":{"lr":0.05}}.`,
    });
  }
  const dataset = datasetSpec(input.dataset); // unknown names → EXW_USAGE listing the known datasets
  // The dataset decides the classes and the input shape unless the spec says otherwise.
  const arch = input.arch ?? DEFAULT_ARCH;
  const fromDataset = { classes: dataset.classes.length, inputShape: dataset.inputShape };
  const epochs = input.epochs ?? DEFAULT_EPOCHS;
  const optimizer = resolveOptimizerConfig(mergeKind(DEFAULT_OPTIMIZER, input.optimizer));
  const defaultSchedule: ScheduleConfig = { kind: 'cosine', lr: DEFAULT_LR[optimizer.kind], unit: 'epoch', total: epochs, warmup: Math.min(DEFAULT_WARMUP_EPOCHS, epochs / 10) };
  const backbone = buildBackbone((isPlainObject(arch) ? { ...fromDataset, ...arch } : arch) as BackboneSpec);
  return {
    dataset: input.dataset,
    arch: backbone.spec,
    epochs,
    batchSize: input.batchSize ?? DEFAULT_BATCH_SIZE,
    optimizer,
    schedule: resolveScheduleConfig(mergeKind(defaultSchedule, input.schedule)),
    clip: input.clip === undefined || input.clip === null ? null : resolveClipConfig(input.clip),
    augment: { ...(input.augment ?? DEFAULT_AUGMENT[input.dataset] ?? {}) },
    valFraction: input.valFraction ?? DEFAULT_VAL_FRACTION,
    seed: input.seed ?? 0,
    limit: input.limit ?? null,
    exits: input.exits === undefined || input.exits === null ? null : resolveExitsConfig(input.exits, backbone.model),
  };
}

/** Fields given in part and completed from defaults: they compare field by field. */
const PARTIAL_FIELDS: ReadonlySet<string> = new Set(['arch', 'optimizer', 'schedule', 'exits']);

/**
 * The fields of `given` that differ from the saved config of a run being resumed, as
 * `field: saved …, given …` lines (empty when they agree). Partial fields (arch, optimizer,
 * schedule) compare field by field, so `{ schedule: { lr: 0.1 } }` agrees with a saved cosine at
 * lr 0.1; the others compare whole (`augment: {}` differs from a saved crop-and-flip).
 */
export function configDifferences(saved: TrainConfig, given: Partial<TrainConfigInput>): string[] {
  const differences: string[] = [];
  const compare = (path: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${path}: saved ${JSON.stringify(a)}, given ${JSON.stringify(b)}`);
  };
  for (const [key, value] of Object.entries(given) as [keyof TrainConfig, unknown][]) {
    if (value === undefined) continue;
    const mine = saved[key] as unknown;
    if (PARTIAL_FIELDS.has(key) && isPlainObject(value) && isPlainObject(mine)) {
      for (const [sub, v] of Object.entries(value)) if (v !== undefined) compare(`${key}.${sub}`, mine[sub], v);
    } else {
      compare(key, mine, value);
    }
  }
  return differences;
}

/** `given` over `defaults` when it names no kind or the same kind; `given` alone otherwise. */
function mergeKind<C extends { kind: string }>(defaults: C, given: Partial<C> | Record<string, unknown> | undefined): unknown {
  if (given === undefined) return defaults;
  return given['kind'] === undefined || given['kind'] === defaults.kind ? { ...defaults, ...given } : given;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
