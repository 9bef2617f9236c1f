/**
 * Convolution and pooling: Conv, ConvTranspose, MaxPool, AveragePool, LpPool and the global
 * pools. Spatial sizes follow the ONNX formulas (pads, strides, dilations, auto_pad, ceil_mode);
 * a symbolic spatial size survives only where the op keeps the size unchanged.
 */
import { DataType } from '../../tensor-data.ts';
import { dimsCompatible, formatShape, mulDims, UNKNOWN_DIM } from '../dims.ts';
import type { RuleContext, ShapeRule } from '../context.ts';
import type { Dim } from '../types.ts';

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin_0, begin_1, …, end_0, end_1, …] as in ONNX. */
  pads: number[];
  autoPad: string;
}

function window(ctx: RuleContext, spatial: number, kernel: number[]): Window {
  const strides = ctx.ints('strides') ?? kernel.map(() => 1);
  const dilations = ctx.ints('dilations') ?? kernel.map(() => 1);
  const pads = ctx.ints('pads') ?? new Array<number>(2 * spatial).fill(0);
  if (kernel.length !== spatial) ctx.fail(`kernel_shape has ${kernel.length} dims but the input has ${spatial} spatial dims`);
  if (strides.length !== spatial || dilations.length !== spatial || pads.length !== 2 * spatial) {
    ctx.fail(`strides, dilations and pads must have ${spatial}, ${spatial} and ${2 * spatial} values`);
  }
  if ([...strides, ...dilations, ...kernel].some((v) => v < 1)) ctx.fail('kernel_shape, strides and dilations must be ≥ 1');
  return { kernel, strides, dilations, pads, autoPad: ctx.string('auto_pad', 'NOTSET') };
}

/** Output spatial sizes of a sliding window (Conv and pooling). */
function slidingOutput(ctx: RuleContext, inputs: Dim[], w: Window, ceilMode: boolean): Dim[] {
  return inputs.map((d, i) => {
    const stride = w.strides[i]!;
    const span = w.dilations[i]! * (w.kernel[i]! - 1) + 1;
    if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') {
      return typeof d === 'number' ? Math.ceil(d / stride) : stride === 1 ? d : UNKNOWN_DIM;
    }
    const padded = w.autoPad === 'VALID' ? 0 : w.pads[i]! + w.pads[i + inputs.length]!;
    if (typeof d !== 'number') return stride === 1 && padded === span - 1 ? d : UNKNOWN_DIM;
    const free = d + padded - span;
    if (free < 0) ctx.fail(`window ${span} (kernel × dilation) is larger than the padded input ${d + padded} on spatial axis ${i}`);
    let out = (ceilMode ? Math.ceil(free / stride) : Math.floor(free / stride)) + 1;
    // With ceil_mode, a last window that would start inside the end padding is dropped (as ORT and PyTorch do).
    if (ceilMode && (out - 1) * stride >= d + w.pads[i]!) out -= 1;
    return out;
  });
}

const conv: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const wDims = ctx.dims(1);
  ctx.rank(0, 3);
  if (wDims.length !== x.dims.length) ctx.fail(`weight ${formatShape(wDims)} must have the rank of the input ${formatShape(x.dims)}`);
  const group = ctx.int('group', 1);
  const [m, cPerGroup, ...kDims] = wDims;
  const c = x.dims[1]!;
  if (typeof cPerGroup === 'number' && !dimsCompatible(c, cPerGroup * group)) {
    ctx.fail(`input has ${c} channels but the weight ${formatShape(wDims)} with group=${group} expects ${cPerGroup * group}`);
  }
  if (typeof m === 'number' && m % group !== 0) ctx.fail(`${m} output channels are not divisible by group=${group}`);
  if (ctx.has(2) && !dimsCompatible(ctx.dims(2)[0] ?? -1, m!)) ctx.fail(`bias ${formatShape(ctx.dims(2))} does not match ${m} output channels`);
  const kernel = ctx.ints('kernel_shape') ?? kDims.map((k) => (typeof k === 'number' ? k : ctx.fail('the weight has a symbolic kernel size')));
  const spatial = slidingOutput(ctx, x.dims.slice(2), window(ctx, x.dims.length - 2, kernel), false);
  return [{ dataType: x.dataType, dims: [x.dims[0]!, m!, ...spatial] }];
};

const convTranspose: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const wDims = ctx.dims(1);
  ctx.rank(0, 3);
  if (wDims.length !== x.dims.length) ctx.fail(`weight ${formatShape(wDims)} must have the rank of the input ${formatShape(x.dims)}`);
  const group = ctx.int('group', 1);
  const [cIn, mPerGroup, ...kDims] = wDims;
  if (!dimsCompatible(x.dims[1]!, cIn!)) ctx.fail(`input has ${x.dims[1]} channels but the weight ${formatShape(wDims)} expects ${cIn}`);
  const m = mulDims(mPerGroup!, group);
  const kernel = ctx.ints('kernel_shape') ?? kDims.map((k) => (typeof k === 'number' ? k : ctx.fail('the weight has a symbolic kernel size')));
  const w = window(ctx, x.dims.length - 2, kernel);
  const outputPadding = ctx.ints('output_padding') ?? kernel.map(() => 0);
  const outputShape = ctx.ints('output_shape');
  const n = kernel.length;
  const spatial: Dim[] = outputShape !== undefined ? outputShape.slice(-n) : x.dims.slice(2).map((d, i) => {
    if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return mulDims(d, w.strides[i]!);
    if (typeof d !== 'number') return UNKNOWN_DIM;
    const pads = w.autoPad === 'VALID' ? 0 : w.pads[i]! + w.pads[i + n]!;
    return w.strides[i]! * (d - 1) + outputPadding[i]! + (kernel[i]! - 1) * w.dilations[i]! + 1 - pads;
  });
  return [{ dataType: x.dataType, dims: [x.dims[0]!, m, ...spatial] }];
};

const pool: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  ctx.rank(0, 3);
  const kernel = ctx.ints('kernel_shape') ?? ctx.fail('kernel_shape is required');
  const spatial = slidingOutput(ctx, x.dims.slice(2), window(ctx, x.dims.length - 2, kernel), ctx.int('ceil_mode', 0) === 1);
  const dims = [x.dims[0]!, x.dims[1]!, ...spatial];
  // MaxPool's optional second output: flat indices of the maxima.
  return [{ dataType: x.dataType, dims }, { dataType: DataType.INT64, dims }];
};

const globalPool: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  ctx.rank(0, 3);
  return [{ dataType: x.dataType, dims: [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)] }];
};

export const convRules: Record<string, ShapeRule> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
};
