/**
 * The joint training loss of a multi-exit model, as standard ONNX ops that the autodiff turns
 * into a training graph: loss = Σ_k w_k · CE(logits_k, labels), each CE a
 * SoftmaxCrossEntropyLoss with mean reduction, the sum an Add chain (Mul, Add and
 * SoftmaxCrossEntropyLoss all have gradient rules).
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import {
  AttributeProto_AttributeType as AttrType, AttributeProtoSchema, type ModelProto, ModelProtoSchema, type NodeProto, NodeProtoSchema,
} from '../onnx/proto/onnx_pb.ts';
import { inferShapesStatic, valueInfoFromShape } from '../onnx/shapes/index.ts';
import { arrayToTensor, DataType } from '../onnx/tensor-data.ts';
import { validateModel } from '../onnx/validate.ts';
import type { MultiExitModel } from './attach.ts';

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
  const exits = multiExit.exitLogits;
  const weights = options.weights ?? exits.map(() => 1);
  if (weights.length !== exits.length) throw buildError(`${weights.length} loss weights for ${exits.length} exits`, 'Give one weight per exit, the final exit last.');
  const bad = weights.find((w) => !Number.isFinite(w) || w < 0);
  if (bad !== undefined) throw buildError(`loss weight ${bad} is not a finite non-negative number`, 'Weights scale each exit\'s loss; use values ≥ 0.');
  const labels = options.labels ?? 'labels';
  const model = clone(ModelProtoSchema, multiExit.model);
  const graph = model.graph!;
  const shapes = inferShapesStatic(model).shapes;
  const batch = (() => {
    const s = shapes.get(exits[0]!);
    return s === undefined || s.dims === 'unknown' ? 'N' : s.dims[0]!;
  })();

  const taken = new Set([...graph.node.flatMap((n) => n.output), ...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
  const nodes: NodeProto[] = [];
  const node = (opType: string, input: string[], output: string, attribute: NodeProto['attribute'] = []): string => {
    nodes.push(create(NodeProtoSchema, { opType, name: output, input, output: [output], attribute }));
    return output;
  };
  const exitLosses = exits.map((logits, k) => node('SoftmaxCrossEntropyLoss', [logits, labels], `loss/exit${k}`, [
    create(AttributeProtoSchema, { name: 'reduction', type: AttrType.STRING, s: new TextEncoder().encode('mean') }),
  ]));
  const weighted = exitLosses.map((l, k) => {
    graph.initializer.push(arrayToTensor(`loss/weight${k}`, DataType.FLOAT, [], Float32Array.of(weights[k]!)));
    return node('Mul', [l, `loss/weight${k}`], `loss/weighted${k}`);
  });
  let loss = weighted[0]!;
  for (let k = 1; k < weighted.length; k++) loss = node('Add', [loss, weighted[k]!], k === weighted.length - 1 ? 'loss' : `loss/sum${k}`);
  if (weighted.length === 1) loss = node('Identity', [loss], 'loss');

  for (const name of [labels, ...nodes.map((n) => n.output[0]!), ...weighted.map((_, k) => `loss/weight${k}`)]) {
    if (taken.has(name)) throw buildError(`the joint loss would define "${name}", which the model already uses`, 'Pass another `labels` name, or rename the model tensors under "loss/".');
  }
  graph.node.push(...nodes);
  graph.input.push(valueInfoFromShape(labels, { dataType: DataType.INT64, dims: [batch] }));
  const scalar = (name: string) => valueInfoFromShape(name, { dataType: DataType.FLOAT, dims: [] });
  graph.output = [scalar(loss), ...exitLosses.map(scalar), ...graph.output];
  validateModel(model);
  return { model, loss, exitLosses, labels };
}

function buildError(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_BUILD', message, { hint });
}
