/**
 * TensorProto ⇄ typed arrays, for every ONNX data type. Data may sit in `raw_data` (little-endian
 * bytes) or in the typed repeated fields; which field holds which type follows onnx.proto.
 */
import { create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import { type TensorProto, TensorProtoSchema } from './proto/onnx_pb.ts';

/** ONNX `TensorProto.DataType` numbers, including those newer than the bundled onnx.proto (1.12). */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8,
  BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15,
  BFLOAT16: 16, FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20,
  UINT4: 21, INT4: 22, FLOAT4E2M1: 23,
} as const;
export type DataTypeNumber = (typeof DataType)[keyof typeof DataType];

/** Which repeated field of TensorProto carries a type when `raw_data` is absent. */
type Field = 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data' | 'stringData';

interface DataTypeInfo {
  /** Lower-case ONNX name, also ONNX Runtime's tensor type name where ORT supports it. */
  name: string;
  /** Bits per element in raw_data (4 for packed 4-bit types; 0 for strings). */
  bits: number;
  field: Field;
  /** Elements of the typed field per tensor element (complex numbers take two floats). */
  fieldPerElement: number;
}

const INFO: Record<number, DataTypeInfo> = {
  1: { name: 'float32', bits: 32, field: 'floatData', fieldPerElement: 1 },
  2: { name: 'uint8', bits: 8, field: 'int32Data', fieldPerElement: 1 },
  3: { name: 'int8', bits: 8, field: 'int32Data', fieldPerElement: 1 },
  4: { name: 'uint16', bits: 16, field: 'int32Data', fieldPerElement: 1 },
  5: { name: 'int16', bits: 16, field: 'int32Data', fieldPerElement: 1 },
  6: { name: 'int32', bits: 32, field: 'int32Data', fieldPerElement: 1 },
  7: { name: 'int64', bits: 64, field: 'int64Data', fieldPerElement: 1 },
  8: { name: 'string', bits: 0, field: 'stringData', fieldPerElement: 1 },
  9: { name: 'bool', bits: 8, field: 'int32Data', fieldPerElement: 1 },
  10: { name: 'float16', bits: 16, field: 'int32Data', fieldPerElement: 1 },
  11: { name: 'float64', bits: 64, field: 'doubleData', fieldPerElement: 1 },
  12: { name: 'uint32', bits: 32, field: 'uint64Data', fieldPerElement: 1 },
  13: { name: 'uint64', bits: 64, field: 'uint64Data', fieldPerElement: 1 },
  14: { name: 'complex64', bits: 64, field: 'floatData', fieldPerElement: 2 },
  15: { name: 'complex128', bits: 128, field: 'doubleData', fieldPerElement: 2 },
  16: { name: 'bfloat16', bits: 16, field: 'int32Data', fieldPerElement: 1 },
  17: { name: 'float8e4m3fn', bits: 8, field: 'int32Data', fieldPerElement: 1 },
  18: { name: 'float8e4m3fnuz', bits: 8, field: 'int32Data', fieldPerElement: 1 },
  19: { name: 'float8e5m2', bits: 8, field: 'int32Data', fieldPerElement: 1 },
  20: { name: 'float8e5m2fnuz', bits: 8, field: 'int32Data', fieldPerElement: 1 },
  // 4-bit types pack two elements per int32_data entry as well as per raw byte.
  21: { name: 'uint4', bits: 4, field: 'int32Data', fieldPerElement: 0.5 },
  22: { name: 'int4', bits: 4, field: 'int32Data', fieldPerElement: 0.5 },
  23: { name: 'float4e2m1', bits: 4, field: 'int32Data', fieldPerElement: 0.5 },
};

/** Facts about a data type; `EXW_TENSOR_DATA` for a number ONNX does not define. */
export function dataTypeInfo(dataType: number): DataTypeInfo {
  const info = INFO[dataType];
  if (info === undefined) {
    throw new ExitwiseError('EXW_TENSOR_DATA', `unknown ONNX data type ${dataType}`, {
      hint: 'ONNX defines data types 1–23; the model may be corrupt or from a future ONNX version.',
    });
  }
  return info;
}

/** The name of a data type (`float32`, `int64`, …). */
export function dataTypeName(dataType: number): string {
  return INFO[dataType]?.name ?? `type#${dataType}`;
}

/** The data type number for a name such as `float32`. */
export function dataTypeFromName(name: string): number {
  for (const [num, info] of Object.entries(INFO)) if (info.name === name) return Number(num);
  throw new ExitwiseError('EXW_TENSOR_DATA', `unknown data type name "${name}"`);
}

export type TensorArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array
  | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** A decoded tensor: dims, type, and values in the natural JS container for the type. */
export interface TensorValues {
  dataType: number;
  dims: number[];
  /**
   * float32, float64 and the integer types → the matching typed array; bool → Uint8Array; float16, bfloat16
   * → Uint16Array of raw bits; float8 → Uint8Array of raw bits; 4-bit types → Uint8Array packed
   * two per byte (low nibble first), as in raw_data; complex → interleaved (re, im) floats;
   * string → UTF-8-decoded strings.
   */
  data: TensorArray;
}

export function elementCount(dims: readonly (number | bigint)[]): number {
  return dims.reduce<number>((n, d) => n * Number(d), 1);
}

/** Number of bytes raw_data must hold for a tensor of this type and element count. */
export function rawByteLength(dataType: number, count: number): number {
  const { bits } = dataTypeInfo(dataType);
  return Math.ceil((count * bits) / 8);
}

function typedFromBytes(dataType: number, bytes: Uint8Array): Exclude<TensorArray, string[]> {
  // Copy into an aligned buffer: raw_data slices of a larger protobuf buffer are rarely aligned.
  const buf = new Uint8Array(bytes).buffer;
  switch (dataType) {
    case DataType.FLOAT: return new Float32Array(buf);
    case DataType.COMPLEX64: return new Float32Array(buf);
    case DataType.DOUBLE: case DataType.COMPLEX128: return new Float64Array(buf);
    case DataType.INT8: return new Int8Array(buf);
    case DataType.INT16: return new Int16Array(buf);
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16: return new Uint16Array(buf);
    case DataType.INT32: return new Int32Array(buf);
    case DataType.UINT32: return new Uint32Array(buf);
    case DataType.INT64: return new BigInt64Array(buf);
    case DataType.UINT64: return new BigUint64Array(buf);
    default: return new Uint8Array(buf);
  }
}

function allocate(dataType: number, count: number): Exclude<TensorArray, string[]> {
  return typedFromBytes(dataType, new Uint8Array(rawByteLength(dataType, count)));
}

/**
 * Checks, without decoding, that a tensor's data agrees with its type and dims: the data field
 * holds exactly the elements the dims call for. Gives `EXW_TENSOR_DATA` naming the tensor.
 * External tensors that were not loaded are refused too: their size cannot be known here.
 */
export function checkTensorData(tensor: TensorProto): void {
  dataSource(tensor);
}

/** Where a tensor's values sit, once the sizes have been checked. */
type DataSource = 'string' | 'raw' | 'field';

function dataSource(tensor: TensorProto): DataSource {
  const info = dataTypeInfo(tensor.dataType);
  const dims = tensor.dims.map(Number);
  if (dims.some((d) => d < 0 || !Number.isSafeInteger(d))) {
    throw tensorError(tensor, `has invalid dims [${tensor.dims.join(', ')}]`);
  }
  const count = elementCount(dims);
  if (tensor.dataLocation === 1) {
    throw tensorError(tensor, 'keeps its data in an external file that was not loaded', 'Load the model with loadModel(path) so external data is resolved.');
  }
  if (tensor.dataType === DataType.STRING) {
    if (tensor.stringData.length !== count) throw tensorError(tensor, `has ${tensor.stringData.length} strings for ${count} elements`);
    return 'string';
  }
  if (tensor.rawData.byteLength > 0 || count === 0) {
    const expected = rawByteLength(tensor.dataType, count);
    if (tensor.rawData.byteLength !== expected) {
      throw tensorError(tensor, `has ${tensor.rawData.byteLength} bytes of raw_data; ${info.name}[${dims.join(', ')}] needs ${expected}`);
    }
    return 'raw';
  }
  const length = (tensor[info.field] as ArrayLike<unknown>).length;
  const expected = Math.ceil(count * info.fieldPerElement);
  if (length !== expected) {
    throw tensorError(tensor, `has ${length} values in ${info.field}; ${info.name}[${dims.join(', ')}] needs ${expected}`);
  }
  return 'field';
}

/** Decodes a tensor's values. Sizes that disagree with the dims give `EXW_TENSOR_DATA`. */
export function tensorToArray(tensor: TensorProto): TensorValues {
  const source = dataSource(tensor);
  const dataType = tensor.dataType;
  const dims = tensor.dims.map(Number);
  const count = elementCount(dims);
  if (source === 'string') {
    const decoder = new TextDecoder();
    return { dataType, dims, data: tensor.stringData.map((b) => decoder.decode(b)) };
  }
  if (source === 'raw') return { dataType, dims, data: typedFromBytes(dataType, tensor.rawData) };
  const info = dataTypeInfo(dataType);
  const field = tensor[info.field] as ArrayLike<number | bigint>;
  const out = allocate(dataType, count);
  if (info.bits === 4) {
    // Packed 4-bit values: each int32_data entry holds one byte of two nibbles.
    const bytes = out as Uint8Array;
    for (let i = 0; i < field.length; i++) bytes[i] = Number(field[i]) & 0xff;
  } else if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < field.length; i++) out[i] = BigInt(field[i]!);
  } else {
    for (let i = 0; i < field.length; i++) (out as Float32Array)[i] = Number(field[i]);
  }
  return { dataType, dims, data: out };
}

/** Builds a TensorProto with raw_data (strings go to string_data). */
export function arrayToTensor(name: string, dataType: number, dims: readonly number[], data: TensorArray): TensorProto {
  const count = elementCount(dims);
  const info = dataTypeInfo(dataType);
  if (Array.isArray(data)) {
    if (dataType !== DataType.STRING) throw new ExitwiseError('EXW_TENSOR_DATA', `tensor "${name}": strings given for ${info.name}`);
    if (data.length !== count) throw new ExitwiseError('EXW_TENSOR_DATA', `tensor "${name}": ${data.length} strings for ${count} elements`);
    const encoder = new TextEncoder();
    return create(TensorProtoSchema, { name, dataType, dims: dims.map(BigInt), stringData: data.map((s) => encoder.encode(s)) });
  }
  const expected = rawByteLength(dataType, count);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength !== expected) {
    throw new ExitwiseError('EXW_TENSOR_DATA', `tensor "${name}": ${bytes.byteLength} bytes given; ${info.name}[${dims.join(', ')}] needs ${expected}`);
  }
  return create(TensorProtoSchema, { name, dataType, dims: dims.map(BigInt), rawData: bytes.slice() });
}

/** Reads an integer tensor (int32/int64 and friends) as JS numbers: shapes, axes, indices. */
export function tensorToNumbers(tensor: TensorProto): number[] {
  const { data } = tensorToArray(tensor);
  if (Array.isArray(data)) throw tensorError(tensor, 'holds strings, not numbers');
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

function tensorError(tensor: TensorProto, what: string, hint = 'The model may be corrupt; re-export it.'): ExitwiseError {
  return new ExitwiseError('EXW_TENSOR_DATA', `tensor "${tensor.name}" ${what}`, { hint });
}
