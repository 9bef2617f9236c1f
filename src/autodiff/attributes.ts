/**
 * Reading and writing node attributes: typed readers with the ONNX defaults supplied by the
 * caller, and constructors for the attributes that generated backward nodes carry.
 */
import { create } from '@bufbuild/protobuf';
import {
  type AttributeProto,
  AttributeProtoSchema,
  AttributeProto_AttributeType as AttrType,
  type NodeProto,
} from '../onnx/proto/onnx_pb.ts';

function find(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function readInt(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a === undefined ? fallback : Number(a.i);
}

export function readFloat(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a === undefined ? fallback : a.f;
}

export function readInts(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a === undefined ? undefined : a.ints.map(Number);
}

export function readString(node: NodeProto, name: string, fallback: string): string {
  const a = find(node, name);
  return a === undefined ? fallback : new TextDecoder().decode(a.s);
}

export function intAttr(name: string, value: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(value) });
}

export function intsAttr(name: string, values: readonly number[]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: values.map(BigInt) });
}

export function floatAttr(name: string, value: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: value });
}

export function stringAttr(name: string, value: string): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttrType.STRING, s: new TextEncoder().encode(value) });
}
