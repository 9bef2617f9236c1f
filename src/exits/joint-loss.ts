/**
 * The joint training loss of a multi-exit model, as standard ONNX ops that the autodiff turns
 * into a training graph: loss = Σ_k w_k · CE(logits_k, labels), each CE a
 * SoftmaxCrossEntropyLoss with mean reduction, the sum an Add chain (Mul, Add and
 * SoftmaxCrossEntropyLoss all have gradient rules).
 */
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import type { MultiExitModel } from './attach.ts';
import { checkWeights, LossGraph } from './loss-graph.ts';

export interface JointLossOptions {
  /** Weight of each exit's loss, in exit order (default: 1 each, the plain sum of SDN and BranchyNet). */
  weights?: readonly number[];
  /** Name of the int64 labels input `[N]` (default `labels`). */
  labels?: string;
}

export interface JointLossModel {
  /** Inputs: the backbone's plus the labels. Outputs: `loss`, the per-exit losses, the exit logits. */
  model: ModelProto;
  /** The scalar to train: `buildTrainingGraph(model, { loss, trainable })`. */
  loss: string;
  /** Each exit's mean cross-entropy (unweighted), in exit order. */
  exitLosses: string[];
  labels: string;
}

/**
 * Adds the weighted joint loss. `EXW_BUILD` for a weight count that does not match the exits,
 * a negative or non-finite weight, or names that collide with the model's.
 *
 * @example
 * const { model, loss } = addJointLoss(multiExit, { weights: [0.3, 0.6, 1] });
 * const training = buildTrainingGraph(model, { loss, trainable });
 */
export function addJointLoss(multiExit: MultiExitModel, options: JointLossOptions = {}): JointLossModel {
  const weights = checkWeights(options.weights, multiExit.exitLogits.length);
  const labels = options.labels ?? 'labels';
  const g = new LossGraph(multiExit);
  const exitLosses = multiExit.exitLogits.map((logits, k) => g.crossEntropy(logits, labels, `loss/exit${k}`));
  const loss = g.sum(exitLosses.map((l, k) => g.op('Mul', [l, g.scalar(`loss/weight${k}`, weights[k]!)], `loss/weighted${k}`)), 'loss');
  return { model: g.finish(labels, [loss, ...exitLosses]), loss, exitLosses, labels };
}
