/**
 * One training step of an image classifier on ONNX Runtime: the training graph (forward +
 * backward, BatchNorm in training mode) runs in one session; gradient clipping, the optimizer
 * update and the running-statistics copy run in TypeScript over the parameter store. The trainer
 * and the training benchmark both drive this, so the benchmark times exactly what training does.
 */
import { buildTrainingGraph, type TrainingGraph } from '../autodiff/training-graph.ts';
import { exportInference } from '../autodiff/export.ts';
import { ExitwiseError } from '../errors.ts';
import { addDistillationLoss, type DistillationOptions } from '../exits/distill-loss.ts';
import { addJointLoss } from '../exits/joint-loss.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { createSession, type Session } from '../runtime/session.ts';
import { type ClipConfig, clipGradients } from './clip.ts';
import { scoreLogits } from './evaluate.ts';
import { createOptimizer } from './optimizers/index.ts';
import type { Optimizer, OptimizerConfig } from './optimizers/types.ts';
import { ParamStore } from './params.ts';
import { createSchedule, type Schedule, type ScheduleConfig } from './schedules.ts';

/** A classifier's forward graph in inference form (weights as initializers) and its trainable weights. */
export interface ClassifierModel {
  model: ModelProto;
  /** Image input `[N, C, H, W]`. */
  input: string;
  /** Logits output `[N, classes]`. */
  logits: string;
  /** Initializers to train; BatchNorm running statistics are found by the training-graph builder. */
  trainable: readonly string[];
  /**
   * A multi-exit model's early exits (from `attachExits`): their logits outputs and the tensors
   * they read, in order; `logits` is then the final exit. Absent for a single-exit classifier.
   */
  earlyExits?: { logits: readonly string[]; tensors: readonly string[] };
}

/** The loss over the exits: weighted joint cross-entropy, or self-distillation. */
export interface ExitLoss {
  /** One weight per exit, the final exit last (default 1 each). */
  weights?: readonly number[];
  /** Self-distillation settings, or absent/null for the joint loss. */
  distill?: Omit<DistillationOptions, 'weights' | 'labels'> | null;
}

export interface StepSetup {
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  /** Needed when the schedule counts in epochs. */
  stepsPerEpoch?: number;
  clip?: ClipConfig | null;
  /** ORT intra-op threads (default: ORT's choice). */
  threads?: number;
  /** The loss over the exits (default: cross-entropy of each exit, weight 1). */
  loss?: ExitLoss;
}

export interface StepResult {
  /** Mean cross-entropy of the batch (before the update). */
  loss: number;
  /** Samples whose largest logit was the label's. */
  correct: number;
  /** Learning rate of this update. */
  lr: number;
}

/** Name of the labels input the loss adds. */
const LABELS = 'labels';

/** A classifier being trained: its parameter store, optimizer, schedule and the open training session. */
export class ClassifierTraining {
  readonly store: ParamStore;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly graph: TrainingGraph;
  private readonly classifier: ClassifierModel;
  private readonly session: Session;
  private readonly clip: ClipConfig | null;
  private readonly feeds: ReturnType<ParamStore['feeds']>;
  private readonly fetch: string[];
  private readonly lossName: string;

  private constructor(classifier: ClassifierModel, graph: TrainingGraph, lossName: string, session: Session, setup: StepSetup) {
    this.classifier = classifier;
    this.graph = graph;
    this.lossName = lossName;
    this.session = session;
    this.store = ParamStore.fromModel(classifier.model, { trainable: classifier.trainable, buffers: [...graph.stateUpdates.keys()] });
    this.optimizer = createOptimizer(setup.optimizer, this.store);
    this.schedule = createSchedule(setup.schedule, setup.stepsPerEpoch === undefined ? {} : { stepsPerEpoch: setup.stepsPerEpoch });
    this.clip = setup.clip ?? null;
    this.feeds = this.store.feeds();
    this.fetch = [lossName, classifier.logits, ...graph.gradientNames.values(), ...graph.stateUpdates.values()];
  }

  /**
   * Builds the training graph (mean cross-entropy on the logits) and opens its session.
   *
   * @example
   * const backbone = buildBackbone({ kind: 'resnet' });
   * const trainer = await ClassifierTraining.create({ model: backbone.model, input: backbone.input, logits: backbone.logits,
   *   trainable: backbone.params.filter((p) => p.trainable).map((p) => p.name) },
   *   { optimizer: { kind: 'sgd', momentum: 0.9 }, schedule: { kind: 'constant', lr: 0.1 }, threads: 2 });
   * const { loss } = await trainer.step(x, y, 128);
   */
  static async create(classifier: ClassifierModel, setup: StepSetup): Promise<ClassifierTraining> {
    // A one-exit model is a multi-exit model without early exits: the same loss ops train both.
    const multiExit = {
      model: classifier.model,
      exitLogits: [...(classifier.earlyExits?.logits ?? []), classifier.logits],
      exitTensors: [...(classifier.earlyExits?.tensors ?? [])],
    };
    const weights = setup.loss?.weights === undefined ? {} : { weights: setup.loss.weights };
    const distill = setup.loss?.distill ?? null;
    const withLoss = distill === null
      ? { ...addJointLoss(multiExit, { labels: LABELS, ...weights }), stopGradient: [] }
      : addDistillationLoss(multiExit, { ...distill, labels: LABELS, ...weights });
    const graph = buildTrainingGraph(withLoss.model, { loss: withLoss.loss, trainable: classifier.trainable, stopGradient: withLoss.stopGradient });
    const session = await createSession(graph.model, setup.threads === undefined ? {} : { threads: setup.threads });
    try {
      return new ClassifierTraining(classifier, graph, withLoss.loss, session, setup);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /**
   * One update on a batch: `x` is `[size, C, H, W]`, `y` the labels. A non-finite loss or
   * gradient norm stops with `EXW_DIVERGED` before the weights change.
   */
  async step(x: Float32Array, y: BigInt64Array, size: number, inputShape: readonly number[]): Promise<StepResult> {
    const out = await this.session.run({
      ...this.feeds,
      [this.classifier.input]: { type: 'float32', dims: [size, ...inputShape], data: x },
      [LABELS]: { type: 'int64', dims: [size], data: y },
    }, { outputs: this.fetch });
    const loss = (out[this.lossName]!.data as Float32Array)[0]!;
    const grads = new Map([...this.graph.gradientNames].map(([param, name]) => [param, out[name]!.data as Float32Array]));
    const norm = this.clip === null ? undefined : clipGradients(grads, this.clip);
    const lr = this.schedule.lr(this.optimizer.stepCount);
    if (!Number.isFinite(loss) || (norm !== undefined && !Number.isFinite(norm))) {
      throw new ExitwiseError('EXW_DIVERGED', `training diverged at step ${this.optimizer.stepCount + 1}: the loss is ${loss}${norm === undefined ? '' : `, the gradient norm ${norm}`} (learning rate ${lr})`, {
        hint: 'Lower the learning rate (--lr), add gradient clipping (--clip 1), or lengthen the warmup; resume from the last checkpoint is possible but will diverge the same way with the same settings.',
      });
    }
    this.optimizer.step(grads, lr);
    for (const [state, name] of this.graph.stateUpdates) this.store.set(state, out[name]!.data as Float32Array);
    return { loss, correct: scoreLogits(out[this.classifier.logits]!.data as Float32Array, y).correct, lr };
  }

  /** The forward model with the current weights and running statistics, BatchNorm in inference mode. */
  exportInference(): ModelProto {
    return exportInference(this.classifier.model, new Map(this.store.entries().map((e) => [e.name, e.value])));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
