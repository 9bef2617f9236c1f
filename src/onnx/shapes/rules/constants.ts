/**
 * Ops that make tensors from attributes or shapes: Constant, Shape, Size, ConstantOfShape, Range,
 * NonZero. Shape is where a symbolic batch enters a shape subgraph as a value.
 */
import { DataType, tensorToArray } from '../../tensor-data.ts';
import { productOf, UNKNOWN_DIM } from '../dims.ts';
import { MAX_FOLDED_ELEMENTS, type OutputFacts, type ShapeRule } from '../context.ts';
import type { TensorProto } from '../../proto/onnx_pb.ts';
import type { Dim } from '../types.ts';

/** Facts of a constant tensor; values kept when small and numeric. */
export function tensorFacts(tensor: TensorProto): OutputFacts {
  const dims = tensor.dims.map(Number);
  const out: OutputFacts = { dataType: tensor.dataType, dims };
  if (dims.reduce((n, d) => n * d, 1) <= MAX_FOLDED_ELEMENTS && tensor.dataLocation !== 1) {
    const { data } = tensorToArray(tensor);
    if (!Array.isArray(data) && tensor.dataType !== DataType.FLOAT16 && tensor.dataType !== DataType.BFLOAT16) {
      out.value = Array.from(data as ArrayLike<number | bigint>, Number);
    }
  }
  return out;
}

const constant: ShapeRule = (ctx) => {
  const t = ctx.attr('value')?.t;
  if (t !== undefined) return [tensorFacts(t)];
  const f = ctx.attr('value_float');
  if (f !== undefined) return [{ dataType: DataType.FLOAT, dims: [], value: [f.f] }];
  const i = ctx.attr('value_int');
  if (i !== undefined) return [{ dataType: DataType.INT64, dims: [], value: [Number(i.i)] }];
  const fs = ctx.attr('value_floats');
  if (fs !== undefined) return [{ dataType: DataType.FLOAT, dims: [fs.floats.length], value: fs.floats }];
  const is = ctx.attr('value_ints');
  if (is !== undefined) return [{ dataType: DataType.INT64, dims: [is.ints.length], value: is.ints.map(Number) }];
  return ctx.fail('has no value attribute exitwise reads (value, value_float(s), value_int(s))');
};

const shape: ShapeRule = (ctx) => {
  const dims = ctx.dims(0);
  const rank = dims.length;
  // Opset 15 added start/end to take a slice of the shape.
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const value = dims.slice(clamp(ctx.int('start', 0)), clamp(ctx.int('end', rank)));
  return [{ dataType: DataType.INT64, dims: [value.length], value }];
};

const size: ShapeRule = (ctx) => [{ dataType: DataType.INT64, dims: [], value: [productOf(ctx.dims(0))] }];

const constantOfShape: ShapeRule = (ctx) => {
  const dims = ctx.value(0);
  const t = ctx.attr('value')?.t;
  const dataType = t?.dataType ?? DataType.FLOAT;
  if (dims === undefined) {
    const n = ctx.dims(0)[0];
    return [{ dataType, dims: typeof n === 'number' ? new Array<Dim>(n).fill(UNKNOWN_DIM) : ctx.fail('the shape input has an unknown length') }];
  }
  const out: OutputFacts = { dataType, dims };
  const count = productOf(dims);
  if (typeof count === 'number' && count <= MAX_FOLDED_ELEMENTS) {
    const fill = t === undefined ? 0 : (tensorFacts(t).value?.[0] ?? UNKNOWN_DIM);
    out.value = new Array<Dim>(count).fill(fill);
  }
  return [out];
};

const range: ShapeRule = (ctx) => {
  const [start, limit, delta] = [ctx.numbers(0)?.[0], ctx.numbers(1)?.[0], ctx.numbers(2)?.[0]];
  const dataType = ctx.input(0).dataType;
  if (start === undefined || limit === undefined || delta === undefined) return [{ dataType, dims: [UNKNOWN_DIM] }];
  if (delta === 0) ctx.fail('delta is 0');
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  const out: OutputFacts = { dataType, dims: [n] };
  if (n <= MAX_FOLDED_ELEMENTS) out.value = Array.from({ length: n }, (_, i) => start + i * delta);
  return [out];
};

const nonZero: ShapeRule = (ctx) => [{ dataType: DataType.INT64, dims: [ctx.dims(0).length, UNKNOWN_DIM] }];

export const constantRules: Record<string, ShapeRule> = {
  Constant: constant,
  Shape: shape,
  Size: size,
  ConstantOfShape: constantOfShape,
  Range: range,
  NonZero: nonZero,
};
