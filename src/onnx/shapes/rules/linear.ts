/** Matrix products: Gemm (2-D, optional transposes, broadcast C) and MatMul (numpy semantics, batched). */
import { broadcastShapes, dimsCompatible, formatShape } from '../dims.ts';
import type { ShapeRule } from '../context.ts';
import type { Dim } from '../types.ts';

const gemm: ShapeRule = (ctx) => {
  const a = ctx.input(0);
  ctx.rank(0, 2, 2);
  ctx.rank(1, 2, 2);
  const [m, ka] = ctx.int('transA', 0) === 1 ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const b = ctx.dims(1);
  const [kb, n] = ctx.int('transB', 0) === 1 ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (!dimsCompatible(ka, kb)) ctx.fail(`A ${formatShape(a.dims)} and B ${formatShape(b)} disagree on the inner dimension (${ka} vs ${kb}; transA=${ctx.int('transA', 0)}, transB=${ctx.int('transB', 0)})`);
  if (ctx.has(2) && broadcastShapes([m, n], ctx.dims(2))?.length !== 2) {
    ctx.fail(`C ${formatShape(ctx.dims(2))} does not broadcast to [${m}, ${n}]`);
  }
  return [{ dataType: a.dataType, dims: [m, n] }];
};

const matMul: ShapeRule = (ctx) => {
  const a = ctx.input(0);
  const b = ctx.dims(1);
  if (a.dims.length === 0 || b.length === 0) ctx.fail('MatMul does not take scalars');
  // 1-D operands are promoted to matrices, and the added dim is removed from the result.
  const aDims = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims;
  const bDims = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = aDims[aDims.length - 1]!;
  const k2 = bDims[bDims.length - 2]!;
  if (!dimsCompatible(k1, k2)) ctx.fail(`A ${formatShape(a.dims)} and B ${formatShape(b)} disagree on the inner dimension (${k1} vs ${k2})`);
  const batch = broadcastShapes(aDims.slice(0, -2), bDims.slice(0, -2)) ?? ctx.fail(`batch dims of ${formatShape(a.dims)} and ${formatShape(b)} do not broadcast`);
  const dims: Dim[] = [...batch];
  if (a.dims.length > 1) dims.push(aDims[aDims.length - 2]!);
  if (b.length > 1) dims.push(bDims[bDims.length - 1]!);
  return [{ dataType: a.dataType, dims }];
};

export const linearRules: Record<string, ShapeRule> = { Gemm: gemm, MatMul: matMul };
