/**
 * Reverse-mode autodiff over ONNX graphs: `buildTrainingGraph` turns a forward model into a
 * training model of standard ONNX ops (weights as inputs; loss, gradients and updated running
 * statistics as outputs) that ONNX Runtime runs in one session; `exportInference` folds the
 * trained values back into the forward model.
 */
import { GRADIENT_RULES } from './rules/index.ts';

export { buildTrainingGraph } from './training-graph.ts';
export type { TrainingGraph, TrainingGraphOptions } from './training-graph.ts';
export { exportInference } from './export.ts';
export { DEFAULT_TRAINING_MODE, type NodeMode, type TrainingMode } from './modes.ts';
export type { BackwardContext, ForwardContext, ForwardRewrite, GradientRule } from './rule.ts';

/** Op types with a gradient rule, sorted. */
export function opsWithGradientRules(): string[] {
  return [...GRADIENT_RULES.keys()].sort();
}
