/**
 * A run folder: what a training run leaves on disk, every file written atomically.
 *
 * ```
 * DIR/run.json        config, per-epoch metrics, final metrics, provenance (RunRecordSchema)
 * DIR/model.onnx      the inference model with the latest weights (BatchNorm in inference mode)
 * DIR/checkpoints/    checkpoint-<step>.exwckpt + latest.json (src/train/checkpoint.ts)
 * ```
 * A checkpoint holds everything a resumed run needs; run.json and model.onnx are views of the
 * same state for people and tools, rewritten after each epoch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ExitwiseError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { saveModel } from '../onnx/model-io.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import type { Dataset } from '../data/dataset.ts';
import { saveMultiExitBundle } from '../bundle/from-model.ts';
import { preprocessingOf } from '../bundle/data.ts';
import type { MultiExitModel } from '../exits/attach.ts';
import { EpochRecordSchema, type RunRecord, RunRecordSchema } from '../schemas/train.ts';
import { type JsonValue, latestCheckpointPath, loadCheckpoint, type LoadedCheckpoint, saveCheckpoint } from './checkpoint.ts';
import type { ClassifierTraining } from './classifier-training.ts';
import type { EpochRecord } from './progress.ts';
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './run-config.ts';

export const RUN_FILE = 'run.json';
export const MODEL_FILE = 'model.onnx';
/** The bundle of a multi-exit run. */
export const BUNDLE_DIR = 'model.exitwise';
export const CHECKPOINT_DIR = 'checkpoints';

/**
 * The loop's own running state, kept in the checkpoint's `rngState` next to the data seed: the
 * epoch's running sums, so that a resumed epoch reports the same train loss and accuracy as an
 * uninterrupted one, and the wall time spent so far.
 */
export interface LoopState {
  /** Root seed of the split, shuffles and augmentation (as in the config). */
  seed: number;
  /** Wall time of the run so far, across resumes. */
  seconds: number;
  /** Sums over the batches of the current epoch done so far. */
  epochLossSum: number;
  epochCorrect: number;
  epochSeen: number;
  /** Seconds spent in training steps in the current epoch (samples/s excludes evaluation). */
  epochStepSeconds: number;
}

const LoopStateSchema = z.strictObject({
  seed: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  epochLossSum: z.number(),
  epochCorrect: z.number().int().nonnegative(),
  epochSeen: z.number().int().nonnegative(),
  epochStepSeconds: z.number().nonnegative(),
}) satisfies z.ZodType<LoopState>;

/** Where a run stands: `batchInEpoch` batches of epoch `epoch` (from 0) are done. */
export interface RunPosition {
  epoch: number;
  batchInEpoch: number;
}

/** A run read back from its latest checkpoint. */
export interface SavedRun extends RunPosition {
  checkpoint: LoadedCheckpoint;
  config: TrainConfig;
  loop: LoopState;
  history: EpochRecord[];
}

/** `EXW_USAGE` when `dir` already holds a run: a new run must not mix its checkpoints with another's. */
export function assertNoRun(dir: string): void {
  if (latestCheckpointPath(join(dir, CHECKPOINT_DIR)) !== undefined || existsSync(join(dir, RUN_FILE))) {
    throw new ExitwiseError('EXW_USAGE', `${dir} already holds a training run`, {
      hint: `Pass --resume to continue it, or choose another --out folder (or delete ${dir}).`,
    });
  }
}

/** Saves the full training state; a kill at any moment leaves this or the previous checkpoint loadable. */
export function saveRunCheckpoint(
  dir: string, training: ClassifierTraining, position: RunPosition, loop: LoopState, history: readonly EpochRecord[], config: TrainConfig,
): string {
  return saveCheckpoint(join(dir, CHECKPOINT_DIR), {
    ...training.store.snapshot(),
    optimizer: training.optimizer.state(),
    schedulerStep: training.optimizer.stepCount,
    epoch: position.epoch,
    batchInEpoch: position.batchInEpoch,
    rngState: { ...loop },
    metrics: JSON.parse(JSON.stringify(history)) as JsonValue[],
    config: JSON.parse(JSON.stringify(config)) as JsonValue,
  });
}

/** The latest checkpoint of the run in `dir`, its config re-checked; `EXW_CHECKPOINT` when there is none or it is not a training run's. */
export function loadRun(dir: string): SavedRun {
  const checkpointDir = join(dir, CHECKPOINT_DIR);
  if (latestCheckpointPath(checkpointDir) === undefined) {
    throw new ExitwiseError('EXW_CHECKPOINT', `no checkpoint to resume in ${dir}`, {
      hint: `A run folder holds ${CHECKPOINT_DIR}/latest.json once its first checkpoint is written; start the run without --resume.`,
    });
  }
  const checkpoint = loadCheckpoint(checkpointDir);
  const bad = (what: string, cause?: unknown) => new ExitwiseError('EXW_CHECKPOINT', `checkpoint ${checkpoint.path} ${what}`, {
    hint: 'It was not written by `exitwise train`; resume runs of the trainer only, or start a new run.', cause,
  });
  const loop = LoopStateSchema.safeParse(checkpoint.rngState);
  const history = z.array(EpochRecordSchema).safeParse(checkpoint.metrics);
  if (!loop.success) throw bad('has no training-loop state', loop.error);
  if (!history.success) throw bad('has no epoch history', history.error);
  let config: TrainConfig;
  try {
    config = resolveTrainConfig(checkpoint.config as unknown as TrainConfigInput);
  } catch (cause) {
    throw bad(`holds a config this exitwise does not accept: ${(cause as Error).message}`, cause);
  }
  return { checkpoint, config, loop: loop.data, history: history.data, epoch: checkpoint.epoch, batchInEpoch: checkpoint.batchInEpoch };
}

/** The run record, or undefined when absent or unreadable (it is rewritten from the checkpoint then). */
export function readRunRecord(dir: string): RunRecord | undefined {
  try {
    const parsed = RunRecordSchema.safeParse(JSON.parse(readFileSync(join(dir, RUN_FILE), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function writeRunRecord(dir: string, record: RunRecord): void {
  writeFileAtomic(join(dir, RUN_FILE), `${JSON.stringify(RunRecordSchema.parse(record), null, 2)}\n`);
}

/** Writes the inference model and returns its path. */
/**
 * Writes the deployment bundle of a multi-exit run (`DIR/model.exitwise/`), replacing the
 * previous one: preprocessing is the dataset's normalization, and the split is recorded so that
 * `tune` calibrates on exactly the images training held out.
 */
export function writeRunBundle(dir: string, multiExit: MultiExitModel, config: TrainConfig, dataset: Dataset): string {
  const path = join(dir, BUNDLE_DIR);
  saveMultiExitBundle(path, multiExit, {
    classes: dataset.classes,
    preprocessing: preprocessingOf(dataset.pixelStats),
    provenance: { dataset: config.dataset, strategy: config.exits?.strategy ?? 'e2e', split: { valFraction: config.valFraction, seed: config.seed, limit: config.limit } },
  }, { overwrite: true });
  return path;
}

export function writeInferenceModel(dir: string, model: ModelProto): string {
  const path = join(dir, MODEL_FILE);
  saveModel(path, model);
  return path;
}
