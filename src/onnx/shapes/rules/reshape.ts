/**
 * Ops that rearrange without computing: Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Expand,
 * Tile. Values of small constant tensors pass through (a reshaped shape vector is still known).
 */
import { broadcastShapes, dimsEqual, divDims, formatShape, mulDims, productOf, UNKNOWN_DIM } from '../dims.ts';
import type { OutputFacts, RuleContext, ShapeRule } from '../context.ts';
import type { Dim } from '../types.ts';

function withValue(out: OutputFacts, value: Dim[] | undefined): OutputFacts {
  if (value !== undefined) out.value = value;
  return out;
}

/** Reshape's target: 0 copies the input dim (unless allowzero), -1 takes what is left. */
export function reshapeDims(ctx: RuleContext, input: Dim[], target: Dim[], allowZero: boolean): Dim[] {
  const out = target.map((t, i) => (t === 0 && !allowZero ? (input[i] ?? ctx.fail(`shape value 0 at index ${i} copies a dim the input ${formatShape(input)} lacks`)) : t));
  const wild = out.flatMap((t, i) => (t === -1 ? [i] : []));
  if (wild.length > 1) ctx.fail(`shape ${formatShape(target)} has more than one -1`);
  const total = productOf(input);
  const known = productOf(out.filter((t) => t !== -1));
  if (wild.length === 1) {
    out[wild[0]!] = divDims(total, known);
    if (typeof total === 'number' && typeof known === 'number' && (known === 0 ? total !== 0 : total % known !== 0)) {
      ctx.fail(`cannot reshape ${formatShape(input)} (${total} elements) to ${formatShape(target)}`);
    }
  } else if (typeof total === 'number' && typeof known === 'number' && total !== known) {
    ctx.fail(`cannot reshape ${formatShape(input)} (${total} elements) to ${formatShape(target)} (${known} elements)`);
  }
  return out;
}

const reshape: ShapeRule = (ctx: RuleContext) => {
  const x = ctx.input(0);
  const target = ctx.value(1);
  if (target === undefined) {
    const shapeDims = ctx.dims(1);
    const rank = shapeDims[0];
    if (typeof rank !== 'number') ctx.fail('the target shape is not constant and its length is unknown');
    return [{ dataType: x.dataType, dims: new Array<Dim>(rank).fill(UNKNOWN_DIM) }];
  }
  return [withValue({ dataType: x.dataType, dims: reshapeDims(ctx, x.dims, target, ctx.int('allowzero', 0) === 1) }, x.value)];
};

const flatten: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const rank = x.dims.length;
  const axis = ctx.int('axis', 1);
  if (axis < -rank || axis > rank) ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  const a = axis < 0 ? axis + rank : axis;
  return [withValue({ dataType: x.dataType, dims: [productOf(x.dims.slice(0, a)), productOf(x.dims.slice(a))] }, x.value)];
};

const transpose: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const rank = x.dims.length;
  const perm = ctx.ints('perm') ?? x.dims.map((_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    ctx.fail(`perm [${perm.join(', ')}] is not a permutation of the ${rank} axes of ${formatShape(x.dims)}`);
  }
  return [{ dataType: x.dataType, dims: perm.map((p) => x.dims[p]!) }];
};

/** Axes from the attribute (before opset 13) or the second input (13+). */
function axesOf(ctx: RuleContext): number[] | undefined {
  const fromAttr = ctx.ints('axes');
  if (fromAttr !== undefined) return fromAttr;
  if (!ctx.has(1)) return undefined;
  return ctx.numbers(1) ?? ctx.fail('axes are not constant');
}

const squeeze: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const rank = x.dims.length;
  const axes = axesOf(ctx)?.map((a) => ctx.axis(a, rank));
  for (const a of axes ?? []) {
    if (typeof x.dims[a] === 'number' && x.dims[a] !== 1) ctx.fail(`cannot squeeze axis ${a} of ${formatShape(x.dims)}: its size is not 1`);
  }
  const dims = x.dims.filter((d, i) => (axes === undefined ? d !== 1 : !axes.includes(i)));
  return [withValue({ dataType: x.dataType, dims }, x.value)];
};

const unsqueeze: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const outRank = x.dims.length + (axesOf(ctx) ?? ctx.fail('axes are required')).length;
  const axes = axesOf(ctx)!.map((a) => ctx.axis(a, outRank));
  if (new Set(axes).size !== axes.length) ctx.fail(`axes [${axes.join(', ')}] repeat an axis`);
  const rest = [...x.dims];
  const dims = Array.from({ length: outRank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!));
  return [withValue({ dataType: x.dataType, dims }, x.value)];
};

const expand: ShapeRule = (ctx: RuleContext) => {
  const x = ctx.input(0);
  const target = ctx.value(1);
  if (target === undefined) {
    const n = ctx.dims(1)[0];
    if (typeof n !== 'number') ctx.fail('the target shape is not constant and its length is unknown');
    return [{ dataType: x.dataType, dims: new Array<Dim>(Math.max(n, x.dims.length)).fill(UNKNOWN_DIM) }];
  }
  const dims = broadcastShapes(x.dims, target) ?? ctx.fail(`${formatShape(x.dims)} does not broadcast to ${formatShape(target)}`);
  return [{ dataType: x.dataType, dims }];
};

const tile: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const repeats = ctx.value(1);
  if (repeats === undefined) return [{ dataType: x.dataType, dims: x.dims.map(() => UNKNOWN_DIM) }];
  if (repeats.length !== x.dims.length) ctx.fail(`repeats has ${repeats.length} values for rank ${x.dims.length}`);
  return [{ dataType: x.dataType, dims: x.dims.map((d, i) => (dimsEqual(repeats[i]!, 1) ? d : mulDims(d, repeats[i]!))) }];
};

export const reshapeRules: Record<string, ShapeRule> = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Expand: expand,
  Tile: tile,
};
