/**
 * Training one head on cached features: shuffled minibatches drawn from the cache (a seeded order
 * per exit and epoch), one ORT training session, the optimizer and schedule in TypeScript, and
 * after each epoch an evaluation of the head, BatchNorm on running statistics, on the cached
 * validation features.
 */
import { exportInference } from '../../autodiff/export.ts';
import { deriveSeed, Rng, shuffleInPlace } from '../../data/random.ts';
import { ExitwiseError } from '../../errors.ts';
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import { createSession, type Session } from '../../runtime/session.ts';
import { DEFAULT_EVAL_BATCH, scoreLogits } from '../evaluate.ts';
import { createOptimizer } from '../optimizers/index.ts';
import { ParamStore } from '../params.ts';
import { createSchedule } from '../schedules.ts';
import type { ResolvedHeadsOnlyConfig } from './config.ts';
import { type HeadModel, headTrainingGraph, TARGETS_INPUT, TEACHER_INPUT } from './head.ts';
import { interrupted } from './interrupt.ts';
import type { HeadsEpochRecord, HeadsOnlyEvent } from './progress.ts';

/** Seed stream of the minibatch order, apart from the data streams of src/data. */
const STREAM_HEAD_ORDER = 11;
/** Weight of the newest step in the throughput estimate behind the ETA (≈ the last 20 steps). */
const RATE_SMOOTHING = 0.05;

/** Cached features of one set of samples for one head, with what it learns from. */
export interface HeadSamples {
  /** `[samples, ...dims]`. */
  features: Float32Array;
  dims: readonly number[];
  samples: number;
  /** Target class per sample (labels or pseudo-labels). */
  targets: Int32Array;
  /** Teacher logits `[samples, classes]` when distilling. */
  teacher?: Float32Array;
}

/** Shared across the heads of a run: the step count and throughput for the ETA, and where events go. */
export interface RunProgress {
  exits: number;
  totalSteps: number;
  stepsDone: number;
  rate: number;
  started: number;
  emit: (event: HeadsOnlyEvent) => void;
  signal?: AbortSignal;
  threads?: number;
}

export interface TrainedHead {
  /** Trained weights and BatchNorm statistics, by initializer name. */
  values: Map<string, Float32Array>;
  history: HeadsEpochRecord[];
  /** The trained head's logits on the validation features. */
  valLogits: Float32Array;
  /** The head with its trained values (inference form), to compute more logits. */
  inference: ModelProto;
}

/** Minibatches per epoch: the last incomplete batch is dropped (keeps BatchNorm batches full), unless it is the only one. */
export function batchesPerEpoch(samples: number, batchSize: number): number {
  return Math.max(1, Math.floor(samples / batchSize));
}

/** Trains exit `exit`'s head for `config.epochs` epochs on `train`, evaluating on `val` after each. */
export async function trainHead(exit: number, head: HeadModel, classes: number, train: HeadSamples, val: HeadSamples, config: ResolvedHeadsOnlyConfig, progress: RunProgress): Promise<TrainedHead> {
  if (train.samples === 0) throw new ExitwiseError('EXW_USAGE', 'no training samples', { hint: 'Give exits-only training at least one training image.' });
  const training = headTrainingGraph(head, classes, config.distill);
  const store = ParamStore.fromModel(head.forward, { trainable: head.trainable, buffers: [...training.graph.stateUpdates.keys()] });
  const perEpoch = batchesPerEpoch(train.samples, config.batchSize);
  const optimizer = createOptimizer(config.optimizer, store);
  const schedule = createSchedule({ kind: 'cosine', lr: config.lr, total: config.epochs * perEpoch });
  const session = await createSession(training.graph.model, threads(progress));
  const feeds = store.feeds();
  const grads = [...training.graph.gradientNames];
  const fetch = [training.loss, head.logits, ...grads.map(([, g]) => g), ...training.graph.stateUpdates.values()];
  const size = train.features.length / train.samples;
  const batch = Math.min(config.batchSize, train.samples);
  const x = new Float32Array(batch * size); // [batch, ...dims]
  const y = new BigInt64Array(batch);
  const yNumbers = new Int32Array(batch);
  const t = training.teacher ? new Float32Array(batch * classes) : undefined;
  const history: HeadsEpochRecord[] = [];
  let valLogits: Float32Array = new Float32Array(0);
  let inference = head.forward;
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const order = shuffleInPlace(Int32Array.from({ length: train.samples }, (_, i) => i), new Rng(deriveSeed(config.seed, STREAM_HEAD_ORDER, exit, epoch)));
      let [lossSum, correct, seen, stepSeconds, lr] = [0, 0, 0, 0, 0];
      for (let b = 0; b < perEpoch; b++) {
        if (progress.signal?.aborted === true) throw interrupted(`training exit ${exit}`);
        const rows = order.subarray(b * batch, (b + 1) * batch);
        rows.forEach((sample, r) => {
          x.set(train.features.subarray(sample * size, (sample + 1) * size), r * size);
          yNumbers[r] = train.targets[sample]!;
          y[r] = BigInt(train.targets[sample]!);
          t?.set(train.teacher!.subarray(sample * classes, (sample + 1) * classes), r * classes);
        });
        const t0 = performance.now();
        const out = await session.run({
          ...feeds,
          [head.feature]: { type: 'float32', dims: [batch, ...train.dims], data: x },
          [TARGETS_INPUT]: { type: 'int64', dims: [batch], data: y },
          ...(t === undefined ? {} : { [TEACHER_INPUT]: { type: 'float32', dims: [batch, classes], data: t } }),
        }, { outputs: fetch });
        const loss = (out[training.loss]!.data as Float32Array)[0]!;
        lr = schedule.lr(optimizer.stepCount);
        if (!Number.isFinite(loss)) {
          throw new ExitwiseError('EXW_DIVERGED', `exit ${exit}'s head diverged at epoch ${epoch + 1}, batch ${b + 1}: the loss is ${loss} (learning rate ${lr})`, { hint: 'Lower the learning rate (--lr).' });
        }
        optimizer.step(new Map(grads.map(([p, g]) => [p, out[g]!.data as Float32Array])), lr);
        for (const [state, name] of training.graph.stateUpdates) store.set(state, out[name]!.data as Float32Array);
        const seconds = (performance.now() - t0) / 1000;
        lossSum += loss * batch;
        correct += scoreLogits(out[head.logits]!.data as Float32Array, yNumbers).correct;
        seen += batch;
        stepSeconds += seconds;
        progress.stepsDone++;
        progress.rate = Number.isNaN(progress.rate) ? 1 / seconds : (1 - RATE_SMOOTHING) * progress.rate + RATE_SMOOTHING / seconds;
        progress.emit({
          kind: 'step', exit, exits: progress.exits, epoch, epochs: config.epochs, batch: b + 1, batchesPerEpoch: perEpoch,
          step: progress.stepsDone, totalSteps: progress.totalSteps, loss: lossSum / seen, accuracy: correct / seen,
          samplesPerSecond: progress.rate * batch, etaSeconds: (progress.totalSteps - progress.stepsDone) / progress.rate,
        });
      }
      inference = exportInference(head.forward, new Map(store.entries().map((e) => [e.name, e.value])));
      valLogits = await headLogits(inference, head, val, classes, progress);
      const record: HeadsEpochRecord = {
        epoch: epoch + 1, loss: lossSum / seen, trainAccuracy: correct / seen, valAccuracy: accuracy(valLogits, val.targets),
        lr, samplesPerSecond: seen / stepSeconds, seconds: (performance.now() - progress.started) / 1000,
      };
      history.push(record);
      progress.emit({ kind: 'epoch', exit, record, epochs: config.epochs });
    }
  } finally {
    await session.release();
  }
  return { values: new Map(store.entries().map((e) => [e.name, e.value.slice()])), history, valLogits, inference };
}

/** The logits of a head (inference form) over cached features, in batches. */
export async function headLogits(inference: ModelProto, head: Pick<HeadModel, 'feature' | 'logits'>, set: Pick<HeadSamples, 'features' | 'dims' | 'samples'>, classes: number, options: { threads?: number } = {}): Promise<Float32Array> {
  const logits = new Float32Array(set.samples * classes);
  if (set.samples === 0) return logits;
  const size = set.features.length / set.samples;
  const session: Session = await createSession(inference, threads(options));
  try {
    for (let start = 0; start < set.samples; start += DEFAULT_EVAL_BATCH) {
      const rows = Math.min(DEFAULT_EVAL_BATCH, set.samples - start);
      const out = await session.run({ [head.feature]: { type: 'float32', dims: [rows, ...set.dims], data: set.features.subarray(start * size, (start + rows) * size) } }, { outputs: [head.logits] });
      logits.set(out[head.logits]!.data as Float32Array, start * classes);
    }
  } finally {
    await session.release();
  }
  return logits;
}

/** Fraction of rows whose largest logit is the target's (ties to the lower class); 0 for no rows. */
export function accuracy(logits: Float32Array, targets: Int32Array): number {
  return targets.length === 0 ? 0 : scoreLogits(logits, targets).correct / targets.length;
}

function threads(options: { threads?: number }): { threads?: number } {
  return options.threads === undefined ? {} : { threads: options.threads };
}
