/**
 * Backend-neutral tensors: plain `{ type, dims, data }` objects with the same field names and
 * type strings as `ort.Tensor`, so one value can feed the node and the web backend alike (their
 * `Tensor` classes come from two different copies of onnxruntime-common and are not
 * interchangeable).
 */
import { ExitwiseError } from '../errors.ts';

/** The JS container ONNX Runtime uses for each element type. */
export interface TensorDataMap {
  float32: Float32Array;
  float64: Float64Array;
  /** Raw IEEE half-precision bits (Node 20 has no Float16Array). */
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  /** One byte per element, 0 or 1. */
  bool: Uint8Array;
  string: string[];
}

/** Element type names, as ONNX Runtime spells them. */
export type TensorType = keyof TensorDataMap;

/**
 * A dense row-major tensor. `TensorLike` alone is a union discriminated by `type`, so checking
 * `t.type === 'float32'` narrows `t.data` to `Float32Array`; `TensorLike<'int64'>` is one member.
 */
export type TensorLike<T extends TensorType = TensorType> = T extends TensorType
  ? { readonly type: T; readonly dims: readonly number[]; readonly data: TensorDataMap[T] }
  : never;

/** Number of elements of a tensor with these dims (1 for a scalar, `[]`). */
export function elementCountOf(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/**
 * Checks that `dims` are non-negative integers and that `data` holds exactly their product of
 * elements; `EXW_TENSOR_DATA` otherwise. `what` names the tensor in the message.
 */
export function checkTensor(tensor: TensorLike, what = 'tensor'): void {
  const { dims, data } = tensor;
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ExitwiseError('EXW_TENSOR_DATA', `${what} has invalid dims [${dims.join(', ')}]`, {
      hint: 'Dims must be non-negative integers.',
    });
  }
  const expected = elementCountOf(dims);
  if (data.length !== expected) {
    throw new ExitwiseError(
      'EXW_TENSOR_DATA',
      `${what} holds ${data.length} ${tensor.type} values but dims [${dims.join(', ')}] need ${expected}`,
      { hint: 'Give data with exactly the product of the dims elements, in row-major order.' },
    );
  }
}

/**
 * A float32 tensor. A `Float32Array` is used as is (not copied); a number array is converted.
 *
 * @example
 * const x = float32Tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 */
export function float32Tensor(data: Float32Array | readonly number[], dims: readonly number[]): TensorLike<'float32'> {
  const tensor = { type: 'float32', dims: [...dims], data: data instanceof Float32Array ? data : Float32Array.from(data) } as const;
  checkTensor(tensor, 'float32 tensor');
  return tensor;
}

/**
 * An int64 tensor (shapes, indices, labels). A `BigInt64Array` is used as is; numbers must be
 * safe integers.
 *
 * @example
 * const shape = int64Tensor([1, -1], [2]);
 */
export function int64Tensor(data: BigInt64Array | readonly (number | bigint)[], dims: readonly number[]): TensorLike<'int64'> {
  let values: BigInt64Array;
  if (data instanceof BigInt64Array) {
    values = data;
  } else {
    values = new BigInt64Array(data.length);
    data.forEach((v, i) => {
      if (typeof v === 'number' && !Number.isSafeInteger(v)) {
        throw new ExitwiseError('EXW_TENSOR_DATA', `int64 tensor value ${v} at index ${i} is not a safe integer`, {
          hint: 'Give integers, or bigints for values beyond ±2^53.',
        });
      }
      values[i] = BigInt(v);
    });
  }
  const tensor = { type: 'int64', dims: [...dims], data: values } as const;
  checkTensor(tensor, 'int64 tensor');
  return tensor;
}
