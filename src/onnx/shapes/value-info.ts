/** ValueInfoProto ⇄ TensorShape: how declared shapes are read and inferred ones written back. */
import { create } from '@bufbuild/protobuf';
import { type ValueInfoProto, ValueInfoProtoSchema } from '../proto/onnx_pb.ts';
import { UNKNOWN_DIM } from './dims.ts';
import type { Dim, TensorShape } from './types.ts';

/** The declared shape of a value, or undefined when it declares no tensor type. */
export function shapeFromValueInfo(info: ValueInfoProto): TensorShape | undefined {
  if (info.type?.value.case !== 'tensorType') return undefined;
  const tensor = info.type.value.value;
  if (tensor.shape === undefined) return { dataType: tensor.elemType, dims: 'unknown' };
  const dims = tensor.shape.dim.map((d): Dim => {
    if (d.value.case === 'dimValue') return Number(d.value.value);
    if (d.value.case === 'dimParam' && d.value.value !== '') return d.value.value;
    return UNKNOWN_DIM;
  });
  return { dataType: tensor.elemType, dims };
}

/** A ValueInfoProto declaring a tensor's type and shape (`'?'` dims are left without value). */
export function valueInfoFromShape(name: string, shape: TensorShape): ValueInfoProto {
  const dim = shape.dims === 'unknown' ? undefined : shape.dims.map((d) => {
    if (typeof d === 'number') return { value: { case: 'dimValue' as const, value: BigInt(d) } };
    return d === UNKNOWN_DIM ? {} : { value: { case: 'dimParam' as const, value: d } };
  });
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: 'tensorType', value: { elemType: shape.dataType, ...(dim === undefined ? {} : { shape: { dim } }) } } },
  });
}
