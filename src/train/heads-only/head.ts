/**
 * One exit head as a model of its own: input the cached feature tensor, output the head's logits,
 * its weights as initializers. Its training graph adds the loss (hard targets, optionally
 * distillation from cached teacher logits fed as an input) and differentiates the head alone.
 */
import { clone, create } from '@bufbuild/protobuf';
import { buildTrainingGraph, type TrainingGraph } from '../../autodiff/training-graph.ts';
import { ExitwiseError } from '../../errors.ts';
import type { MultiExitModel } from '../../exits/attach.ts';
import { addDistillationLoss } from '../../exits/distill-loss.ts';
import { addJointLoss } from '../../exits/joint-loss.ts';
import { indexGraph } from '../../onnx/graph-index.ts';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema } from '../../onnx/proto/onnx_pb.ts';
import { inferShapesStatic, valueInfoFromShape } from '../../onnx/shapes/index.ts';
import { extractSubgraph } from '../../onnx/surgery/extract.ts';
import { DataType } from '../../onnx/tensor-data.ts';
import type { HeadDistillation } from './config.ts';

/** Exit k's head cut out of a multi-exit model. */
export interface HeadModel {
  /** Input `feature`, output `logits`; weights as initializers. */
  forward: ModelProto;
  /** The backbone tensor the head reads (its graph input). */
  feature: string;
  /** The head's logits `[N, classes]` (its graph output). */
  logits: string;
  /** Its float weights, BatchNorm running statistics excluded; none is shared with the backbone or another exit. */
  trainable: string[];
}

/** Name of the int64 targets input of a head's training graph. */
export const TARGETS_INPUT = 'labels';
/** Name of the teacher-logits input `[N, classes]` when distilling. */
export const TEACHER_INPUT = 'teacher/logits';

/**
 * Extracts early exit `k`'s head. Its trainable weights are the float initializers it reads that
 * nothing else in the model reads (so training it can never change the backbone), minus the
 * running statistics of its BatchNorm nodes. `EXW_USAGE` when it has none.
 */
export function extractHead(multiExit: MultiExitModel, k: number): HeadModel {
  const feature = multiExit.exitTensors[k];
  const logits = multiExit.exitLogits[k];
  if (feature === undefined || logits === undefined) throw new ExitwiseError('EXW_USAGE', `exit ${k} is not an early exit of the model`, { hint: `Early exits are 0…${multiExit.exitTensors.length - 1}.` });
  const forward = extractSubgraph(multiExit.model, { inputs: [feature], outputs: [logits] }, { shapes: inferShapesStatic(multiExit.model).shapes });
  const graph = forward.graph!;
  // Outputs are unique (SSA), so a node of the whole model is one of the head's iff its first output is.
  const headOutputs = new Set(graph.node.flatMap((n) => n.output));
  const whole = indexGraph(multiExit.model.graph!);
  const sharedElsewhere = (name: string) => (whole.consumers.get(name) ?? []).some((i) => !headOutputs.has(multiExit.model.graph!.node[i]!.output[0]!));
  const statistics = new Set(graph.node.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.input.slice(3, 5)));
  const trainable = graph.initializer
    .filter((t) => t.dataType === DataType.FLOAT && !statistics.has(t.name) && !sharedElsewhere(t.name))
    .map((t) => t.name);
  if (trainable.length === 0) {
    throw new ExitwiseError('EXW_USAGE', `exit ${k}'s head ("${logits}") has no weights of its own to train`, {
      hint: 'Attach heads with attachExits; a head that only reuses backbone weights cannot be trained alone.',
    });
  }
  return { forward, feature, logits, trainable };
}

/** A head's training graph and the names a step feeds and fetches. */
export interface HeadTrainingGraph {
  graph: TrainingGraph;
  loss: string;
  /** Whether the graph takes the teacher logits as input `TEACHER_INPUT`. */
  teacher: boolean;
}

/**
 * The training graph of a head: mean cross-entropy with the targets, or with `distill` the
 * self-distillation loss α·CE + (1−α)·T²·KL(teacher ‖ head) (`addDistillationLoss`, the same
 * loss end-to-end distillation uses), the teacher being cached logits fed as an input.
 */
export function headTrainingGraph(head: HeadModel, classes: number, distill: Required<HeadDistillation> | null): HeadTrainingGraph {
  if (distill === null) {
    const withLoss = addJointLoss({ model: head.forward, exitLogits: [head.logits], exitTensors: [] }, { labels: TARGETS_INPUT });
    return { graph: buildTrainingGraph(withLoss.model, { loss: withLoss.loss, trainable: head.trainable }), loss: withLoss.loss, teacher: false };
  }
  // A two-exit model whose "final exit" is the teacher input, passed through an Identity; the
  // final exit's own cross-entropy gets weight 0: only the head's loss counts.
  const teacherOutput = 'teacher/final';
  const forward = clone(ModelProtoSchema, head.forward);
  const graph = forward.graph!;
  const logitsShape = { dataType: DataType.FLOAT, dims: ['N', classes] };
  graph.input.push(valueInfoFromShape(TEACHER_INPUT, logitsShape));
  graph.node.push(create(NodeProtoSchema, { opType: 'Identity', name: teacherOutput, input: [TEACHER_INPUT], output: [teacherOutput] }));
  graph.output.push(valueInfoFromShape(teacherOutput, logitsShape));
  const withLoss = addDistillationLoss({ model: forward, exitLogits: [head.logits, teacherOutput], exitTensors: [head.feature] }, {
    alpha: distill.alpha, temperature: distill.temperature, teacher: 'final', weights: [1, 0], labels: TARGETS_INPUT,
  });
  const training = buildTrainingGraph(withLoss.model, { loss: withLoss.loss, trainable: head.trainable, stopGradient: withLoss.stopGradient });
  return { graph: training, loss: withLoss.loss, teacher: true };
}
