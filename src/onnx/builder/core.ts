/**
 * The graph builder's machinery: graph inputs, initializers, one generic `op()` that adds a node
 * and infers its outputs' shapes with the shape-inference rules, outputs, and `build()`. Typed op
 * methods live in tensor-ops.ts and nn-ops.ts.
 */
import { clone, create } from '@bufbuild/protobuf';
import { ExitwiseError, isExitwiseError } from '../../errors.ts';
import { DEFAULT_OPSET, emptyModel } from '../model-io.ts';
import { type AttributeProto, AttributeProto_AttributeType as AttrType, AttributeProtoSchema, type ModelProto, ModelProtoSchema, type NodeProto, NodeProtoSchema, type TensorProto } from '../proto/onnx_pb.ts';
import { type OutputFacts, RuleContext, type TensorFacts, UnknownInputError } from '../shapes/context.ts';
import { formatShape, normalizeDim } from '../shapes/dims.ts';
import { shapeRuleFor } from '../shapes/registry.ts';
import { tensorFacts } from '../shapes/rules/constants.ts';
import { valueInfoFromShape } from '../shapes/value-info.ts';
import type { Dim } from '../shapes/types.ts';
import { arrayToTensor, DataType, dataTypeFromName, dataTypeName, type TensorArray } from '../tensor-data.ts';
import type { Attr, DTypeLike, GraphBuilderOptions, NodeOptions, Tensor } from './types.ts';

/** Oldest opset the builder emits: 13 moved Squeeze/Unsqueeze/ReduceSum axes and Split sizes to inputs. */
const MIN_OPSET = 13;

export class GraphBuilderCore {
  readonly opset: number;
  private readonly model: ModelProto;
  private readonly facts = new Map<string, TensorFacts>();
  private readonly handles = new Map<string, Tensor>();
  private readonly counters = new Map<string, number>();
  private readonly outputs: string[] = [];

  constructor(options: GraphBuilderOptions = {}) {
    this.opset = options.opset ?? DEFAULT_OPSET;
    if (!Number.isInteger(this.opset) || this.opset < MIN_OPSET) {
      throw new ExitwiseError('EXW_BUILD', `opset ${this.opset} is not supported by the graph builder`, { hint: `Use opset ${MIN_OPSET} or newer (default ${DEFAULT_OPSET}).` });
    }
    this.model = emptyModel(this.opset);
    if (options.graphName !== undefined) this.model.graph!.name = options.graphName;
  }

  /** Declares a graph input. String dims are symbolic (`'N'` for the batch). */
  input(name: string, dtype: DTypeLike, dims: readonly Dim[]): Tensor {
    this.claim(name);
    const dataType = toDataType(dtype);
    const shape = { dataType, dims: dims.map(normalizeDim) };
    this.model.graph!.input.push(valueInfoFromShape(name, shape));
    return this.register(name, shape);
  }

  /** Adds a weight (or other constant) as an initializer; the type follows the array unless given. */
  initializer(name: string, data: TensorArray, dims: readonly number[], dtype?: DTypeLike): Tensor {
    this.claim(name);
    const tensor = arrayToTensor(name, dtype === undefined ? dataTypeOfArray(data) : toDataType(dtype), dims, data);
    this.model.graph!.initializer.push(tensor);
    return this.register(name, tensorFacts(tensor));
  }

  /** A `Constant` node holding the values. */
  constant(data: TensorArray, dims: readonly number[], options: NodeOptions & { dtype?: DTypeLike } = {}): Tensor {
    const t = arrayToTensor('', options.dtype === undefined ? dataTypeOfArray(data) : toDataType(options.dtype), dims, data);
    return this.op('Constant', [], { value: { t } }, options)[0]!;
  }

  /** An int64 initializer for shapes, axes and indices, named after the node that reads it. */
  protected ints(owner: string, role: string, values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
    return this.initializer(this.helperName(owner, role), BigInt64Array.from(values.map(BigInt)), dims);
  }

  /** A scalar initializer of the given float type (for formulas such as Gelu's). */
  protected scalar(owner: string, role: string, value: number, dataType: number): Tensor {
    const data = dataType === DataType.DOUBLE ? Float64Array.of(value) : dataType === DataType.FLOAT ? Float32Array.of(value)
      : this.fail(owner, `needs a float32 or float64 input, not ${dataTypeName(dataType)}`);
    return this.initializer(this.helperName(owner, role), data, []);
  }

  /**
   * Adds a node and returns its outputs, shapes inferred. Absent optional inputs are `undefined`;
   * attributes that are `undefined` are left out. Misuse throws `EXW_BUILD` naming the node.
   */
  op(opType: string, inputs: readonly (Tensor | undefined)[], attrs: Record<string, Attr | undefined> = {}, options: NodeOptions & { outputs?: number } = {}): Tensor[] {
    for (const t of inputs) if (t !== undefined && this.handles.get(t.name) !== t) this.fail(opType, `input "${t.name}" is not a tensor of this builder`);
    const name = options.name ?? this.freshName(opType);
    const count = options.outputs ?? 1;
    const outputNames = Array.from({ length: count }, (_, k) => (k === 0 ? name : `${name}_${k}`));
    outputNames.forEach((n) => this.claim(n));
    const node = create(NodeProtoSchema, {
      name,
      opType,
      input: trimOptional(inputs.map((t) => t?.name ?? '')),
      output: outputNames,
      attribute: Object.entries(attrs).flatMap(([key, v]) => (v === undefined ? [] : [toAttribute(key, v)])),
    });
    const inferred = this.infer(node);
    this.model.graph!.node.push(node);
    return outputNames.map((n, k) => this.register(n, inferred[k] ?? this.fail(name, `the shape rule gives no output ${k}`)));
  }

  /** Marks a tensor as a graph output, renamed through an Identity node when `name` differs. */
  output(tensor: Tensor, name?: string): Tensor {
    const out = name === undefined || name === tensor.name ? tensor : this.op('Identity', [tensor], {}, { name })[0]!;
    if (this.outputs.includes(out.name)) this.fail(out.name, 'is already a graph output');
    this.outputs.push(out.name);
    return out;
  }

  /** The model: a fresh ModelProto each call, outputs declared with their inferred shapes. */
  build(): ModelProto {
    if (this.outputs.length === 0) throw new ExitwiseError('EXW_BUILD', 'the graph has no outputs', { hint: 'Mark at least one tensor with b.output(tensor).' });
    const built = clone(ModelProtoSchema, this.model);
    built.graph!.output = this.outputs.map((n) => valueInfoFromShape(n, this.facts.get(n)!));
    return built;
  }

  private infer(node: NodeProto): OutputFacts[] {
    const rule = shapeRuleFor(node);
    if (rule === undefined) this.fail(node.name, `${node.opType} has no shape rule, so the builder cannot check it`);
    try {
      return rule(new RuleContext(node, (n) => this.facts.get(n)));
    } catch (e) {
      if (e instanceof UnknownInputError) this.fail(node.name, `input "${e.message}" has an unknown shape`);
      if (isExitwiseError(e)) {
        const shapes = node.input.filter((n) => n !== '').map((n) => `${n} ${formatShape(this.facts.get(n)!.dims)}`).join(', ');
        throw new ExitwiseError('EXW_BUILD', `${node.opType} "${node.name}": ${e.message.replace(/^[^:]*: /, '')} (inputs: ${shapes})`, { hint: 'Check the shapes and attributes passed to this op.', cause: e });
      }
      throw e;
    }
  }

  private register(name: string, facts: TensorFacts): Tensor {
    if (facts.dims === 'unknown') this.fail(name, 'has an unknown shape');
    this.facts.set(name, facts);
    const handle: Tensor = Object.freeze({ name, dataType: facts.dataType, dims: Object.freeze([...facts.dims]) });
    this.handles.set(name, handle);
    return handle;
  }

  /** `<base>_<k>` with the first k that is free (deterministic: counted per base). */
  protected freshName(base: string): string {
    let k = this.counters.get(base) ?? 0;
    while (this.taken(`${base}_${k}`)) k++;
    this.counters.set(base, k + 1);
    return `${base}_${k}`;
  }

  /** `<owner>_<role>` for a helper tensor of a node, suffixed only if taken. */
  private helperName(owner: string, role: string): string {
    const base = `${owner}_${role}`;
    return this.taken(base) ? this.freshName(base) : base;
  }

  private taken(name: string): boolean {
    return this.facts.has(name) || this.model.graph!.node.some((n) => n.name === name);
  }

  private claim(name: string): void {
    if (name === '') throw new ExitwiseError('EXW_BUILD', 'a tensor name is empty');
    if (this.facts.has(name)) this.fail(name, 'names a tensor that already exists', 'Tensor names must be unique; pick another name or leave it to the builder.');
  }

  protected fail(name: string, message: string, hint?: string): never {
    throw new ExitwiseError('EXW_BUILD', `"${name}" ${message}`, hint === undefined ? {} : { hint });
  }
}

function trimOptional(names: string[]): string[] {
  let n = names.length;
  while (n > 0 && names[n - 1] === '') n--;
  return names.slice(0, n);
}

function toAttribute(name: string, v: Attr): AttributeProto {
  if ('i' in v) return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(v.i) });
  if ('ints' in v) return create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: v.ints.map(BigInt) });
  if ('f' in v) return create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: v.f });
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: AttrType.FLOATS, floats: [...v.floats] });
  if ('s' in v) return create(AttributeProtoSchema, { name, type: AttrType.STRING, s: new TextEncoder().encode(v.s) });
  return create(AttributeProtoSchema, { name, type: AttrType.TENSOR, t: v.t as TensorProto });
}

function toDataType(dtype: DTypeLike): number {
  return typeof dtype === 'number' ? dtype : dataTypeFromName(dtype);
}

function dataTypeOfArray(data: TensorArray): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int8Array) return DataType.INT8;
  if (Array.isArray(data)) return DataType.STRING;
  throw new ExitwiseError('EXW_BUILD', `cannot tell the ONNX type of a ${data.constructor.name}`, { hint: 'Pass the dtype explicitly.' });
}
