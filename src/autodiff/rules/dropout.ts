/**
 * Dropout. In training mode the forward node gets training_mode = true and a mask output; the
 * gradient is dy·mask/(1 − ratio), the scaling ORT applies to kept values. In inference mode
 * (see modes.ts) it is the identity both ways.
 */
import { clone } from '@bufbuild/protobuf';
import { NodeProtoSchema } from '../../onnx/proto/onnx_pb.ts';
import { DataType } from '../../onnx/tensor-data.ts';
import { intAttr } from '../attributes.ts';
import type { BackwardContext, ForwardContext, GradientRule } from '../rule.ts';

/** ONNX's default drop probability. */
const DEFAULT_RATIO = 0.5;

const dropout: GradientRule = {
  forward(ctx: ForwardContext) {
    const node = clone(NodeProtoSchema, ctx.node);
    const ratioName = node.input[1] ?? '';
    if (!ctx.training) {
      // An explicit training_mode input would override the mode chosen for the graph.
      node.input = ratioName === '' ? [node.input[0]!] : [node.input[0]!, ratioName];
      ctx.emit.nodes.push(node);
      return {};
    }
    const ratio = ratioName === '' ? DEFAULT_RATIO : ctx.constant(ratioName)?.[0];
    if (ratio === undefined) ctx.fail('Dropout in training mode needs a constant ratio (an initializer or Constant)');
    const mask = node.output[1] !== undefined && node.output[1] !== '' ? node.output[1] : ctx.emit.name('dropout_mask');
    node.input = [node.input[0]!, ratioName === '' ? ctx.emit.scalar(DEFAULT_RATIO) : ratioName, ctx.emit.bool(true)];
    node.output = [node.output[0]!, mask];
    ctx.emit.nodes.push(node);
    return { saved: { mask, keepScale: ctx.emit.scalar(1 / (1 - ratio)) } };
  },
  backward(ctx: BackwardContext) {
    const { emit, saved } = ctx;
    if (!ctx.training) return [ctx.dy(0)];
    const kept = emit.op('Cast', [saved['mask']!], [intAttr('to', DataType.FLOAT)]);
    return [emit.op('Mul', [emit.op('Mul', [ctx.dy(0)!, kept]), saved['keepScale']!], [], 'dropout_dx'), undefined, undefined];
  },
};

export const dropoutRules: Record<string, GradientRule> = { Dropout: dropout };
