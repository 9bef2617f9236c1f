/**
 * Where surgery gets the type and shape of a tensor that becomes a new graph input or output:
 * shapes the caller inferred (the `ShapeInference.shapes` map of src/onnx/shapes), else what the
 * model declares (graph inputs, outputs, value_info). A tensor with neither cannot become a
 * boundary: ONNX Runtime needs the element type of every graph input.
 */
import { create } from '@bufbuild/protobuf';
import { ExitwiseError } from '../../errors.ts';
import { type GraphProto, type TypeProto, TypeProtoSchema, type ValueInfoProto, ValueInfoProtoSchema } from '../proto/onnx_pb.ts';
import type { TensorShape } from '../shapes/types.ts';

/** Inferred shapes by tensor name, as `inferShapes(model).shapes` returns them. */
export type ShapeMap = ReadonlyMap<string, TensorShape>;

/** Looks up tensor types: inferred shapes first, then the graph's own declarations. */
export class TensorTypes {
  private readonly declared = new Map<string, ValueInfoProto>();

  constructor(graph: GraphProto, private readonly shapes?: ShapeMap) {
    // Graph inputs and outputs win over value_info: they are the model's contract.
    for (const v of [...graph.valueInfo, ...graph.output, ...graph.input]) {
      if (v.type !== undefined) this.declared.set(v.name, v);
    }
  }

  /** A ValueInfoProto for `name`, or `EXW_SHAPE` naming the tensor and the role it was needed for. */
  valueInfo(name: string, role: string): ValueInfoProto {
    const inferred = this.shapes?.get(name);
    if (inferred !== undefined && inferred.dataType !== 0) {
      return create(ValueInfoProtoSchema, { name, type: shapeToType(inferred) });
    }
    const declared = this.declared.get(name);
    if (declared !== undefined) return create(ValueInfoProtoSchema, { name, type: declared.type, docString: declared.docString });
    throw new ExitwiseError('EXW_SHAPE', `no type is known for tensor "${name}", needed as ${role}`, {
      hint: 'Pass the shapes from shape inference (inferShapes(model).shapes) or add value_info for it to the model.',
    });
  }
}

/** A TensorShape as an ONNX TypeProto: `'?'` becomes an unnamed dim, other strings a dim_param. */
export function shapeToType(shape: TensorShape): TypeProto {
  const tensorType = shape.dims === 'unknown'
    ? { elemType: shape.dataType }
    : {
        elemType: shape.dataType,
        shape: {
          dim: shape.dims.map((d) =>
            typeof d === 'number'
              ? { value: { case: 'dimValue' as const, value: BigInt(d) } }
              : d === '?' ? {} : { value: { case: 'dimParam' as const, value: d } }),
        },
      };
  return create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } });
}
