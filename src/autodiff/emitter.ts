/**
 * Appends generated nodes and constants to a graph under construction, with tensor names that
 * cannot collide with the forward graph's (every generated name starts with a prefix and is
 * checked against the names already taken).
 */
import { create } from '@bufbuild/protobuf';
import { type AttributeProto, type NodeProto, NodeProtoSchema, type TensorProto } from '../onnx/proto/onnx_pb.ts';
import { arrayToTensor, DataType } from '../onnx/tensor-data.ts';
import { intAttr, intsAttr } from './attributes.ts';

export class GraphEmitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly taken: Set<string>;
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /**
   * `taken`: every tensor and node name already in the graph; `prefix`: e.g. `'grad/'`;
   * `opset`: the graph's ai.onnx opset (reductions other than ReduceSum take axes as an input
   * only from opset 18).
   */
  constructor(taken: Iterable<string>, private readonly prefix: string, private readonly opset: number) {
    this.taken = new Set(taken);
  }

  /** A fresh tensor name built from `hint`. */
  name(hint: string): string {
    let name: string;
    do name = `${this.prefix}${hint}_${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Reserves an exact name (e.g. `grad/conv1.weight`); a taken one gets a numbered suffix. */
  reserve(wanted: string): string {
    if (!this.taken.has(wanted)) {
      this.taken.add(wanted);
      return wanted;
    }
    return this.name(wanted.startsWith(this.prefix) ? wanted.slice(this.prefix.length) : wanted);
  }

  /** Appends a node with one output and returns the output's name. */
  op(opType: string, inputs: readonly string[], attrs: readonly AttributeProto[] = [], hint = opType): string {
    return this.opN(opType, inputs, 1, attrs, hint)[0]!;
  }

  /** Appends a node; `outputs` is a count (fresh names) or explicit names. */
  opN(opType: string, inputs: readonly string[], outputs: number | readonly string[], attrs: readonly AttributeProto[] = [], hint = opType): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.name(hint)) : [...outputs];
    this.nodes.push(create(NodeProtoSchema, {
      opType, input: [...inputs], output: names, attribute: [...attrs], name: this.name(`${opType}_node`),
    }));
    return names;
  }

  /** A reduction (`ReduceSum`, `ReduceSumSquare`, …) over `axes`, spelled for the graph's opset. */
  reduce(opType: string, x: string, axes: readonly number[], keepdims: boolean, hint = opType): string {
    const keep = intAttr('keepdims', keepdims ? 1 : 0);
    if (opType === 'ReduceSum' || this.opset >= 18) return this.op(opType, [x, this.int64s(axes)], [keep], hint);
    return this.op(opType, [x], [keep, intsAttr('axes', axes)], hint);
  }

  /** A 1-D int64 constant (shapes, axes), shared between uses. */
  int64s(values: readonly number[]): string {
    return this.constant(`i64:${values.join(',')}`, 'const_i64', () =>
      arrayToTensor('', DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt))));
  }

  /** A float32 scalar constant, shared between uses. */
  scalar(value: number): string {
    return this.constant(`f32:${value}`, 'const_f32', () => arrayToTensor('', DataType.FLOAT, [], Float32Array.of(value)));
  }

  /** A boolean scalar constant (e.g. Dropout's training_mode). */
  bool(value: boolean): string {
    return this.constant(`bool:${value}`, 'const_bool', () => arrayToTensor('', DataType.BOOL, [], Uint8Array.of(value ? 1 : 0)));
  }

  /** A float32 constant filled with one value, shared between uses. */
  filled(dims: readonly number[], value: number): string {
    const count = dims.reduce((p, d) => p * d, 1);
    return this.constant(`fill:${dims.join('x')}:${value}`, 'const_fill', () =>
      arrayToTensor('', DataType.FLOAT, dims, new Float32Array(count).fill(value)));
  }

  /** A float32 constant of any shape (e.g. im2col's identity kernels); not shared. */
  floats(dims: readonly number[], data: Float32Array, hint: string): string {
    const name = this.name(hint);
    this.initializers.push(arrayToTensor(name, DataType.FLOAT, dims, data));
    return name;
  }

  private constant(key: string, hint: string, make: () => TensorProto): string {
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const tensor = make();
    tensor.name = this.name(hint);
    this.initializers.push(tensor);
    this.constants.set(key, tensor.name);
    return tensor.name;
  }
}
