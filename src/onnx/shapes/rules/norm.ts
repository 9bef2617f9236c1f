/** Normalization: BatchNormalization, LayerNormalization, InstanceNormalization, GroupNormalization. */
import { DataType } from '../../tensor-data.ts';
import { broadcastShapes, dimsCompatible, formatShape } from '../dims.ts';
import type { RuleContext, ShapeRule } from '../context.ts';

/** Checks that per-channel input i holds C values. */
function checkChannels(ctx: RuleContext, i: number, what: string, channels: number | string): void {
  if (!ctx.has(i)) return;
  const d = ctx.dims(i);
  if (d.length !== 1 || !dimsCompatible(d[0]!, channels)) ctx.fail(`${what} ${formatShape(d)} must be [${channels}] (one value per channel)`);
}

const batchNorm: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  ctx.rank(0, 2);
  const c = x.dims[1]!;
  ['scale', 'B', 'mean', 'var'].forEach((what, k) => checkChannels(ctx, k + 1, what, c));
  // training_mode=1 adds running_mean and running_var outputs.
  return [{ dataType: x.dataType, dims: x.dims }, { dataType: x.dataType, dims: [c] }, { dataType: x.dataType, dims: [c] }];
};

const instanceNorm: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  ctx.rank(0, 3);
  checkChannels(ctx, 1, 'scale', x.dims[1]!);
  checkChannels(ctx, 2, 'B', x.dims[1]!);
  return [{ dataType: x.dataType, dims: x.dims }];
};

const layerNorm: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const rank = ctx.rank(0, 1);
  const axis = ctx.axis(ctx.int('axis', -1), rank);
  const normalized = x.dims.slice(axis);
  for (const i of [1, 2]) {
    if (!ctx.has(i)) continue;
    const d = ctx.dims(i);
    if (d.length > normalized.length || broadcastShapes(normalized, d)?.length !== normalized.length) {
      ctx.fail(`${i === 1 ? 'scale' : 'B'} ${formatShape(d)} does not broadcast to the normalized shape ${formatShape(normalized)}`);
    }
  }
  const stats = [...x.dims.slice(0, axis), ...normalized.map(() => 1)];
  const statsType = ctx.int('stash_type', 1) === 1 ? DataType.FLOAT : x.dataType;
  return [{ dataType: x.dataType, dims: x.dims }, { dataType: statsType, dims: stats }, { dataType: statsType, dims: stats }];
};

const groupNorm: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  ctx.rank(0, 3);
  return [{ dataType: x.dataType, dims: x.dims }];
};

export const normRules: Record<string, ShapeRule> = {
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  GroupNormalization: groupNorm,
};
