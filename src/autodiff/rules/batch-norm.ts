/**
 * BatchNormalization in training mode: batch statistics in the forward pass, running statistics
 * updated as PyTorch does (ONNX `momentum` m: running = m·running + (1 − m)·batch, with the
 * *unbiased* batch variance; ONNX's own training mode uses the biased one), and the gradient
 * dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)) with k = scale/√(var + ε).
 *
 * Every per-channel affine map runs as a BatchNormalization node (mean 0, var 1, ε 0, exact):
 * on ORT a fused BN kernel is much faster than Mul/Add broadcasting a [C, 1, 1] tensor over the
 * interleaved size-1 dims of [N, C, H, W].
 */
import { DataType } from '../../onnx/tensor-data.ts';
import { floatAttr, intAttr, readFloat } from '../attributes.ts';
import type { GraphEmitter } from '../emitter.ts';
import type { BackwardContext, ForwardContext, GradientRule } from '../rule.ts';

/** Static facts every step needs: channel count and the non-channel axes. */
function layout(ctx: ForwardContext): { channels: number; axes: number[] } {
  const dims = ctx.dims(ctx.node.input[0]!);
  const channels = dims[1];
  if (dims.length < 2 || typeof channels !== 'number') ctx.fail('training-mode BatchNormalization needs input [N, C, …] with a static C');
  return { channels, axes: [0, ...Array.from({ length: dims.length - 2 }, (_, i) => i + 2)] };
}

/** a[c]·x + b[c] over channel axis 1, as one fused kernel. */
function channelAffine(emit: GraphEmitter, channels: number, x: string, a: string, b: string, hint: string): string {
  const zeros = emit.filled([channels], 0);
  const ones = emit.filled([channels], 1);
  return emit.op('BatchNormalization', [x, a, b, zeros, ones], [floatAttr('epsilon', 0)], hint);
}

const batchNorm: GradientRule = {
  forward(ctx: ForwardContext) {
    const { emit, node } = ctx;
    const [x, scale, bias, runMean, runVar] = node.input;
    const { channels, axes } = layout(ctx);
    const eps = readFloat(node, 'epsilon', 1e-5);
    const momentum = readFloat(node, 'momentum', 0.9);
    const count = emit.op('Cast', [emit.op('Div', [emit.op('Size', [x!]), emit.int64s([channels])])], [intAttr('to', DataType.FLOAT)], 'bn_count'); // [1]
    const mean = emit.op('Div', [emit.reduce('ReduceSum', x!, axes, false), count], [], 'bn_mean'); // [C]
    const centered = channelAffine(emit, channels, x!, emit.filled([channels], 1), emit.op('Neg', [mean]), 'bn_centered');
    const variance = emit.op('Div', [emit.reduce('ReduceSumSquare', centered, axes, false), count], [], 'bn_var'); // [C], biased
    const epsAttr = floatAttr('epsilon', eps);
    const zeros = emit.filled([channels], 0);
    const xhat = emit.op('BatchNormalization', [x!, emit.filled([channels], 1), zeros, mean, variance], [epsAttr], 'bn_xhat');
    emit.opN('BatchNormalization', [x!, scale!, bias!, mean, variance], [node.output[0]!], [epsAttr]);
    const blend = (running: string, batch: string, hint: string) => emit.op('Add', [
      emit.op('Mul', [running, emit.scalar(momentum)]), emit.op('Mul', [batch, emit.scalar(1 - momentum)]),
    ], [], hint);
    const unbiased = emit.op('Mul', [variance, emit.op('Div', [count, emit.op('Sub', [count, emit.scalar(1)])])]);
    return {
      saved: { xhat, variance, count },
      stateUpdates: [
        { state: runMean!, updated: blend(runMean!, mean, 'running_mean') },
        { state: runVar!, updated: blend(runVar!, unbiased, 'running_var') },
      ],
    };
  },
  backward(ctx: BackwardContext) {
    const { emit, node, saved } = ctx;
    const { channels, axes } = layout(ctx);
    const dy = ctx.dy(0)!;
    const sumDy = emit.reduce('ReduceSum', dy, axes, false, 'bn_dbias'); // [C]
    const sumDyXhat = emit.reduce('ReduceSum', emit.op('Mul', [dy, saved['xhat']!]), axes, false, 'bn_dscale'); // [C]
    let dx: string | undefined;
    if (ctx.wants(0)) {
      const invStd = emit.op('Reciprocal', [emit.op('Sqrt', [emit.op('Add', [saved['variance']!, emit.scalar(readFloat(node, 'epsilon', 1e-5))])])]);
      const k = emit.op('Mul', [node.input[1]!, invStd]);
      const perCount = (s: string) => emit.op('Neg', [emit.op('Div', [s, saved['count']!])]);
      // −(mean(dy) + x̂·mean(dy·x̂)), then dx = k·(dy + that).
      const correction = channelAffine(emit, channels, saved['xhat']!, perCount(sumDyXhat), perCount(sumDy), 'bn_correction');
      dx = channelAffine(emit, channels, emit.op('Add', [dy, correction]), k, emit.filled([channels], 0), 'bn_dx');
    }
    return [dx, ctx.wants(1) ? sumDyXhat : undefined, ctx.wants(2) ? sumDy : undefined, undefined, undefined];
  },
};

export const batchNormRules: Record<string, GradientRule> = { BatchNormalization: batchNorm };
