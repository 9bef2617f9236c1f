/**
 * Writing ONNX nodes by hand for the compiled adaptive model: fresh names that cannot collide with
 * the bundle's, constants as initializers of the outer graph (nested branches read them from
 * there), and the few attribute kinds the model needs. The graph builder (src/onnx/builder) has no
 * nested graphs, and this model is mostly bundle nodes moved around, not new layers.
 */
import { create } from '@bufbuild/protobuf';
import {
  type AttributeProto, AttributeProto_AttributeType as AttrType, AttributeProtoSchema, type GraphProto, GraphProtoSchema,
  type NodeProto, NodeProtoSchema, type TensorProto, ValueInfoProtoSchema,
} from '../../onnx/proto/onnx_pb.ts';
import { arrayToTensor, DataType } from '../../onnx/tensor-data.ts';

export type AttrValue = number | readonly number[] | GraphProto | TensorProto;

/** Nodes of one graph scope; constants and names shared by every scope of the model. */
export class NodeEmitter {
  readonly nodes: NodeProto[] = [];
  readonly #model: ModelScope;

  constructor(model: ModelScope) {
    this.#model = model;
  }

  /** A new scope (an `If` branch) of the same model. */
  branch(): NodeEmitter {
    return new NodeEmitter(this.#model);
  }

  get opset(): number {
    return this.#model.opset;
  }

  /** Adds a node; returns its `outputs` fresh output names (named after `role`). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs = 1, role = opType): string[] {
    const names = Array.from({ length: outputs }, (_, i) => this.#model.fresh(outputs === 1 ? role : `${role}_${i}`));
    this.nodes.push(create(NodeProtoSchema, {
      opType, input: [...inputs], output: names, name: this.#model.fresh(`${opType}_node`),
      attribute: Object.entries(attrs).map(([name, value]) => attribute(name, value)),
    }));
    return names;
  }

  /** Adds existing nodes (the bundle's). */
  adopt(nodes: readonly NodeProto[]): void {
    this.nodes.push(...nodes);
  }

  /** A float32 scalar constant. */
  float(role: string, value: number): string {
    return this.#model.constant(role, DataType.FLOAT, [], Float32Array.of(value));
  }

  /** An int64 constant, a scalar when `dims` is `[]`. */
  ints(role: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.#model.constant(role, DataType.INT64, dims, BigInt64Array.from(values.map(BigInt)));
  }

  /** `Reduce*` over `axes`: axes as an attribute before the opset that made them an input (ReduceSum 13, the others 18). */
  reduce(opType: 'ReduceMax' | 'ReduceSum', x: string, axes: readonly number[], keepdims: boolean): string {
    const asInput = opType === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    const keep = keepdims ? 1 : 0;
    return asInput ? this.op(opType, [x, this.ints('axes', axes)], { keepdims: keep })[0]! : this.op(opType, [x], { axes, keepdims: keep })[0]!;
  }

  /**
   * A graph of this scope's nodes returning `outputs`. A branch must produce what it returns: a
   * value of an outer scope (or a constant) goes through an Identity; this scope's own are
   * returned as they are (each op counts at batch 1).
   */
  graph(name: string, outputs: readonly string[]): GraphProto {
    const own = new Set(this.nodes.flatMap((n) => n.output));
    const returned = outputs.map((o) => (own.has(o) ? o : this.op('Identity', [o], {}, 1, `${name}_out`)[0]!));
    return create(GraphProtoSchema, { name, node: this.nodes, output: returned.map((n) => create(ValueInfoProtoSchema, { name: n })) });
  }
}

/** What every scope of one compiled model shares. */
export class ModelScope {
  readonly opset: number;
  readonly initializers: TensorProto[] = [];
  readonly #taken: Set<string>;
  readonly #prefix: string;
  #counter = 0;

  /** `taken`: every tensor and node name already in the model (the bundle's). */
  constructor(opset: number, taken: Iterable<string>, prefix = 'exitwise.adaptive/') {
    this.opset = opset;
    this.#taken = new Set(taken);
    this.#prefix = prefix;
  }

  fresh(role: string): string {
    let name: string;
    do name = `${this.#prefix}${role}_${this.#counter++}`;
    while (this.#taken.has(name));
    this.#taken.add(name);
    return name;
  }

  constant(role: string, dataType: number, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    const name = this.fresh(role);
    this.initializers.push(arrayToTensor(name, dataType, dims, data));
    return name;
  }
}

function attribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(value) });
  if (Array.isArray(value)) return create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: (value as readonly number[]).map(BigInt) });
  const message = value as GraphProto | TensorProto;
  if (message.$typeName === 'onnx.GraphProto') return create(AttributeProtoSchema, { name, type: AttrType.GRAPH, g: message });
  return create(AttributeProtoSchema, { name, type: AttrType.TENSOR, t: message });
}
