/**
 * What the training losses of a multi-exit model share: a copy of the model to which loss nodes
 * are appended, with names checked against the model's, constants as initializers, the labels
 * input, and the scalar outputs in front of the exit logits.
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import {
  AttributeProto_AttributeType as AttrType, AttributeProtoSchema, type AttributeProto, type ModelProto, ModelProtoSchema, type NodeProto, NodeProtoSchema,
} from '../onnx/proto/onnx_pb.ts';
import { inferShapesStatic, valueInfoFromShape } from '../onnx/shapes/index.ts';
import { arrayToTensor, DataType } from '../onnx/tensor-data.ts';
import { validateModel } from '../onnx/validate.ts';
import type { MultiExitModel } from './attach.ts';

export class LossGraph {
  readonly model: ModelProto;
  private readonly taken: Set<string>;
  private readonly nodes: NodeProto[] = [];
  private readonly defined: string[] = [];
  private readonly batch: string | number;

  constructor(multiExit: MultiExitModel) {
    this.model = clone(ModelProtoSchema, multiExit.model);
    const graph = this.model.graph!;
    this.taken = new Set([...graph.node.flatMap((n) => n.output), ...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
    const s = inferShapesStatic(this.model).shapes.get(multiExit.exitLogits[0]!);
    this.batch = s === undefined || s.dims === 'unknown' ? 'N' : s.dims[0]!;
  }

  /** Appends a node with one output named `output`. */
  op(opType: string, input: string[], output: string, attribute: AttributeProto[] = []): string {
    this.define(output);
    this.nodes.push(create(NodeProtoSchema, { opType, name: output, input, output: [output], attribute }));
    return output;
  }

  /** A float scalar initializer. */
  scalar(name: string, value: number): string {
    this.define(name);
    this.model.graph!.initializer.push(arrayToTensor(name, DataType.FLOAT, [], Float32Array.of(value)));
    return name;
  }

  /** Σ terms as an Add chain whose last node is named `name`. */
  sum(terms: readonly string[], name: string): string {
    if (terms.length === 1) return this.op('Identity', [terms[0]!], name);
    let total = terms[0]!;
    for (let k = 1; k < terms.length; k++) total = this.op('Add', [total, terms[k]!], k === terms.length - 1 ? name : `${name}/partial${k}`);
    return total;
  }

  /** Mean cross-entropy of logits against int64 labels. */
  crossEntropy(logits: string, labels: string, output: string): string {
    return this.op('SoftmaxCrossEntropyLoss', [logits, labels], output, [stringAttribute('reduction', 'mean')]);
  }

  /**
   * Adds the nodes, the int64 labels input `[N]` and the graph outputs: `scalars` (loss first)
   * in front of the model's outputs. `EXW_BUILD` when a name collides with the model's.
   */
  finish(labels: string, scalars: readonly string[]): ModelProto {
    this.define(labels);
    const graph = this.model.graph!;
    graph.node.push(...this.nodes);
    graph.input.push(valueInfoFromShape(labels, { dataType: DataType.INT64, dims: [this.batch] }));
    graph.output = [...scalars.map((name) => valueInfoFromShape(name, { dataType: DataType.FLOAT, dims: [] })), ...graph.output];
    validateModel(this.model);
    return this.model;
  }

  private define(name: string): void {
    if (this.taken.has(name)) {
      throw buildError(`the loss would define "${name}", which the model already uses`, 'Pass another `labels` name, or rename the model tensors under "loss/".');
    }
    this.taken.add(name);
    this.defined.push(name);
  }
}

export function intAttribute(name: string, value: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(value) });
}

function stringAttribute(name: string, value: string): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttrType.STRING, s: new TextEncoder().encode(value) });
}

/** Per-exit loss weights: given ones checked, or 1 each. */
export function checkWeights(weights: readonly number[] | undefined, exits: number): number[] {
  const w = weights ?? new Array<number>(exits).fill(1);
  if (w.length !== exits) throw buildError(`${w.length} loss weights for ${exits} exits`, 'Give one weight per exit, the final exit last.');
  const bad = w.find((x) => !Number.isFinite(x) || x < 0);
  if (bad !== undefined) throw buildError(`loss weight ${bad} is not a finite non-negative number`, 'Weights scale each exit\'s loss; use values ≥ 0.');
  return [...w];
}

export function buildError(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_BUILD', message, { hint });
}
