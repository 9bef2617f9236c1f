/**
 * What a shape rule sees of its node: the inputs' inferred types, shapes and (for small constant
 * tensors, such as those of shape subgraphs) values, and typed attribute readers. Rules report a
 * broken node with `ctx.fail`, which throws `EXW_SHAPE`.
 */
import { ExitwiseError } from '../../errors.ts';
import type { AttributeProto, NodeProto } from '../proto/onnx_pb.ts';
import { formatShape } from './dims.ts';
import type { Dim, TensorShape } from './types.ts';

/** Tensors with at most this many elements have their values tracked (shape subgraphs). */
export const MAX_FOLDED_ELEMENTS = 64;

/** A tensor's facts during inference: its shape, and its values when small and constant. */
export interface TensorFacts extends TensorShape {
  /** Flattened values (sizes or symbolic dims) when known; only for small tensors. */
  value?: Dim[];
}

/** What a rule returns for one output. */
export interface OutputFacts {
  dataType: number;
  dims: Dim[];
  value?: Dim[];
}

/** A shape rule: the facts of a node's outputs from those of its inputs. */
export type ShapeRule = (ctx: RuleContext) => OutputFacts[];

/** Thrown when an input's shape is unknown: the node's outputs become unknown without a warning of their own. */
export class UnknownInputError extends Error {}

export class RuleContext {
  constructor(
    readonly node: NodeProto,
    private readonly facts: (name: string) => TensorFacts | undefined,
  ) {}

  /** Number of inputs (trailing empty names included). */
  get inputCount(): number {
    return this.node.input.length;
  }

  /** True when input i is present (not omitted with an empty name). */
  has(i: number): boolean {
    const name = this.node.input[i];
    return name !== undefined && name !== '';
  }

  /** Input i with a known shape; an unknown one stops the rule. */
  input(i: number): { dataType: number; dims: Dim[]; value?: Dim[] } {
    if (!this.has(i)) this.fail(`input ${i} is missing`);
    const f = this.facts(this.node.input[i]!);
    if (f === undefined || f.dims === 'unknown') throw new UnknownInputError(this.node.input[i]!);
    return f.value === undefined ? { dataType: f.dataType, dims: f.dims } : { dataType: f.dataType, dims: f.dims, value: f.value };
  }

  /** The dims of input i. */
  dims(i: number): Dim[] {
    return this.input(i).dims;
  }

  /** The rank of input i, checked against what the op accepts. */
  rank(i: number, min = 0, max = Infinity): number {
    const r = this.dims(i).length;
    if (r < min || r > max) this.fail(`input ${i} has rank ${r} ${formatShape(this.dims(i))}; expected ${min === max ? min : `${min}–${max}`}`);
    return r;
  }

  /** The constant value of input i, when it is known (`undefined` for an absent input too). */
  value(i: number): Dim[] | undefined {
    if (!this.has(i)) return undefined;
    return this.facts(this.node.input[i]!)?.value;
  }

  /** The constant value of input i as plain numbers, when known and free of symbols. */
  numbers(i: number): number[] | undefined {
    const v = this.value(i);
    return v !== undefined && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
  }

  attr(name: string): AttributeProto | undefined {
    return this.node.attribute.find((a) => a.name === name);
  }

  int(name: string, fallback: number): number {
    const a = this.attr(name);
    return a === undefined ? fallback : Number(a.i);
  }

  float(name: string, fallback: number): number {
    const a = this.attr(name);
    return a === undefined ? fallback : a.f;
  }

  ints(name: string): number[] | undefined {
    const a = this.attr(name);
    return a === undefined ? undefined : a.ints.map(Number);
  }

  string(name: string, fallback: string): string {
    const a = this.attr(name);
    return a === undefined ? fallback : new TextDecoder().decode(a.s);
  }

  /** An axis attribute or value normalized to [0, rank). */
  axis(axis: number, rank: number): number {
    if (axis < -rank || axis >= rank) this.fail(`axis ${axis} is out of range for rank ${rank}`);
    return axis < 0 ? axis + rank : axis;
  }

  /** Throws `EXW_SHAPE` naming the node. */
  fail(message: string): never {
    const name = this.node.name === '' ? '' : ` "${this.node.name}"`;
    throw new ExitwiseError('EXW_SHAPE', `${this.node.opType}${name}: ${message}`);
  }
}
