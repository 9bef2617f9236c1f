/**
 * The contract of a gradient rule. A rule knows one op type: how its node must run in a training
 * graph (extra outputs such as MaxPool's `Indices`, batch statistics for BatchNormalization) and
 * how to emit, from the gradients of its outputs, the gradients of the inputs that need one.
 */
import type { NodeProto } from '../onnx/proto/onnx_pb.ts';
import type { Dim } from '../onnx/shapes/types.ts';
import type { GraphEmitter } from './emitter.ts';

/** What a rule sees while it rewrites its forward node for training. */
export interface ForwardContext {
  readonly node: NodeProto;
  /** Appends the training-mode forward nodes. */
  readonly emit: GraphEmitter;
  /** Static dims of a forward tensor; `EXW_GRADIENT` when they are not known. */
  dims(name: string): Dim[];
  /** The ONNX data type of a forward tensor (0 when unknown). */
  dataType(name: string): number;
  /** The constant values of an initializer (or Constant node) input, or undefined when it is computed. */
  constant(name: string): number[] | undefined;
  /**
   * Whether the node runs in training mode (see modes.ts). Only BatchNormalization and Dropout
   * behave differently; their rules read it.
   */
  readonly training: boolean;
  /** Throws `EXW_GRADIENT` naming the node. */
  fail(message: string): never;
}

/** The result of a forward rewrite. */
export interface ForwardRewrite {
  /** Tensors the backward pass reuses (`indices`, `xhat`, …), by the rule's own keys. */
  saved?: Record<string, string>;
  /** Running state (e.g. BN running mean) → the tensor holding its updated value. */
  stateUpdates?: { state: string; updated: string }[];
}

/** What a rule sees while it emits its backward nodes. */
export interface BackwardContext extends ForwardContext {
  /** Gradient of output i, or undefined when no gradient flows into it. */
  dy(i: number): string | undefined;
  /** True when input i needs a gradient. */
  wants(i: number): boolean;
  /** What the forward rewrite saved. */
  readonly saved: Readonly<Record<string, string>>;
}

export interface GradientRule {
  /**
   * Emits the node as it runs in a training graph. Absent: the node is copied unchanged. Called
   * for nodes on a path from a trainable parameter to the loss, and for BatchNormalization and
   * Dropout nodes in training mode anywhere.
   */
  forward?(ctx: ForwardContext): ForwardRewrite;
  /** Gradients of the inputs (an entry per input; undefined where none is wanted or defined). */
  backward(ctx: BackwardContext): (string | undefined)[];
}
