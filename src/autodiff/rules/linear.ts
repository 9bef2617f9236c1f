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

/** Y = A·B with batch broadcasting: dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over broadcast batch axes. */
const matmul: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const [A, B] = [node.input[0]!, node.input[1]!];
    const [aDims, bDims, yDims] = [ctx.dims(A), ctx.dims(B), ctx.dims(node.output[0]!)];
    if (aDims.length < 2 || bDims.length < 2) ctx.fail('MatMul gradients need operands of rank ≥ 2 (reshape 1-D operands first)');
    const dy = ctx.dy(0)!;
    const batch = yDims.slice(0, -2);
    const dA = ctx.wants(0)
      ? reduceToShape(emit, emit.op('MatMul', [dy, transposeLast(ctx, B, bDims.length)]), [...batch, ...aDims.slice(-2)], aDims, A)
      : undefined;
    const dB = ctx.wants(1)
      ? reduceToShape(emit, emit.op('MatMul', [transposeLast(ctx, A, aDims.length), dy]), [...batch, ...bDims.slice(-2)], bDims, B)
      : undefined;
    return [dA, dB];
  },
};

export const linearRules: Record<string, GradientRule> = { Gemm: gemm, MatMul: matmul };
