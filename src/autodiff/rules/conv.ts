/**
 * Gradient rules of Conv and ConvTranspose, which are each other's adjoint.
 *
 * Conv input gradient, stride 1: a Conv of dY with the weight flipped spatially and its channel
 * axes swapped (ORT 1.30, batch 128, 1 thread: 2–2.5× faster than ConvTranspose, whose col2im
 * is slow); strides > 1: one ConvTranspose. ConvTranspose input gradient: one Conv with the same
 * weight. Weight gradients of both: shifted copies of the input made by grouped Convs with
 * one-hot kernels (im2col), then one batched MatMul per group and a sum over the batch (measured
 * 2–10× faster than the batch/channel-transposed Conv trick); at stride 1 the shifts are split
 * between input and dY (see separableWeightGrad).
 */
import { intAttr, intsAttr, readInt } from '../attributes.ts';
import type { GraphEmitter } from '../emitter.ts';
import type { BackwardContext, ForwardContext, GradientRule } from '../rule.ts';
import type { Dim } from '../../onnx/shapes/types.ts';
import { outputPaddingFor, type Window, windowOf } from './window.ts';

/** At most this many input copies for a group split (2 covers the 64-filter 7×7 stage of ResNets on 28×28). */
const MAX_CONV_SPLIT = 4;

interface ConvGeometry extends Window {
  group: number;
  /** Weight dims [M, C/group, k…] (Conv) or [C, M/group, k…] (ConvTranspose). */
  wDims: number[];
}

function geometry(ctx: ForwardContext): ConvGeometry {
  const { node } = ctx;
  const wDims = ctx.dims(node.input[1]!);
  if (!wDims.every((d) => typeof d === 'number')) ctx.fail(`${node.opType} gradients need a weight of static shape`);
  const kernel = wDims.slice(2) as number[];
  return { ...windowOf(ctx, kernel, node.input[0]!), group: readInt(node, 'group', 1), wDims: wDims as number[] };
}

function windowAttrs(g: ConvGeometry) {
  return [intsAttr('kernel_shape', g.kernel), intsAttr('strides', g.strides), intsAttr('dilations', g.dilations), intsAttr('pads', g.pads)];
}

/**
 * The weight gradient of a convolution from `input` (C channels) to the output whose gradient is
 * `dy` (M channels), weight [M, C/group, k…]. Stride-1 2-D windows take the separable route, the
 * others im2col.
 */
function weightGrad(emit: GraphEmitter, input: string, dy: string, g: ConvGeometry): string {
  return g.kernel.length === 2 && g.strides.every((s) => s === 1) ? separableWeightGrad(emit, input, dy, g) : im2colWeightGrad(emit, input, dy, g);
}

/** One-hot kernels [channels·taps, 1, …shape]: output channel c·taps + t copies input channel c at tap `tapOf(t)`. */
function oneHotKernels(emit: GraphEmitter, channels: number, shape: number[], tapOf: (t: number) => number): string {
  const taps = shape.reduce((p, k) => p * k, 1);
  const data = new Float32Array(channels * taps * taps);
  for (let o = 0; o < channels * taps; o++) data[o * taps + tapOf(o % taps)] = 1;
  return emit.floats([channels * taps, 1, ...shape], data, 'im2col_kernel');
}

/** im2col: columns [N, C·kk, L] times dYᵀ [N, L, M], per group, summed over N. */
function im2colWeightGrad(emit: GraphEmitter, input: string, dy: string, g: ConvGeometry): string {
  const [M, cPerGroup] = [g.wDims[0]!, g.wDims[1]!];
  const C = cPerGroup * g.group;
  const kk = g.kernel.reduce((p, k) => p * k, 1);
  const identity = oneHotKernels(emit, C, g.kernel, (t) => t);
  const cols = emit.op('Conv', [input, identity], [...windowAttrs(g), intAttr('group', C)], 'im2col'); // [N, C·kk, out…]
  const colsG = emit.op('Reshape', [cols, emit.int64s([0, g.group, cPerGroup * kk, -1])]); // [N, G, C/G·kk, L]
  const dyG = emit.op('Reshape', [dy, emit.int64s([0, g.group, M / g.group, -1])]); // [N, G, M/G, L]
  const dyT = emit.op('Transpose', [dyG], [intsAttr('perm', [0, 1, 3, 2])]); // [N, G, L, M/G]
  const prod = emit.op('MatMul', [colsG, dyT]); // [N, G, C/G·kk, M/G]
  const summed = emit.op('ReduceSum', [prod, emit.int64s([0])], [intAttr('keepdims', 0)]); // [G, C/G·kk, M/G]
  const perGroup = emit.op('Transpose', [summed], [intsAttr('perm', [0, 2, 1])]); // [G, M/G, C/G·kk]
  return emit.op('Reshape', [perGroup, emit.int64s(g.wDims)], [], 'conv_dw');
}

/**
 * Stride-1 2-D windows: dW[m, c, i, j] = Σ dy[m, h, w]·x[c, h − pt + i·dh, w − pl + j·dw]. The
 * column shifts j are expanded from x (kw copies, rows padded to H + pt + pb) and the row shifts
 * i from dy (kh copies, dy moved down by i·dh), then one MatMul over the padded positions sums
 * over both: kw·|x| + kh·|dy| values written instead of kh·kw·|x| (measured 30–35% faster than
 * im2col at batch 128). A 1-wide axis with no padding needs no copy.
 */
function separableWeightGrad(emit: GraphEmitter, input: string, dy: string, g: ConvGeometry): string {
  const [M, cPerGroup] = [g.wDims[0]!, g.wDims[1]!];
  const C = cPerGroup * g.group;
  const [kh, kw] = g.kernel as [number, number];
  const [dh, dw] = g.dilations as [number, number];
  const [pt, pl, pb, pr] = g.pads as [number, number, number, number];
  const cols = kw === 1 && pt + pl + pb + pr === 0 ? input : emit.op('Conv', [input, oneHotKernels(emit, C, [1, kw], (t) => t)], [
    intsAttr('kernel_shape', [1, kw]), intsAttr('dilations', [1, dw]), intsAttr('pads', [pt, pl, pb, pr]), intAttr('group', C),
  ], 'im2col_w'); // [N, C·kw, H + pt + pb, W_out]: x[c, r − pt, w − pl + j·dw]
  const reach = (kh - 1) * dh;
  const rows = kh === 1 ? dy : emit.op('Conv', [dy, oneHotKernels(emit, M, [kh, 1], (t) => kh - 1 - t)], [
    intsAttr('kernel_shape', [kh, 1]), intsAttr('dilations', [dh, 1]), intsAttr('pads', [reach, 0, reach, 0]), intAttr('group', M),
  ], 'im2col_h'); // [N, M·kh, H_out + reach, W_out]: dy[m, r − i·dh, w]
  const colsG = emit.op('Reshape', [cols, emit.int64s([0, g.group, cPerGroup * kw, -1])]); // [N, G, C/G·kw, L′]
  const rowsG = emit.op('Reshape', [rows, emit.int64s([0, g.group, (M / g.group) * kh, -1])]); // [N, G, M/G·kh, L′]
  const rowsT = emit.op('Transpose', [rowsG], [intsAttr('perm', [0, 1, 3, 2])]); // [N, G, L′, M/G·kh]
  const prod = emit.op('MatMul', [colsG, rowsT]); // [N, G, C/G·kw, M/G·kh]
  const summed = emit.op('ReduceSum', [prod, emit.int64s([0])], [intAttr('keepdims', 0)]); // [G, C/G·kw, M/G·kh]
  const split = emit.op('Reshape', [summed, emit.int64s([g.group, cPerGroup, kw, M / g.group, kh])]);
  const ordered = emit.op('Transpose', [split], [intsAttr('perm', [0, 3, 1, 4, 2])]); // [G, M/G, C/G, kh, kw]
  return emit.op('Reshape', [ordered, emit.int64s(g.wDims)], [], 'conv_dw');
}

/** The bias gradient: dy summed over every axis but the channels. */
function biasGrad(ctx: BackwardContext, g: ConvGeometry, dy: string): string {
  return ctx.emit.op('ReduceSum', [dy, ctx.emit.int64s([0, ...g.kernel.map((_, i) => 2 + i)])], [intAttr('keepdims', 0)], 'conv_db');
}

/**
 * Conv's input gradient. At stride 1 it is a Conv of dY with W flipped and transposed per group
 * ([M, C/G, k…] → [C, M/G, k…]), padded by the window extent minus the forward pads.
 */
function inputGrad(ctx: BackwardContext, g: ConvGeometry, dy: string): string {
  const { emit, node } = ctx;
  const n = g.kernel.length;
  const extent = g.kernel.map((k, i) => (k - 1) * g.dilations[i]!);
  const flippedPads = g.pads.map((p, i) => extent[i % n]! - p);
  if (g.strides.some((s) => s !== 1) || flippedPads.some((p) => p < 0)) {
    return emit.op('ConvTranspose', [dy, node.input[1]!], [
      ...windowAttrs(g), intAttr('group', g.group), intsAttr('output_padding', outputPaddingFor(ctx, node.input[0]!, node.output[0]!, g)),
    ], 'conv_dx');
  }
  const [M, cPerGroup] = [g.wDims[0]!, g.wDims[1]!];
  const spatial = g.kernel.map((_, i) => 2 + i);
  let w = node.input[1]!;
  if (g.group === 1) w = emit.op('Transpose', [w], [intsAttr('perm', [1, 0, ...spatial])]); // [C, M, k…]
  else {
    const grouped = emit.op('Reshape', [w, emit.int64s([g.group, M / g.group, cPerGroup, ...g.kernel])]); // [G, M/G, C/G, k…]
    const swapped = emit.op('Transpose', [grouped], [intsAttr('perm', [0, 2, 1, ...spatial.map((a) => a + 1)])]); // [G, C/G, M/G, k…]
    w = emit.op('Reshape', [swapped, emit.int64s([cPerGroup * g.group, M / g.group, ...g.kernel])]); // [C, M/G, k…]
  }
  const flipped = emit.op('Slice', [w, emit.int64s(spatial.map(() => -1)), emit.int64s(spatial.map(() => Number.MIN_SAFE_INTEGER)), emit.int64s(spatial), emit.int64s(spatial.map(() => -1))], [], 'conv_w_flipped');
  const split = groupSplit(g, cPerGroup * g.group, ctx.dims(node.input[0]!).slice(2));
  return splitConv(emit, dy, flipped, undefined, { ...g, pads: flippedPads }, split, emit.name('conv_dx'));
}

/**
 * ORT's MLAS runs a Conv that has more filters per group than output positions (64 filters on
 * 7×7) image by image around a tiny threaded GEMM, which on 2 threads ran slower than on 1.
 * Split into s groups over s copies of the input (the same convolution), it takes the path that
 * spreads images over threads. Only for group 1; 1 when no split is needed.
 */
function groupSplit(g: ConvGeometry, filters: number, positions: Dim[]): number {
  if (g.group !== 1 || !positions.every((d) => typeof d === 'number')) return 1;
  const count = (positions as number[]).reduce((p, d) => p * d, 1);
  for (let split = 1; split <= MAX_CONV_SPLIT; split++) if (filters % split === 0 && filters / split <= count) return split;
  return 1;
}

/** Conv(x, w, bias) into `output`, split `split` ways (see groupSplit). */
function splitConv(emit: GraphEmitter, x: string, w: string, bias: string | undefined, g: ConvGeometry, split: number, output: string): string {
  const input = split === 1 ? x : emit.op('Concat', Array<string>(split).fill(x), [intAttr('axis', 1)], 'conv_input_copies');
  return emit.opN('Conv', bias === undefined ? [input, w] : [input, w, bias], [output], [...windowAttrs(g), intAttr('group', g.group * split)])[0]!;
}

const conv: GradientRule = {
  forward(ctx: ForwardContext) {
    const { node } = ctx;
    const g = geometry(ctx);
    const split = groupSplit(g, g.wDims[0]!, ctx.dims(node.output[0]!).slice(2));
    if (split === 1) ctx.emit.nodes.push(node);
    else splitConv(ctx.emit, node.input[0]!, node.input[1]!, node.input[2] || undefined, g, split, node.output[0]!);
    return {};
  },
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const g = geometry(ctx);
    const dy = ctx.dy(0)!;
    return [
      ctx.wants(0) ? inputGrad(ctx, g, dy) : undefined,
      ctx.wants(1) ? weightGrad(emit, node.input[0]!, dy, g) : undefined,
      ctx.wants(2) ? biasGrad(ctx, g, dy) : undefined,
    ];
  },
};

/**
 * y = ConvTranspose(x, W): x = Conv(y, W) read backwards, so dX = Conv(dY, W) and dW is the
 * weight gradient of that Conv with dY as its input and dX's place taken by x.
 */
const convTranspose: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    if (node.attribute.some((a) => a.name === 'output_shape')) ctx.fail('gradients of ConvTranspose with output_shape are not supported; give pads and output_padding');
    const g = geometry(ctx);
    const dy = ctx.dy(0)!;
    const dx = !ctx.wants(0) ? undefined : emit.op('Conv', [dy, node.input[1]!], [...windowAttrs(g), intAttr('group', g.group)], 'convt_dx');
    return [dx, ctx.wants(1) ? weightGrad(emit, dy, node.input[0]!, g) : undefined, ctx.wants(2) ? biasGrad(ctx, g, dy) : undefined];
  },
};

export const convRules: Record<string, GradientRule> = { Conv: conv, ConvTranspose: convTranspose };
