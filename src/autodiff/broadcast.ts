/**
 * Undoing numpy broadcasting in the backward pass: the gradient of an operand that was stretched
 * to the output's shape is the output gradient summed over the stretched axes.
 */
import type { Dim } from '../onnx/shapes/types.ts';
import { intAttr } from './attributes.ts';
import type { GraphEmitter } from './emitter.ts';

/**
 * Sums `grad` (of shape `outDims`) down to `operandDims`. A symbolic operand dim is taken to be
 * the output's dim (not a broadcast 1): a symbol that is 1 at run time would need dynamic axes.
 * `operand` names the operand tensor, whose runtime shape a symbolic reshape reads.
 */
export function reduceToShape(
  emit: GraphEmitter, grad: string, outDims: readonly Dim[], operandDims: readonly Dim[], operand: string,
): string {
  const lead = outDims.length - operandDims.length;
  const axes: number[] = [];
  for (let i = 0; i < outDims.length; i++) {
    if (i < lead) axes.push(i);
    else if (operandDims[i - lead] === 1 && outDims[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return grad;
  const onlyLeading = axes.length === lead;
  const summed = emit.op('ReduceSum', [grad, emit.int64s(axes)], [intAttr('keepdims', onlyLeading ? 0 : 1)], 'sum_broadcast');
  if (onlyLeading || lead === 0) return summed;
  const shape = operandDims.every((d) => typeof d === 'number')
    ? emit.int64s(operandDims as number[])
    : emit.op('Shape', [operand]);
  return emit.op('Reshape', [summed, shape], [], 'unbroadcast');
}
