/** Gradient rules of Gemm and MatMul. */
import { floatAttr, intAttr, intsAttr, readFloat, readInt } from '../attributes.ts';
import { reduceToShape } from '../broadcast.ts';
import type { BackwardContext, GradientRule } from '../rule.ts';

/**
 * Y = alpha·op(A)·op(B) + beta·C. Each input gradient is one Gemm whose transpose flags absorb
 * the forward ones, so no Transpose node is ever materialized.
 */
const gemm: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const [A, B, C] = [node.input[0]!, node.input[1]!, node.input[2]];
    const dy = ctx.dy(0)!;
    const alpha = readFloat(node, 'alpha', 1);
    const beta = readFloat(node, 'beta', 1);
    const tA = readInt(node, 'transA', 0);
    const tB = readInt(node, 'transB', 0);
    const g = (x: string, y: string, ta: number, tb: number) =>
      emit.op('Gemm', [x, y], [floatAttr('alpha', alpha), intAttr('transA', ta), intAttr('transB', tb)], 'gemm_grad');
    const dA = !ctx.wants(0) ? undefined : tA === 0 ? g(dy, B, 0, 1 - tB) : g(B, dy, tB, 1);
    const dB = !ctx.wants(1) ? undefined : tB === 0 ? g(A, dy, 1 - tA, 0) : g(dy, A, 1, tA);
    let dC: string | undefined;
    if (C !== undefined && C !== '' && ctx.wants(2)) {
      const scaled = beta === 1 ? dy : emit.op('Mul', [dy, emit.scalar(beta)]);
      dC = reduceToShape(emit, scaled, ctx.dims(node.output[0]!), ctx.dims(C), C);
    }
    return [dA, dB, dC];
  },
};

/** Swaps the last two axes of a rank-r tensor. */
function transposeLast(ctx: BackwardContext, name: string, rank: number): string {
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return ctx.emit.op('Transpose', [name], [intsAttr('perm', perm)]);
}

/**
 * Y = A·B with batch broadcasting: dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over broadcast batch axes.
 * 1-D operands are promoted as numpy does (a → [1, K], b → [K, 1], the output lacking that axis)
 * and their gradients squeezed back.
 */
const matmul: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const [A0, B0] = [node.input[0]!, node.input[1]!];
    const [aVec, bVec] = [ctx.dims(A0).length === 1, ctx.dims(B0).length === 1];
    const A = aVec ? emit.op('Unsqueeze', [A0, emit.int64s([0])]) : A0;
    const B = bVec ? emit.op('Unsqueeze', [B0, emit.int64s([1])]) : B0;
    const aDims = aVec ? [1, ...ctx.dims(A0)] : ctx.dims(A0);
    const bDims = bVec ? [...ctx.dims(B0), 1] : ctx.dims(B0);
    const lost = aVec && bVec ? [0, 1] : aVec ? [-2] : bVec ? [-1] : [];
    const dy = lost.length === 0 ? ctx.dy(0)! : emit.op('Unsqueeze', [ctx.dy(0)!, emit.int64s(lost)]);
    const batch = ctx.dims(node.output[0]!).slice(0, aVec && bVec ? 0 : lost.length === 0 ? -2 : -1);
    const back = (g: string, vec: boolean, axis: number) => (vec ? emit.op('Squeeze', [g, emit.int64s([axis])]) : g);
    const dA = ctx.wants(0)
      ? back(reduceToShape(emit, emit.op('MatMul', [dy, transposeLast(ctx, B, bDims.length)]), [...batch, ...aDims.slice(-2)], aDims, A), aVec, 0)
      : undefined;
    const dB = ctx.wants(1)
      ? back(reduceToShape(emit, emit.op('MatMul', [transposeLast(ctx, A, aDims.length), dy]), [...batch, ...bDims.slice(-2)], bDims, B), bVec, 1)
      : undefined;
    return [dA, dB];
  },
};

export const linearRules: Record<string, GradientRule> = { Gemm: gemm, MatMul: matmul };
