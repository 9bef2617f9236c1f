/**
 * The training-graph builder: from a forward model, a loss tensor and the initializers to train,
 * a model of standard ONNX ops that ONNX Runtime runs in one session. Trainable weights (and
 * running statistics) become graph inputs; outputs are the loss, one gradient per trainable
 * weight, the updated running statistics, then the forward model's other outputs.
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import { describeNode, indexGraph } from '../onnx/graph-index.ts';
import { type ModelProto, ModelProtoSchema, type NodeProto, type ValueInfoProto } from '../onnx/proto/onnx_pb.ts';
import { inferShapesStatic, valueInfoFromShape } from '../onnx/shapes/index.ts';
import type { Dim, TensorShape } from '../onnx/shapes/types.ts';
import { DataType } from '../onnx/tensor-data.ts';
import { constantValues } from './constants.ts';
import { GraphEmitter } from './emitter.ts';
import { DEFAULT_TRAINING_MODE, MODE_DEPENDENT_OPS, type NodeMode, type TrainingMode, trainingNodes } from './modes.ts';
import { reachability } from './reachability.ts';
import type { BackwardContext, ForwardContext, ForwardRewrite } from './rule.ts';
import { GRADIENT_RULES } from './rules/index.ts';

/** Opset of training graphs at least: ScatterElements with reduction='add' needs 16. */
const MIN_TRAINING_OPSET = 17;
/** Older opsets differ in Softmax, Reduce* and Dropout semantics the rules assume. */
const MIN_FORWARD_OPSET = 13;

export interface TrainingGraphOptions {
  /** The loss tensor (one element, float). */
  loss: string;
  /** Names of the initializers to train; the others stay frozen initializers. */
  trainable: readonly string[];
  /** Overrides declared graph-input shapes for shape inference (e.g. `{ x: ['N', 1, 28, 28] }`). */
  inputShapes?: Record<string, Dim[]>;
  /**
   * Which BatchNormalization and Dropout nodes run in training mode (default
   * `'trainable-paths'`: those the graph differentiates; `'all'`; `'none'`). See modes.ts.
   */
  trainingMode?: TrainingMode;
  /** Per-node overrides of `trainingMode`, by node name. */
  nodeModes?: Record<string, NodeMode>;
  /**
   * Tensors treated as constants: no gradient flows back through them (PyTorch's `detach`), e.g.
   * a distillation teacher's logits. Each must be a node output of the graph.
   */
  stopGradient?: readonly string[];
}

export interface TrainingGraph {
  model: ModelProto;
  /** Trainable parameter → the graph output holding its gradient (`grad/<name>`). */
  gradientNames: Map<string, string>;
  /** Running state (BatchNormalization mean/variance) → the graph output holding its new value. */
  stateUpdates: Map<string, string>;
  /** Initializers that became graph inputs (trainable weights, running state); feed their values each step. */
  parameterInputs: string[];
}

function gradientError(message: string, hint?: string): ExitwiseError {
  return new ExitwiseError('EXW_GRADIENT', message, hint === undefined ? {} : { hint });
}

/**
 * Builds the training graph.
 *
 * @example
 * const { model, gradientNames } = buildTrainingGraph(forward, { loss: 'loss', trainable: ['fc.weight', 'fc.bias'] });
 * // run `model` in ORT feeding the data and the weights; fetch gradientNames.get('fc.weight')
 */
export function buildTrainingGraph(forward: ModelProto, options: TrainingGraphOptions): TrainingGraph {
  const model = clone(ModelProtoSchema, forward);
  const graph = model.graph;
  if (graph === undefined) throw gradientError('the model has no graph');
  const opsetEntry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  const opset = Math.max(Number(opsetEntry?.version ?? 0n), MIN_TRAINING_OPSET);
  if (Number(opsetEntry?.version ?? 0n) < MIN_FORWARD_OPSET) {
    throw gradientError(`the model's ai.onnx opset is ${opsetEntry?.version ?? 'missing'}; training graphs need ${MIN_FORWARD_OPSET} or newer`,
      'Re-export the model with opset_version=17.');
  }
  const index = indexGraph(graph);
  const { loss, trainable } = options;
  if (!index.producer.has(loss) && !index.inputs.includes(loss)) throw gradientError(`loss tensor "${loss}" is not in the graph`);
  for (const p of trainable) {
    const t = index.initializers.get(p);
    if (t === undefined) throw gradientError(`trainable "${p}" is not an initializer of the graph`, 'Name weights as they appear in graph.initializer.');
    if (t.dataType !== DataType.FLOAT) throw gradientError(`trainable "${p}" is not float32`);
  }
  const shapes = inferShapesStatic(model, options.inputShapes === undefined ? {} : { inputShapes: options.inputShapes }).shapes;
  const lossShape = shapes.get(loss);
  if (lossShape !== undefined && lossShape.dims !== 'unknown' && lossShape.dims.some((d) => d !== 1)) {
    throw gradientError(`loss "${loss}" has shape [${lossShape.dims.join(', ')}]; it must hold one element`, 'Reduce the loss with reduction "mean" or ReduceMean.');
  }
  const stopGradient = new Set(options.stopGradient ?? []);
  for (const name of stopGradient) {
    if (!index.producer.has(name)) throw gradientError(`stopGradient names "${name}", which no node of the graph produces`, 'Name node outputs (insert an Identity to detach a graph input or a shared tensor).');
  }
  const { requiresGrad, active } = reachability(index, trainable, loss, shapes, stopGradient);
  const training = trainingNodes(index, active, options.trainingMode ?? DEFAULT_TRAINING_MODE, options.nodeModes ?? {});

  const taken = [...graph.node.flatMap((n) => [n.name, ...n.input, ...n.output]), ...graph.input.map((v) => v.name), ...index.initializers.keys()];
  const fwd = new GraphEmitter(taken, 'train/', opset);
  const bwd = new GraphEmitter(taken, 'grad/', opset);
  const dims = (node: NodeProto, i: number) => (name: string): Dim[] => {
    const s = shapes.get(name);
    if (s === undefined || s.dims === 'unknown') throw nodeError(node, i, `needs the shape of "${name}", which shape inference could not determine`, 'Declare the input shapes (inputShapes) or add value_info.');
    return s.dims;
  };
  const constant = (name: string) => constantValues(index, name);
  const forwardContext = (node: NodeProto, i: number, emit: GraphEmitter): ForwardContext => ({
    node, emit, dims: dims(node, i), dataType: (name) => shapes.get(name)?.dataType ?? 0, constant, training: training.has(i), fail: (m) => { throw nodeError(node, i, m); },
  });

  // Forward pass: nodes in topological order; active ones, and nodes in training mode, in their training form.
  const activeSet = new Set(active);
  const rewrites = new Map<number, ForwardRewrite>();
  for (const i of index.order) {
    const node = graph.node[i]!;
    const standard = node.domain === '' || node.domain === 'ai.onnx';
    const rewritten = activeSet.has(i) || (training.has(i) && standard && MODE_DEPENDENT_OPS.has(node.opType));
    const rule = rewritten && standard ? GRADIENT_RULES.get(node.opType) : undefined;
    if (activeSet.has(i) && rule === undefined) {
      throw nodeError(node, i, `has no gradient rule (rules exist for ${[...GRADIENT_RULES.keys()].sort().join(', ')})`,
        'Freeze the parameters that feed it, or rewrite the model with supported ops.');
    }
    if (rule?.forward === undefined) fwd.nodes.push(node);
    else rewrites.set(i, rule.forward(forwardContext(node, i, fwd)));
  }

  // Backward pass: reverse topological order; several consumers' gradients are summed.
  const grads = new Map<string, string[]>();
  const contribute = (name: string, grad: string) => grads.set(name, [...(grads.get(name) ?? []), grad]);
  const total = (name: string): string | undefined => {
    const list = grads.get(name) ?? [];
    if (list.length <= 1) return list[0];
    // Two contributions (a residual and its branch): Add, which ORT runs on all threads; Sum runs on one.
    const sum = bwd.op(list.length === 2 ? 'Add' : 'Sum', list, [], 'accumulate');
    grads.set(name, [sum]);
    return sum;
  };
  contribute(loss, bwd.op('Expand', [bwd.scalar(1), bwd.op('Shape', [loss])], [], 'seed'));
  for (const i of [...active].reverse()) {
    const node = graph.node[i]!;
    const dys = node.output.map((o) => (o === '' ? undefined : total(o)));
    if (dys.every((d) => d === undefined)) continue;
    const ctx: BackwardContext = {
      ...forwardContext(node, i, bwd),
      dy: (k) => dys[k],
      wants: (k) => node.input[k] !== undefined && requiresGrad.has(node.input[k]!),
      saved: rewrites.get(i)?.saved ?? {},
    };
    GRADIENT_RULES.get(node.opType)!.backward(ctx).forEach((g, k) => {
      if (g !== undefined && ctx.wants(k)) contribute(node.input[k]!, g);
    });
  }

  const gradientNames = new Map<string, string>();
  for (const p of trainable) {
    const out = bwd.reserve(`grad/${p}`);
    const grad = total(p);
    if (grad === undefined) bwd.opN('ConstantOfShape', [bwd.int64s(index.initializers.get(p)!.dims.map(Number))], [out]);
    else bwd.opN('Identity', [grad], [out]);
    gradientNames.set(p, out);
  }
  const stateUpdates = new Map<string, string>();
  for (const r of rewrites.values()) for (const u of r.stateUpdates ?? []) if (index.initializers.has(u.state)) stateUpdates.set(u.state, u.updated);

  const parameterInputs = [...trainable, ...stateUpdates.keys()];
  const shapeOf = (name: string): TensorShape => shapes.get(name) ?? { dataType: DataType.FLOAT, dims: 'unknown' };
  const declaredOutput = new Map(graph.output.map((v) => [v.name, v]));
  const output = (name: string, like: string): ValueInfoProto => declaredOutput.get(name) ?? valueInfoFromShape(name, shapeOf(like));
  const inputs = new Set(parameterInputs);
  graph.input = [
    ...graph.input.filter((v) => !index.initializers.has(v.name)),
    ...parameterInputs.map((p) => valueInfoFromShape(p, shapeOf(p))),
  ];
  graph.initializer = [...graph.initializer.filter((t) => !inputs.has(t.name)), ...fwd.initializers, ...bwd.initializers];
  graph.node = [...fwd.nodes, ...bwd.nodes];
  graph.output = [
    output(loss, loss),
    ...[...gradientNames].map(([p, g]) => output(g, p)),
    ...[...stateUpdates].map(([s, u]) => output(u, s)),
    ...graph.output.filter((v) => v.name !== loss),
  ];
  graph.valueInfo = [];
  if (opsetEntry !== undefined) opsetEntry.version = BigInt(opset);
  return { model: create(ModelProtoSchema, model), gradientNames, stateUpdates, parameterInputs };
}

function nodeError(node: NodeProto, i: number, message: string, hint?: string): ExitwiseError {
  return gradientError(`${describeNode(node, i)}: ${message}`, hint);
}
