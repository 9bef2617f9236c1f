/**
 * Sliding-window geometry of Conv, ConvTranspose and pooling nodes: kernel, strides, dilations
 * and explicit pads, with `auto_pad` resolved against the input's static spatial dims (backward
 * nodes always carry explicit pads).
 */
import { readInts, readString } from '../attributes.ts';
import type { ForwardContext } from '../rule.ts';

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin…, end…] as in ONNX. */
  pads: number[];
}

/** `kernel` comes from the weight for Conv (kernel_shape is optional there). */
export function windowOf(ctx: ForwardContext, kernel: number[], input: string): Window {
  const { node } = ctx;
  const n = kernel.length;
  const strides = readInts(node, 'strides') ?? Array<number>(n).fill(1);
  const dilations = readInts(node, 'dilations') ?? Array<number>(n).fill(1);
  const autoPad = readString(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return { kernel, strides, dilations, pads: readInts(node, 'pads') ?? Array<number>(2 * n).fill(0) };
  if (autoPad === 'VALID') return { kernel, strides, dilations, pads: Array<number>(2 * n).fill(0) };
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') ctx.fail(`auto_pad '${autoPad}' is not an ONNX value`);
  if (ctx.node.opType === 'ConvTranspose') ctx.fail(`gradients of ConvTranspose with auto_pad ${autoPad} are not supported; give explicit pads`);
  // SAME: output = ceil(input / stride), the padding split evenly, the odd cell at the end (UPPER) or start (LOWER).
  const spatial = ctx.dims(input).slice(2);
  const begin: number[] = [];
  const end: number[] = [];
  kernel.forEach((k, i) => {
    const size = spatial[i];
    if (typeof size !== 'number') ctx.fail(`auto_pad ${autoPad} gradients need static spatial dims`);
    const out = Math.ceil(size / strides[i]!);
    const total = Math.max(0, (out - 1) * strides[i]! + (k - 1) * dilations[i]! + 1 - size);
    const small = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
    end.push(autoPad === 'SAME_UPPER' ? total - small : small);
  });
  return { kernel, strides, dilations, pads: [...begin, ...end] };
}

/**
 * The output_padding that makes a transposed window map over `output` give back exactly
 * `input`'s spatial size: a stride > 1 may have skipped up to stride − 1 trailing rows.
 */
export function outputPaddingFor(ctx: ForwardContext, input: string, output: string, g: Window): number[] {
  const n = g.kernel.length;
  return g.kernel.map((k, i) => {
    if (g.strides[i] === 1) return 0;
    const inDim = ctx.dims(input)[2 + i];
    const outDim = ctx.dims(output)[2 + i];
    if (typeof inDim !== 'number' || typeof outDim !== 'number') ctx.fail('gradients through a stride > 1 need static spatial dims');
    return inDim + g.pads[i]! + g.pads[n + i]! - ((outDim - 1) * g.strides[i]! + (k - 1) * g.dilations[i]! + 1);
  });
}
