/** Public types of the graph builder: tensor handles, attribute values and per-op options. */
import type { TensorProto } from '../proto/onnx_pb.ts';
import type { Dim } from '../shapes/types.ts';

/**
 * A tensor of the graph being built. Its type and shape are inferred as nodes are added, with
 * symbolic dims (the batch `'N'`) kept, so a misuse fails when the node is added, not in ORT.
 */
export interface Tensor {
  readonly name: string;
  /** ONNX data type number (`DataType.FLOAT`…). */
  readonly dataType: number;
  readonly dims: readonly Dim[];
}

/** A data type as an ONNX number (`DataType.FLOAT`) or a name (`'float32'`, `'int64'`, `'bool'`…). */
export type DTypeLike = number | string;

/** An attribute value, tagged with its ONNX kind (a number alone cannot tell int from float). */
export type Attr =
  | { i: number }
  | { ints: readonly number[] }
  | { f: number }
  | { floats: readonly number[] }
  | { s: string }
  | { t: TensorProto };

export interface NodeOptions {
  /** Name of the node and of its first output tensor (default: `<OpType>_<k>`, counted per op type). */
  name?: string;
}

export interface GraphBuilderOptions {
  /** Default opset import (default `DEFAULT_OPSET`, 17). At least 13: the axes-as-inputs forms are emitted. */
  opset?: number;
  /** Graph name (default `'main'`). */
  graphName?: string;
}

export interface ConvOptions extends NodeOptions {
  strides?: readonly number[];
  /** [begin_0, begin_1, …, end_0, end_1, …] as in ONNX. */
  pads?: readonly number[];
  dilations?: readonly number[];
  group?: number;
  autoPad?: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: readonly number[];
}

export interface PoolOptions extends NodeOptions {
  kernel: readonly number[];
  strides?: readonly number[];
  pads?: readonly number[];
  ceilMode?: boolean;
  /** MaxPool only. */
  dilations?: readonly number[];
  /** AveragePool only: count padded cells in the divisor (default false, as ONNX). */
  countIncludePad?: boolean;
}

export interface GemmOptions extends NodeOptions {
  alpha?: number;
  beta?: number;
  transA?: boolean;
  transB?: boolean;
}

export interface NormOptions extends NodeOptions {
  epsilon?: number;
}

export interface LayerNormOptions extends NormOptions {
  /** First normalized axis (default -1). */
  axis?: number;
}

export interface ReduceOptions extends NodeOptions {
  /** Keep reduced axes as size 1 (default true, as ONNX). */
  keepDims?: boolean;
}
