/**
 * Ops that select, join or resize without arithmetic: Concat, Slice, Gather, GatherElements,
 * Split, Pad, Resize/Upsample. Concat, Slice and Gather also fold small constant values, the
 * steps of PyTorch's shape subgraphs.
 */
import { addDims, dimsCompatible, divDims, formatShape, UNKNOWN_DIM } from '../dims.ts';
import type { OutputFacts, RuleContext, ShapeRule } from '../context.ts';
import type { Dim } from '../types.ts';

const concat: ShapeRule = (ctx) => {
  const indices = ctx.node.input.map((_, i) => i).filter((i) => ctx.has(i));
  const first = ctx.input(indices[0]!);
  const rank = first.dims.length;
  const axis = ctx.axis(ctx.int('axis', 0), rank);
  const dims = [...first.dims];
  for (const i of indices.slice(1)) {
    const d = ctx.dims(i);
    if (d.length !== rank || d.some((v, k) => k !== axis && !dimsCompatible(v, dims[k]!))) {
      ctx.fail(`input ${i} ${formatShape(d)} does not match ${formatShape(first.dims)} off the concat axis ${axis}`);
    }
    dims[axis] = addDims(dims[axis]!, d[axis]!);
  }
  const out: OutputFacts = { dataType: first.dataType, dims };
  const values = indices.map((i) => ctx.value(i));
  if (rank === 1 && values.every((v) => v !== undefined)) out.value = values.flat();
  return [out];
};

/** The first index and count a slice keeps along one axis of size `size` (ONNX clamping rules). */
function sliceRange(size: number, start: number, end: number, step: number): { first: number; count: number } {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const s = start < 0 ? start + size : start;
  const e = end < 0 ? end + size : end;
  const [first, last] = step > 0 ? [clamp(s, 0, size), clamp(e, 0, size)] : [clamp(s, -1, size - 1), clamp(e, -1, size - 1)];
  return { first, count: Math.max(0, Math.ceil((last - first) / step)) };
}

/** Ends at or past this are "to the end" (PyTorch exports INT64_MAX; some use INT32_MAX). */
const TO_THE_END = 2 ** 31 - 1;

const slice: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const rank = x.dims.length;
  // Opset < 10 keeps starts/ends/axes in attributes; 10+ in inputs.
  const starts = ctx.ints('starts') ?? ctx.numbers(1);
  const ends = ctx.ints('ends') ?? ctx.numbers(2);
  if (starts === undefined || ends === undefined) return [{ dataType: x.dataType, dims: x.dims.map(() => UNKNOWN_DIM) }];
  const axes = (ctx.ints('axes') ?? (ctx.has(3) ? ctx.numbers(3) ?? ctx.fail('axes are not constant') : starts.map((_, i) => i))).map((a) => ctx.axis(a, rank));
  const steps = ctx.has(4) ? ctx.numbers(4) ?? ctx.fail('steps are not constant') : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    ctx.fail('starts, ends, axes and steps must have the same length');
  }
  const dims = [...x.dims];
  axes.forEach((a, k) => {
    const d = dims[a]!;
    const [s, e, step] = [starts[k]!, ends[k]!, steps[k]!];
    if (step === 0) ctx.fail('a step is 0');
    if (typeof d === 'number') dims[a] = sliceRange(d, s, e, step).count;
    else dims[a] = s === 0 && e >= TO_THE_END && step === 1 ? d : UNKNOWN_DIM;
  });
  const out: OutputFacts = { dataType: x.dataType, dims };
  if (rank === 1 && x.value !== undefined && axes.length === 1) {
    const { first, count } = sliceRange(x.value.length, starts[0]!, ends[0]!, steps[0]!);
    out.value = Array.from({ length: count }, (_, i) => x.value![first + i * steps[0]!]!);
  }
  return [out];
};

const gather: ShapeRule = (ctx) => {
  const data = ctx.input(0);
  const indices = ctx.input(1);
  const rank = data.dims.length;
  const axis = ctx.axis(ctx.int('axis', 0), rank);
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  const out: OutputFacts = { dataType: data.dataType, dims };
  const idx = ctx.numbers(1);
  if (rank === 1 && data.value !== undefined && idx !== undefined) {
    const n = data.value.length;
    if (idx.some((i) => i < -n || i >= n)) ctx.fail(`indices [${idx.join(', ')}] are out of range for ${n} elements`);
    out.value = idx.map((i) => data.value![i < 0 ? i + n : i]!);
  }
  return [out];
};

const gatherElements: ShapeRule = (ctx) => [{ dataType: ctx.input(0).dataType, dims: ctx.dims(1) }];

const split: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const axis = ctx.axis(ctx.int('axis', 0), x.dims.length);
  const outputs = ctx.node.output.length;
  const d = x.dims[axis]!;
  // Sizes: the `split` input (13+) or attribute (< 13); else equal parts (num_outputs in 18+).
  const sizes: Dim[] = ctx.ints('split') ?? (ctx.has(1) ? ctx.value(1) ?? new Array<Dim>(outputs).fill(UNKNOWN_DIM) : undefined) ?? (() => {
    if (typeof d !== 'number') return new Array<Dim>(outputs).fill(divDims(d, outputs));
    const part = Math.ceil(d / outputs);
    return Array.from({ length: outputs }, (_, i) => Math.max(0, Math.min(part, d - i * part)));
  })();
  if (sizes.length !== outputs) ctx.fail(`${sizes.length} split sizes for ${outputs} outputs`);
  return sizes.map((s) => ({ dataType: x.dataType, dims: x.dims.map((v, i) => (i === axis ? s : v)) }));
};

const pad: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const rank = x.dims.length;
  const pads = ctx.ints('pads') ?? ctx.numbers(1);
  if (pads === undefined) return [{ dataType: x.dataType, dims: x.dims.map(() => UNKNOWN_DIM) }];
  const axes = ctx.has(3) ? (ctx.numbers(3) ?? ctx.fail('axes are not constant')).map((a) => ctx.axis(a, rank)) : x.dims.map((_, i) => i);
  if (pads.length !== 2 * axes.length) ctx.fail(`${pads.length} pads for ${axes.length} axes`);
  const dims = [...x.dims];
  axes.forEach((a, k) => {
    dims[a] = addDims(addDims(dims[a]!, pads[k]!), pads[k + axes.length]!);
  });
  return [{ dataType: x.dataType, dims }];
};

/** Resize (11+: X, roi, scales, sizes; 10: X, scales) and Upsample (X, scales). */
const resize: ShapeRule = (ctx: RuleContext) => {
  const x = ctx.input(0);
  const sizes = ctx.inputCount >= 4 ? ctx.value(3) : undefined;
  if (sizes !== undefined && sizes.length > 0) return [{ dataType: x.dataType, dims: sizes }];
  const scales = ctx.numbers(ctx.inputCount >= 3 ? 2 : 1) ?? ctx.attr('scales')?.floats;
  if (scales === undefined || scales.length !== x.dims.length) return [{ dataType: x.dataType, dims: x.dims.map(() => UNKNOWN_DIM) }];
  const dims = x.dims.map((d, i) => {
    const s = scales[i]!;
    if (s === 1) return d;
    return typeof d === 'number' ? Math.floor(d * s) : UNKNOWN_DIM;
  });
  return [{ dataType: x.dataType, dims }];
};

export const selectRules: Record<string, ShapeRule> = {
  Concat: concat,
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  Split: split,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
};
