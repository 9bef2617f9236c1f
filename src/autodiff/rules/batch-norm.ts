/**
 * BatchNormalization. In training mode: batch statistics in the forward pass, running statistics
 * updated as PyTorch does (ONNX `momentum` m: running = m·running + (1 − m)·batch, with the
 * *unbiased* batch variance; ONNX's own training mode uses the biased one), and the gradient
 * dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)) with k = scale/√(var + ε). In inference mode (see
 * modes.ts): the node is unchanged and dx = k·dy with the running variance.
 *
 * Every per-channel affine map runs as a BatchNormalization node (mean 0, var 1, ε 0, exact):
 * on ORT a fused BN kernel is much faster than Mul/Add broadcasting a [C, 1, 1] tensor over the
 * interleaved size-1 dims of [N, C, H, W].
 */
import { DataType } from '../../onnx/tensor-data.ts';
import { floatAttr, intAttr, readFloat, readInt } from '../attributes.ts';
import type { GraphEmitter } from '../emitter.ts';
import type { BackwardContext, ForwardContext, GradientRule } from '../rule.ts';

/** ONNX defaults. */
const [DEFAULT_EPSILON, DEFAULT_MOMENTUM] = [1e-5, 0.9];

/** Static facts every step needs: channel count and the non-channel axes. */
function layout(ctx: ForwardContext): { channels: number; axes: number[] } {
  const dims = ctx.dims(ctx.node.input[0]!);
  const channels = dims[1];
  if (dims.length < 2 || typeof channels !== 'number') ctx.fail('BatchNormalization gradients need input [N, C, …] with a static C');
  return { channels, axes: [0, ...Array.from({ length: dims.length - 2 }, (_, i) => i + 2)] };
}

/**
 * Σ over every axis but the channels: first over the contiguous spatial axes, then over the
 * batch (measured faster on ORT than one ReduceSum over [0, 2, 3], on 1 and 2 threads).
 */
function channelSum(emit: GraphEmitter, x: string, axes: number[], hint: string): string {
  if (axes.length === 1) return emit.reduce('ReduceSum', x, axes, false, hint);
  return emit.reduce('ReduceSum', emit.reduce('ReduceSum', x, axes.slice(1), false), [0], false, hint);
}

/** a[c]·x + b[c] over channel axis 1, as one fused kernel. */
function channelAffine(emit: GraphEmitter, channels: number, x: string, a: string, b: string, hint: string): string {
  return emit.op('BatchNormalization', [x, a, b, emit.filled([channels], 0), emit.filled([channels], 1)], [floatAttr('epsilon', 0)], hint);
}

/** (x − mean)/√(var + ε) as one fused kernel. */
function normalized(emit: GraphEmitter, channels: number, x: string, mean: string, variance: string, eps: number): string {
  return emit.op('BatchNormalization', [x, emit.filled([channels], 1), emit.filled([channels], 0), mean, variance], [floatAttr('epsilon', eps)], 'bn_xhat');
}

/**
 * One BatchNormalization in ONNX training mode gives y and, with momentum 0, the batch mean and
 * biased variance as its "running" outputs: a single fused kernel (measured ≈ 3× faster than
 * reductions plus affine passes; like every BN kernel of ORT 1.30 it runs on one thread). x̂ is
 * recomputed in the backward pass.
 */
function trainingForward(ctx: ForwardContext) {
  const { emit, node } = ctx;
  const [x, scale, bias, runMean, runVar] = node.input;
  const { channels } = layout(ctx);
  const momentum = readFloat(node, 'momentum', DEFAULT_MOMENTUM);
  // ORT's kernel aliases outputs 1, 2 to inputs 3, 4 (it writes the statistics in place): fed
  // constant zeros (which ORT shares between nodes) or the running statistics themselves (read
  // again for the update), other readers saw the batch statistics. Each node gets private zeros,
  // computed at run time.
  const privateZeros = (state: string) => emit.op('Mul', [state, emit.scalar(0)], [], 'bn_no_running');
  const [mean, variance] = [emit.name('bn_mean'), emit.name('bn_var')]; // [C]
  emit.opN('BatchNormalization', [x!, scale!, bias!, privateZeros(runMean!), privateZeros(runVar!)], [node.output[0]!, mean, variance], [
    floatAttr('epsilon', readFloat(node, 'epsilon', DEFAULT_EPSILON)), floatAttr('momentum', 0), intAttr('training_mode', 1),
  ]);
  const count = emit.op('Cast', [emit.op('Div', [emit.op('Size', [x!]), emit.int64s([channels])])], [intAttr('to', DataType.FLOAT)], 'bn_count'); // [1]
  const blend = (running: string, batch: string, hint: string) => emit.op('Add', [
    emit.op('Mul', [running, emit.scalar(momentum)]), emit.op('Mul', [batch, emit.scalar(1 - momentum)]),
  ], [], hint);
  const unbiased = emit.op('Mul', [variance, emit.op('Div', [count, emit.op('Sub', [count, emit.scalar(1)])])]);
  return {
    saved: { mean, variance, count },
    stateUpdates: [
      { state: runMean!, updated: blend(runMean!, mean, 'running_mean') },
      { state: runVar!, updated: blend(runVar!, unbiased, 'running_var') },
    ],
  };
}

const batchNorm: GradientRule = {
  forward(ctx: ForwardContext) {
    if (readInt(ctx.node, 'training_mode', 0) !== 0) {
      ctx.fail('has training_mode=1; training graphs choose BN modes themselves (trainingMode, nodeModes)');
    }
    if (ctx.node.output.length > 1) ctx.fail('has running-statistics outputs; export the model in inference mode');
    if (!ctx.training) {
      ctx.emit.nodes.push(ctx.node);
      return {};
    }
    return trainingForward(ctx);
  },
  backward(ctx: BackwardContext) {
    const { emit, node, saved } = ctx;
    if (ctx.wants(3) || ctx.wants(4)) ctx.fail('running mean and variance are statistics, not trainable parameters');
    const { channels, axes } = layout(ctx);
    const eps = readFloat(node, 'epsilon', DEFAULT_EPSILON);
    const dy = ctx.dy(0)!;
    const [mean, variance] = ctx.training ? [saved['mean']!, saved['variance']!] : [node.input[3]!, node.input[4]!];
    const xhat = normalized(emit, channels, node.input[0]!, mean, variance, eps);
    const sumDy = channelSum(emit, dy, axes, 'bn_dbias'); // [C]
    const sumDyXhat = channelSum(emit, emit.op('Mul', [dy, xhat]), axes, 'bn_dscale'); // [C]
    let dx: string | undefined;
    if (ctx.wants(0)) {
      const invStd = emit.op('Reciprocal', [emit.op('Sqrt', [emit.op('Add', [variance, emit.scalar(eps)])])]);
      const k = emit.op('Mul', [node.input[1]!, invStd]);
      let g = dy;
      if (ctx.training) {
        const perCount = (s: string) => emit.op('Neg', [emit.op('Div', [s, saved['count']!])]);
        // −(mean(dy) + x̂·mean(dy·x̂)), then dx = k·(dy + that).
        const correction = channelAffine(emit, channels, xhat, perCount(sumDyXhat), perCount(sumDy), 'bn_correction');
        g = emit.op('Add', [dy, correction]);
      }
      dx = channelAffine(emit, channels, g, k, emit.filled([channels], 0), 'bn_dx');
    }
    return [dx, ctx.wants(1) ? sumDyXhat : undefined, ctx.wants(2) ? sumDy : undefined, undefined, undefined];
  },
};

export const batchNormRules: Record<string, GradientRule> = { BatchNormalization: batchNorm };
