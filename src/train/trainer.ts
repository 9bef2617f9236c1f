/**
 * The trainer: epochs of training steps over a dataset's training images, an evaluation on the
 * held-out validation images after each epoch, checkpoints at the end of each epoch and every
 * minute or so within one, and at the end the inference model and its test accuracy.
 *
 * Resuming is exact: every batch is a pure function of (seed, epoch, batch index) (BatchLoader),
 * the schedule a function of the step count, and a checkpoint holds the weights, BatchNorm
 * statistics, optimizer state and the epoch's running sums. A run killed at any moment and
 * resumed from its last checkpoint ends with the same weights, bit for bit, as a run never
 * stopped (test/train/trainer-resume.test.ts), given the same ORT thread count.
 */
import { createRequire } from 'node:module';
import type { Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/registry.ts';
import { ExitwiseError } from '../errors.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { createSession } from '../runtime/session.ts';
import type { FinalMetrics, RunRecord } from '../schemas/train.ts';
import { VERSION } from '../version.ts';
import { restoreCheckpoint } from './checkpoint.ts';
import { ClassifierTraining } from './classifier-training.ts';
import { type EvaluationData, evaluateExits, type Evaluation } from './evaluate.ts';
import { buildRunNetwork } from './network.ts';
import { attachExits } from '../exits/attach.ts';
import { placeExits } from '../exits/placement.ts';
import { trainHeadsOnly } from './heads-only/heads-only.ts';
import type { HeadsOnlyEvent } from './heads-only/progress.ts';
import type { EpochRecord, TrainEvent } from './progress.ts';
import { configDifferences, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './run-config.ts';
import { type PreparedData, prepareData } from './run-data.ts';
import {
  assertNoRun, CHECKPOINT_DIR, loadRun, type LoopState, readRunRecord, type SavedRun, saveRunCheckpoint, writeInferenceModel, writeRunBundle, writeRunRecord,
} from './run-folder.ts';

/**
 * A checkpoint within an epoch at least this often. A kill loses at most this much work; a
 * checkpoint of the default ResNet (≈ 1.4 MB with SGD momentum) takes a few milliseconds.
 */
export const DEFAULT_CHECKPOINT_SECONDS = 60;
/** Weight of the newest step in the throughput estimate behind the ETA (≈ the last 20 steps). */
const RATE_SMOOTHING = 0.05;

export interface TrainOptions {
  /** The run folder (created if needed). */
  out: string;
  /** ORT intra-op threads for training and evaluation (default: ORT's choice). */
  threads?: number;
  /** `--data DIR`: where the dataset's files are (see `loadDataset`). */
  dataDir?: string;
  /** `config.dataset` already loaded (e.g. shared by several runs), instead of loading it. */
  dataset?: Dataset;
  /** Checkpoint within an epoch every `seconds` (default 60) and/or every `batches`. */
  checkpointEvery?: { seconds?: number; batches?: number };
  onProgress?: (event: TrainEvent) => void;
  /** Progress of the heads-only phase of an `exits-only` run. */
  onHeadsProgress?: (event: HeadsOnlyEvent) => void;
  /**
   * Stops the run: the step in flight finishes, a checkpoint is written, and the promise rejects
   * with `EXW_INTERRUPTED` whose hint says how to resume.
   */
  signal?: AbortSignal;
}

export interface TrainResult extends FinalMetrics {
  out: string;
  /** Path of the inference model. */
  model: string;
  config: TrainConfig;
  history: EpochRecord[];
}

/**
 * Trains a new run into `options.out`, which must not hold a run already (`EXW_USAGE`).
 *
 * @example
 * const result = await train({ dataset: 'fashion-mnist', epochs: 15 }, { out: 'runs/fashion', threads: 2,
 *   onProgress: createProgressPrinter() });
 * result.testAccuracy; // ≈ 0.93
 */
export async function train(config: TrainConfigInput, options: TrainOptions): Promise<TrainResult> {
  const resolved = resolveTrainConfig(config);
  assertNoRun(options.out);
  return runTraining(resolved, undefined, options);
}

/**
 * Continues the run in `options.out` from its latest checkpoint, with the config saved there.
 * `expect` holds settings the caller gave again (e.g. flags repeated on the command line): any
 * that differs from the saved config is refused with `EXW_USAGE`, since the run could then not
 * continue exactly.
 */
export async function resumeTraining(options: TrainOptions & { expect?: Partial<TrainConfigInput> }): Promise<TrainResult> {
  const saved = loadRun(options.out);
  const differences = configDifferences(saved.config, options.expect ?? {});
  if (differences.length > 0) {
    throw new ExitwiseError('EXW_USAGE', `--resume continues the saved run, whose settings differ from those given: ${differences.join('; ')}`, {
      hint: 'Leave these flags out when resuming (the saved settings are used), or start a new run in another --out folder.',
    });
  }
  return runTraining(saved.config, saved, options);
}

async function runTraining(config: TrainConfig, saved: SavedRun | undefined, options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const baseSeconds = saved?.loop.seconds ?? 0;
  const elapsed = () => baseSeconds + (performance.now() - started) / 1000;
  const emit = options.onProgress ?? (() => {});
  const dataset = options.dataset ?? await loadDataset(config.dataset, options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  const data = prepareData(dataset, config);
  const network = buildRunNetwork(config);
  const names = { input: network.backbone.input, logits: network.exitLogits };
  // An exits-only run trains the backbone alone first: its loss is the plain cross-entropy.
  const loss = config.exits === null || config.exits.strategy === 'exits-only' ? {} : { loss: { weights: config.exits.weights, distill: config.exits.distill } };
  const training = await ClassifierTraining.create(
    network.classifier,
    { optimizer: config.optimizer, schedule: config.schedule, stepsPerEpoch: data.loader.batchesPerEpoch, clip: config.clip, ...threadsOption(options), ...loss },
  );
  try {
    if (saved !== undefined) restoreCheckpoint(saved.checkpoint, training.store, training.optimizer);
    const history = [...(saved?.history ?? [])];
    const loop: LoopState = saved?.loop ?? { seed: config.seed, seconds: 0, epochLossSum: 0, epochCorrect: 0, epochSeen: 0, epochStepSeconds: 0 };
    const { out } = options;
    const record = newRunRecord(config, dataset, data, network.paramCount, options);
    const writeRecord = (status: RunRecord['status'], result: FinalMetrics | null = null) =>
      writeRunRecord(out, { ...record, status, history, result, provenance: { ...record.provenance, updatedAt: new Date().toISOString() } });
    writeRecord('running');
    const perEpoch = data.loader.batchesPerEpoch;
    const totalSteps = config.epochs * perEpoch;
    emit({
      kind: 'start', runDir: out, dataset: config.dataset, arch: config.arch.kind, params: network.paramCount, threads: options.threads,
      trainSamples: data.trainCount, valSamples: data.val.indices!.length, epochs: config.epochs, batchesPerEpoch: perEpoch,
      ...(saved === undefined ? {} : { resumedAt: { epoch: saved.epoch, batch: saved.batchInEpoch, step: training.optimizer.stepCount } }),
    });
    const everySeconds = options.checkpointEvery?.seconds ?? DEFAULT_CHECKPOINT_SECONDS;
    const everyBatches = options.checkpointEvery?.batches ?? Infinity;
    let lastCheckpoint = performance.now();
    let batchesSinceCheckpoint = 0;
    const checkpoint = (epoch: number, batchInEpoch: number) => {
      loop.seconds = elapsed();
      const path = saveRunCheckpoint(out, training, { epoch, batchInEpoch }, loop, history, config);
      lastCheckpoint = performance.now();
      batchesSinceCheckpoint = 0;
      emit({ kind: 'checkpoint', path, epoch, batch: batchInEpoch, step: training.optimizer.stepCount });
    };
    const stopIfAsked = (epoch: number, batchInEpoch: number) => {
      if (options.signal?.aborted !== true) return;
      checkpoint(epoch, batchInEpoch);
      writeRecord('interrupted');
      throw new ExitwiseError('EXW_INTERRUPTED', `training stopped at epoch ${epoch + 1}/${config.epochs}, batch ${batchInEpoch}/${perEpoch}; its state is saved in ${out}/${CHECKPOINT_DIR}`, {
        hint: `Continue with: exitwise train --out ${out} --resume (the saved settings are used).`,
      });
    };
    let rate = NaN;

    for (let epoch = saved?.epoch ?? 0; epoch < config.epochs; epoch++) {
      const startBatch = epoch === saved?.epoch ? saved.batchInEpoch : 0;
      stopIfAsked(epoch, startBatch);
      for await (const batch of data.loader.epoch(epoch, { startBatch })) {
        const t0 = performance.now();
        const step = await training.step(batch.x, batch.y as BigInt64Array, batch.size, dataset.inputShape);
        const seconds = (performance.now() - t0) / 1000;
        loop.epochLossSum += step.loss * batch.size;
        loop.epochCorrect += step.correct;
        loop.epochSeen += batch.size;
        loop.epochStepSeconds += seconds;
        rate = Number.isNaN(rate) ? batch.size / seconds : (1 - RATE_SMOOTHING) * rate + RATE_SMOOTHING * (batch.size / seconds);
        const done = batch.batch + 1;
        const stepCount = training.optimizer.stepCount;
        emit({
          kind: 'step', epoch, epochs: config.epochs, batch: done, batchesPerEpoch: perEpoch, step: stepCount, totalSteps,
          loss: loop.epochLossSum / loop.epochSeen, accuracy: loop.epochCorrect / loop.epochSeen, lr: step.lr,
          samplesPerSecond: rate, etaSeconds: ((totalSteps - stepCount) * config.batchSize) / rate,
        });
        stopIfAsked(epoch, done);
        batchesSinceCheckpoint++;
        // The end of the epoch checkpoints after its evaluation, below.
        if (done < perEpoch && (batchesSinceCheckpoint >= everyBatches || performance.now() - lastCheckpoint >= everySeconds * 1000)) checkpoint(epoch, done);
      }
      emit({ kind: 'evaluate', split: 'val' });
      const model = training.exportInference();
      const vals = await evaluate(model, names, data.val, options);
      const val = vals.at(-1)!;
      writeInferenceModel(out, model);
      history.push({
        epoch: epoch + 1, step: training.optimizer.stepCount, lr: training.schedule.lr(Math.max(0, training.optimizer.stepCount - 1)),
        trainLoss: loop.epochLossSum / loop.epochSeen, trainAccuracy: loop.epochCorrect / loop.epochSeen,
        valLoss: val.loss, valAccuracy: val.accuracy, ...(vals.length > 1 ? { exitValAccuracy: vals.map((v) => v.accuracy) } : {}), samplesPerSecond: loop.epochSeen / loop.epochStepSeconds, seconds: elapsed(),
      });
      Object.assign(loop, { epochLossSum: 0, epochCorrect: 0, epochSeen: 0, epochStepSeconds: 0 });
      checkpoint(epoch + 1, 0);
      writeRecord('running');
      emit({ kind: 'epoch', record: history.at(-1)!, epochs: config.epochs });
    }

    let model = training.exportInference();
    let exitLogits = names.logits;
    if (config.exits?.strategy === 'exits-only') {
      // Phase 2: the trained backbone frozen, its features at the exits cached once, only heads train.
      const placements = placeExits(model, config.exits.placement);
      const attached = attachExits({ model, logits: network.backbone.logits }, placements, config.exits.head, { seed: config.arch.seed });
      const common = { images: dataset.train.images, labels: dataset.train.labels, inputDims: dataset.inputShape, normalize: dataset.pixelStats };
      const heads = await trainHeadsOnly(attached, { train: { ...common, indices: data.trainIndices }, val: { ...common, indices: data.val.indices! } }, { seed: config.seed }, {
        ...threadsOption(options), ...(options.onHeadsProgress === undefined ? {} : { onProgress: options.onHeadsProgress }), ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      model = heads.multiExit.model;
      exitLogits = heads.multiExit.exitLogits;
    }
    const modelPath = writeInferenceModel(out, model);
    emit({ kind: 'evaluate', split: 'test' });
    const tests = await evaluate(model, { input: names.input, logits: exitLogits }, data.test, options);
    const test = tests.at(-1)!;
    const last = history.at(-1)!;
    const multiExit = network.multiExit === null ? null : { model, exitLogits, exitTensors: network.multiExit.exitTensors };
    const bundle = multiExit === null ? undefined : writeRunBundle(out, multiExit, config, dataset);
    const result: FinalMetrics = {
      testAccuracy: test.accuracy, testLoss: test.loss, valAccuracy: last.valAccuracy, valLoss: last.valLoss, epochs: history.length, seconds: elapsed(),
      ...(tests.length > 1 ? { exitTestAccuracy: tests.map((t) => t.accuracy) } : {}),
      ...(bundle === undefined ? {} : { bundle }),
    };
    writeRecord('completed', result);
    return { ...result, out, model: modelPath, config, history };
  } finally {
    emit({ kind: 'end' });
    await training.release();
  }
}

async function evaluate(model: ModelProto, names: { input: string; logits: readonly string[] }, data: EvaluationData, options: TrainOptions): Promise<Evaluation[]> {
  const session = await createSession(model, threadsOption(options));
  try {
    return await evaluateExits(session, names, data);
  } finally {
    await session.release();
  }
}

function threadsOption(options: TrainOptions): { threads?: number } {
  return options.threads === undefined ? {} : { threads: options.threads };
}

/** run.json as at the start of this process (a resumed run keeps its start time and counts one more session). */
function newRunRecord(config: TrainConfig, dataset: Dataset, data: PreparedData, params: number, options: TrainOptions): RunRecord {
  const previous = readRunRecord(options.out);
  const now = new Date().toISOString();
  return {
    format: 'exitwise-run', version: 1, status: 'running', config: { ...config }, history: [], result: null,
    provenance: {
      exitwiseVersion: VERSION, onnxruntime: ORT_VERSION, node: process.version,
      dataset: { name: dataset.name, source: dataset.source, trainImages: data.trainCount, valImages: data.val.indices!.length, testImages: dataset.test.count },
      params, threads: options.threads ?? null,
      startedAt: previous?.provenance.startedAt ?? now, updatedAt: now, sessions: (previous?.provenance.sessions ?? 0) + 1,
    },
  };
}

const ORT_VERSION = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
