/**
 * Typed builder methods for elementwise ops and ops that move data: each emits one node (plus
 * int64 initializers for shapes and axes), and returns tensors with their inferred shapes.
 */
import { GraphBuilderCore } from './core.ts';
import { dataTypeFromName } from '../tensor-data.ts';
import type { DTypeLike, NodeOptions, ReduceOptions, Tensor } from './types.ts';

const one = (ts: Tensor[]): Tensor => ts[0]!;

export class TensorOpsBuilder extends GraphBuilderCore {
  /** A one-input, one-output op with no attributes (Relu, Exp, Not, …). */
  unary(opType: string, x: Tensor, options: NodeOptions = {}): Tensor {
    return one(this.op(opType, [x], {}, options));
  }

  /** A two-input broadcasting op (Add, Pow, Equal, …). */
  binary(opType: string, a: Tensor, b: Tensor, options: NodeOptions = {}): Tensor {
    return one(this.op(opType, [a, b], {}, options));
  }

  relu(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Relu', x, options); }
  sigmoid(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Sigmoid', x, options); }
  tanh(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Tanh', x, options); }
  erf(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Erf', x, options); }
  sqrt(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Sqrt', x, options); }
  exp(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Exp', x, options); }
  log(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Log', x, options); }
  neg(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Neg', x, options); }
  abs(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Abs', x, options); }
  not(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Not', x, options); }
  identity(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Identity', x, options); }
  /** The shape of `x` as an int64 vector (with a symbolic batch, a value known up to the batch). */
  shape(x: Tensor, options?: NodeOptions): Tensor { return this.unary('Shape', x, options); }

  add(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Add', a, b, options); }
  sub(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Sub', a, b, options); }
  mul(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Mul', a, b, options); }
  div(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Div', a, b, options); }
  pow(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Pow', a, b, options); }
  equal(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Equal', a, b, options); }
  less(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Less', a, b, options); }
  greater(a: Tensor, b: Tensor, options?: NodeOptions): Tensor { return this.binary('Greater', a, b, options); }

  /** `cond ? a : b`, broadcasting all three. */
  where(cond: Tensor, a: Tensor, b: Tensor, options: NodeOptions = {}): Tensor {
    return one(this.op('Where', [cond, a, b], {}, options));
  }

  cast(x: Tensor, to: DTypeLike, options: NodeOptions = {}): Tensor {
    return one(this.op('Cast', [x], { to: { i: typeof to === 'number' ? to : dataTypeFromName(to) } }, options));
  }

  /** Clips to [min, max]; either bound may be omitted. Bounds are scalars of x's type. */
  clip(x: Tensor, min: Tensor | undefined, max: Tensor | undefined, options: NodeOptions = {}): Tensor {
    return one(this.op('Clip', [x, min, max], {}, options));
  }

  softmax(x: Tensor, axis = -1, options: NodeOptions = {}): Tensor {
    return one(this.op('Softmax', [x], { axis: { i: axis } }, options));
  }

  logSoftmax(x: Tensor, axis = -1, options: NodeOptions = {}): Tensor {
    return one(this.op('LogSoftmax', [x], { axis: { i: axis } }, options));
  }

  /** Inference-mode Dropout: the identity in ORT; kept so training graphs can switch it on. */
  dropout(x: Tensor, options: NodeOptions = {}): Tensor {
    return one(this.op('Dropout', [x], {}, options));
  }

  /** Reshape to a constant target (0 copies the input dim, -1 takes the rest) or to a shape tensor. */
  reshape(x: Tensor, shape: readonly number[] | Tensor, options: NodeOptions = {}): Tensor {
    const name = options.name ?? this.freshName('Reshape');
    const target = Array.isArray(shape) ? this.ints(name, 'shape', shape) : (shape as Tensor);
    return one(this.op('Reshape', [x, target], {}, { name }));
  }

  flatten(x: Tensor, axis = 1, options: NodeOptions = {}): Tensor {
    return one(this.op('Flatten', [x], { axis: { i: axis } }, options));
  }

  /** Permutes axes (default: reverses them). */
  transpose(x: Tensor, perm?: readonly number[], options: NodeOptions = {}): Tensor {
    return one(this.op('Transpose', [x], { perm: perm === undefined ? undefined : { ints: perm } }, options));
  }

  concat(xs: readonly Tensor[], axis: number, options: NodeOptions = {}): Tensor {
    return one(this.op('Concat', xs, { axis: { i: axis } }, options));
  }

  /** `x[starts:ends:steps]` along `axes` (default the first starts.length axes). */
  slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[], options: NodeOptions = {}): Tensor {
    const name = options.name ?? this.freshName('Slice');
    const inputs = [x, this.ints(name, 'starts', starts), this.ints(name, 'ends', ends)];
    if (axes !== undefined || steps !== undefined) inputs.push(this.ints(name, 'axes', axes ?? starts.map((_, i) => i)));
    if (steps !== undefined) inputs.push(this.ints(name, 'steps', steps));
    return one(this.op('Slice', inputs, {}, { name }));
  }

  /** Takes entries along `axis`: a number picks one (dropping the axis), a list or a tensor many. */
  gather(x: Tensor, indices: number | readonly number[] | Tensor, axis = 0, options: NodeOptions = {}): Tensor {
    const name = options.name ?? this.freshName('Gather');
    const idx = typeof indices === 'number' ? this.ints(name, 'indices', [indices], [])
      : Array.isArray(indices) ? this.ints(name, 'indices', indices) : (indices as Tensor);
    return one(this.op('Gather', [x, idx], { axis: { i: axis } }, { name }));
  }

  squeeze(x: Tensor, axes?: readonly number[], options: NodeOptions = {}): Tensor {
    const name = options.name ?? this.freshName('Squeeze');
    return one(this.op('Squeeze', [x, axes === undefined ? undefined : this.ints(name, 'axes', axes)], {}, { name }));
  }

  unsqueeze(x: Tensor, axes: readonly number[], options: NodeOptions = {}): Tensor {
    const name = options.name ?? this.freshName('Unsqueeze');
    return one(this.op('Unsqueeze', [x, this.ints(name, 'axes', axes)], {}, { name }));
  }

  /** Broadcasts to a constant shape or a shape tensor. */
  expand(x: Tensor, shape: readonly number[] | Tensor, options: NodeOptions = {}): Tensor {
    const name = options.name ?? this.freshName('Expand');
    const target = Array.isArray(shape) ? this.ints(name, 'shape', shape) : (shape as Tensor);
    return one(this.op('Expand', [x, target], {}, { name }));
  }

  /** Mean over `axes`: an attribute before opset 18, an input from 18. */
  reduceMean(x: Tensor, axes: readonly number[], options: ReduceOptions = {}): Tensor {
    return this.reduce('ReduceMean', 18, x, axes, options);
  }

  /** Sum over `axes` (an input since opset 13). */
  reduceSum(x: Tensor, axes: readonly number[], options: ReduceOptions = {}): Tensor {
    return this.reduce('ReduceSum', 13, x, axes, options);
  }

  argMax(x: Tensor, axis: number, options: ReduceOptions = {}): Tensor {
    const { keepDims, ...rest } = options;
    return one(this.op('ArgMax', [x], { axis: { i: axis }, keepdims: { i: keepDims === false ? 0 : 1 } }, rest));
  }

  private reduce(opType: string, axesInputSince: number, x: Tensor, axes: readonly number[], options: ReduceOptions): Tensor {
    const name = options.name ?? this.freshName(opType);
    const keepdims = { i: options.keepDims === false ? 0 : 1 };
    if (this.opset >= axesInputSince) return one(this.op(opType, [x, this.ints(name, 'axes', axes)], { keepdims }, { name }));
    return one(this.op(opType, [x], { axes: { ints: axes }, keepdims }, { name }));
  }
}
