/** 2-D sliding-window geometry shared by the reference Conv and pooling ops. */
import { readInts, readString } from '../../../../src/autodiff/attributes.ts';
import type { NodeProto } from '../../../../src/onnx/proto/onnx_pb.ts';

export interface Window2d {
  k: [number, number];
  s: [number, number];
  d: [number, number];
  /** [top, left, bottom, right]. */
  p: [number, number, number, number];
  /** Output spatial size for an input of size [H, W]. */
  out(h: number, w: number): [number, number];
}

/**
 * The window of a Conv or pooling node over an input of spatial size `input` ([H, W]), with
 * auto_pad SAME_UPPER / SAME_LOWER (output ceil(size / stride), odd padding cell at the end /
 * start) and VALID resolved into pads.
 */
export function window2d(node: NodeProto, kernel: number[] | undefined, input: readonly number[]): Window2d {
  const k = (readInts(node, 'kernel_shape') ?? kernel)!;
  const s = readInts(node, 'strides') ?? [1, 1];
  const d = readInts(node, 'dilations') ?? [1, 1];
  const autoPad = readString(node, 'auto_pad', 'NOTSET');
  let p = readInts(node, 'pads') ?? [0, 0, 0, 0];
  if (autoPad === 'VALID') p = [0, 0, 0, 0];
  if (autoPad.startsWith('SAME')) {
    const total = [0, 1].map((i) => Math.max(0, (Math.ceil(input[i]! / s[i]!) - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - input[i]!));
    const small = total.map((t) => Math.floor(t / 2));
    p = autoPad === 'SAME_UPPER' ? [small[0]!, small[1]!, total[0]! - small[0]!, total[1]! - small[1]!] : [total[0]! - small[0]!, total[1]! - small[1]!, small[0]!, small[1]!];
  }
  const size = (n: number, i: number) => Math.floor((n + p[i]! + p[i + 2]! - d[i]! * (k[i]! - 1) - 1) / s[i]!) + 1;
  return {
    k: [k[0]!, k[1]!], s: [s[0]!, s[1]!], d: [d[0]!, d[1]!], p: [p[0]!, p[1]!, p[2]!, p[3]!],
    out: (h, w) => [size(h, 0), size(w, 1)],
  };
}

/**
 * Calls `visit(ih, iw, ki, kj)` for the kernel taps of output position (oh, ow) that fall inside
 * an input of size [H, W] (taps in the padding are skipped).
 */
export function forEachTap(win: Window2d, h: number, w: number, oh: number, ow: number, visit: (ih: number, iw: number, ki: number, kj: number) => void): void {
  for (let ki = 0; ki < win.k[0]; ki++) {
    const ih = oh * win.s[0] - win.p[0] + ki * win.d[0];
    if (ih < 0 || ih >= h) continue;
    for (let kj = 0; kj < win.k[1]; kj++) {
      const iw = ow * win.s[1] - win.p[1] + kj * win.d[1];
      if (iw >= 0 && iw < w) visit(ih, iw, ki, kj);
    }
  }
}
