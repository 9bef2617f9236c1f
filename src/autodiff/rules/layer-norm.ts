/**
 * LayerNormalization (opset 17): the forward node also outputs its Mean and InvStdDev, and with
 * x̂ = (x − mean)·invStd and g = dy·scale over the normalized axes,
 * dx = invStd·(g − mean(g) − x̂·mean(g·x̂)), dscale = Σ dy·x̂, dbias = Σ dy (over the other axes).
 */
import { clone } from '@bufbuild/protobuf';
import { NodeProtoSchema } from '../../onnx/proto/onnx_pb.ts';
import { readInt } from '../attributes.ts';
import { reduceToShape } from '../broadcast.ts';
import type { BackwardContext, ForwardContext, GradientRule } from '../rule.ts';

const layerNorm: GradientRule = {
  forward(ctx: ForwardContext) {
    const node = clone(NodeProtoSchema, ctx.node);
    const named = (k: number, hint: string) => (node.output[k] !== undefined && node.output[k] !== '' ? node.output[k] : ctx.emit.name(hint));
    const [mean, invStd] = [named(1, 'ln_mean'), named(2, 'ln_inv_std')];
    node.output = [node.output[0]!, mean, invStd];
    ctx.emit.nodes.push(node);
    return { saved: { mean, invStd } };
  },
  backward(ctx: BackwardContext) {
    const { emit, node, saved } = ctx;
    if (ctx.dy(1) !== undefined || ctx.dy(2) !== undefined) ctx.fail('gradients through the Mean and InvStdDev outputs are not supported');
    const [x, scale, bias] = [node.input[0]!, node.input[1]!, node.input[2] ?? ''];
    const xDims = ctx.dims(x);
    const rank = xDims.length;
    const axisAttr = readInt(node, 'axis', -1);
    const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
    const normAxes = Array.from({ length: rank - axis }, (_, i) => axis + i);
    const dy = ctx.dy(0)!;
    const xhat = emit.op('Mul', [emit.op('Sub', [x, saved['mean']!]), saved['invStd']!], [], 'ln_xhat');
    const toParam = (grad: string, p: string) => reduceToShape(emit, grad, xDims, ctx.dims(p), p);
    let dx: string | undefined;
    if (ctx.wants(0)) {
      const g = emit.op('Mul', [dy, scale]);
      const meanG = emit.reduce('ReduceMean', g, normAxes, true);
      const meanGXhat = emit.reduce('ReduceMean', emit.op('Mul', [g, xhat]), normAxes, true);
      const inner = emit.op('Sub', [emit.op('Sub', [g, meanG]), emit.op('Mul', [xhat, meanGXhat])]);
      dx = emit.op('Mul', [inner, saved['invStd']!], [], 'ln_dx');
    }
    return [
      dx,
      ctx.wants(1) ? toParam(emit.op('Mul', [dy, xhat]), scale) : undefined,
      bias !== '' && ctx.wants(2) ? toParam(dy, bias) : undefined,
    ];
  },
};

export const layerNormRules: Record<string, GradientRule> = { LayerNormalization: layerNorm };
