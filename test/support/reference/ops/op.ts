/** The contract of a reference op: float64 forward, and the vector-Jacobian product for backprop. */
import type { NodeProto } from '../../../../src/onnx/proto/onnx_pb.ts';
import type { Tensor64 } from '../tensor.ts';

export interface RefContext {
  node: NodeProto;
  /** Batch statistics for BatchNormalization; Dropout applies its mask. */
  training: boolean;
  /** Dropout masks by the node's output name (1 keeps, 0 drops); absent in training mode means keep all. */
  masks: ReadonlyMap<string, Tensor64>;
}

export interface RefOp {
  forward(inputs: (Tensor64 | undefined)[], ctx: RefContext): Tensor64[];
  /** Input gradients from output gradients (undefined entries: no gradient flows). */
  backward?(inputs: (Tensor64 | undefined)[], outputs: Tensor64[], dOut: (Tensor64 | undefined)[], ctx: RefContext): (Tensor64 | undefined)[];
}
