/**
 * Public types of shape inference. A dimension is a number, or a string for a symbolic dimension:
 * a name such as `'N'` or `'batch'`, a product such as `'N*64'` (what Flatten or Reshape make of
 * a symbolic batch), or `'?'` when nothing is known about it.
 */

/** One dimension: a size, a symbol (`'N'`), a product of symbols and a size (`'N*64'`), or `'?'`. */
export type Dim = number | string;

/** The inferred type and shape of one tensor. `dims: 'unknown'` when not even the rank is known. */
export interface TensorShape {
  /** ONNX data type number (`DataType.FLOAT`…); 0 when unknown. */
  dataType: number;
  dims: Dim[] | 'unknown';
}

/** A tensor whose rank and dims are known. */
export interface KnownShape {
  dataType: number;
  dims: Dim[];
}

export interface ShapeInference {
  /** Every tensor of the graph (inputs, initializers, node outputs) → its shape. */
  shapes: Map<string, TensorShape>;
  /** What could not be inferred and why; empty when every tensor is known. */
  warnings: string[];
}

export interface InferShapesOptions {
  /** Overrides the declared shapes of graph inputs (e.g. to fix the batch size). */
  inputShapes?: Record<string, Dim[]>;
}

export interface InferShapesAsyncOptions extends InferShapesOptions {
  /**
   * Ask ONNX Runtime for the shapes of tensors no rule could infer (default true). The model is
   * run on zero inputs, once with every symbol at its base value and once more per symbol with
   * that symbol doubled, so output dims can be mapped back to symbols.
   */
  runtimeFallback?: boolean;
  /** Base values of symbolic input dims for the runtime fallback (default 1 each). */
  symbolValues?: Record<string, number>;
}

/** True when the rank and dims are known. */
export function isKnown(shape: TensorShape | undefined): shape is KnownShape {
  return shape !== undefined && shape.dims !== 'unknown';
}
