/**
 * Gradient rules of pooling. MaxPool routes each output gradient to the input position its
 * `Indices` output names (ties go to the first maximum, as in PyTorch). An equality mask would
 * send it to every tied position: on MNIST 26% of first-layer 2×2 windows hold ties, and bias
 * gradients came out 240% off.
 */
import { clone } from '@bufbuild/protobuf';
import { NodeProtoSchema } from '../../onnx/proto/onnx_pb.ts';
import { intAttr, intsAttr, readInt, readInts, stringAttr } from '../attributes.ts';
import type { BackwardContext, ForwardContext, GradientRule } from '../rule.ts';
import { outputPaddingFor, type Window, windowOf } from './window.ts';

function geometry(ctx: ForwardContext): Window {
  const kernel = readInts(ctx.node, 'kernel_shape') ?? ctx.fail('kernel_shape is missing');
  return windowOf(ctx, kernel, ctx.node.input[0]!);
}

const maxPool: GradientRule = {
  forward(ctx: ForwardContext) {
    if (readInt(ctx.node, 'storage_order', 0) !== 0) ctx.fail('MaxPool gradients need storage_order 0 (row-major indices)');
    const node = clone(NodeProtoSchema, ctx.node);
    const indices = node.output[1] !== undefined && node.output[1] !== '' ? node.output[1] : ctx.emit.name('maxpool_indices');
    node.output = [node.output[0]!, indices];
    ctx.emit.nodes.push(node);
    return { saved: { indices } };
  },
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const g = geometry(ctx);
    const dy = ctx.dy(0)!;
    const indices = ctx.saved['indices']!;
    const shape = emit.op('Shape', [node.input[0]!]);
    const overlapping = g.kernel.some((k, i) => (k - 1) * g.dilations[i]! + 1 > g.strides[i]!);
    if (!overlapping) {
      // Disjoint windows: each input position receives at most one gradient, MaxUnpool places it.
      return [emit.op('MaxUnpool', [dy, indices, shape], [
        intsAttr('kernel_shape', g.kernel), intsAttr('strides', g.strides), intsAttr('pads', g.pads),
      ], 'maxpool_dx')];
    }
    // Overlapping windows may pick the same position twice: MaxUnpool would overwrite, so add.
    const flat = emit.int64s([-1]);
    const zeros = emit.op('ConstantOfShape', [emit.op('Reshape', [emit.op('Size', [node.input[0]!]), flat])]);
    const scattered = emit.op('ScatterElements', [
      zeros, emit.op('Reshape', [indices, flat]), emit.op('Reshape', [dy, flat]),
    ], [intAttr('axis', 0), stringAttr('reduction', 'add')]);
    return [emit.op('Reshape', [scattered, shape], [], 'maxpool_dx')];
  },
};

/** Each input position receives the mean of the gradients of the windows holding it: a depthwise ConvTranspose of 1/k² kernels. */
const averagePool: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const g = geometry(ctx);
    if (readInt(node, 'ceil_mode', 0) !== 0) ctx.fail('AveragePool gradients need ceil_mode 0');
    if (readInt(node, 'count_include_pad', 0) === 0 && g.pads.some((p) => p !== 0)) {
      ctx.fail('AveragePool gradients with padding need count_include_pad 1 (window divisors would vary)');
    }
    const channels = ctx.dims(node.input[0]!)[1];
    if (typeof channels !== 'number') ctx.fail('AveragePool gradients need a static channel count');
    const kk = g.kernel.reduce((p, k) => p * k, 1);
    const kernel = emit.floats([channels, 1, ...g.kernel], new Float32Array(channels * kk).fill(1 / kk), 'avgpool_kernel');
    return [emit.op('ConvTranspose', [ctx.dy(0)!, kernel], [
      intsAttr('kernel_shape', g.kernel), intsAttr('strides', g.strides), intsAttr('dilations', g.dilations),
      intsAttr('pads', g.pads), intAttr('group', channels),
      intsAttr('output_padding', outputPaddingFor(ctx, node.input[0]!, node.output[0]!, g)),
    ], 'avgpool_dx')];
  },
};

/** dX = dY / (H·W), broadcast back over the spatial dims (scaled before Expand: fewer elements). */
const globalAveragePool: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const spatial = ctx.dims(node.input[0]!).slice(2);
    if (!spatial.every((d) => typeof d === 'number')) ctx.fail('GlobalAveragePool gradients need static spatial dims');
    const count = (spatial as number[]).reduce((p, d) => p * d, 1);
    const scaled = emit.op('Mul', [ctx.dy(0)!, emit.scalar(1 / count)]);
    return [emit.op('Expand', [scaled, emit.op('Shape', [node.input[0]!])], [], 'gap_dx')];
  },
};

export const poolRules: Record<string, GradientRule> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
};
