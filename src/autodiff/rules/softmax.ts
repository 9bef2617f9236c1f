/** Gradient rules of Softmax, LogSoftmax and SoftmaxCrossEntropyLoss. */
import { clone } from '@bufbuild/protobuf';
import { DataType } from '../../onnx/tensor-data.ts';
import { NodeProtoSchema } from '../../onnx/proto/onnx_pb.ts';
import { intAttr, readInt, readString } from '../attributes.ts';
import type { BackwardContext, ForwardContext, GradientRule } from '../rule.ts';

function sumAlong(ctx: BackwardContext, x: string): string {
  const axis = readInt(ctx.node, 'axis', -1);
  return ctx.emit.op('ReduceSum', [x, ctx.emit.int64s([axis])], [intAttr('keepdims', 1)]);
}

/** dx = y ⊙ (dy − Σ dy ⊙ y). */
const softmax: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const [y, dy] = [node.output[0]!, ctx.dy(0)!];
    const dot = sumAlong(ctx, emit.op('Mul', [dy, y]));
    return [emit.op('Mul', [y, emit.op('Sub', [dy, dot])], [], 'softmax_dx')];
  },
};

/** dx = dy − exp(y) ⊙ Σ dy. */
const logSoftmax: GradientRule = {
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const dy = ctx.dy(0)!;
    const probs = emit.op('Exp', [node.output[0]!]);
    return [emit.op('Sub', [dy, emit.op('Mul', [probs, sumAlong(ctx, dy)])], [], 'logsoftmax_dx')];
  },
};

/**
 * d loss / d scores = (softmax − onehot(labels)) · dloss, divided by the number of labels for
 * `mean`. The probabilities come from the node's own `log_prob` output, added when missing.
 */
const softmaxCrossEntropy: GradientRule = {
  forward(ctx: ForwardContext) {
    const node = clone(NodeProtoSchema, ctx.node);
    const reduction = readString(node, 'reduction', 'mean');
    if (reduction !== 'mean' && reduction !== 'sum') ctx.fail(`gradients support reduction 'mean' and 'sum', not '${reduction}'`);
    if (node.attribute.some((a) => a.name === 'ignore_index')) ctx.fail('gradients with ignore_index are not supported yet');
    if (node.input[2] !== undefined && node.input[2] !== '') ctx.fail('gradients with class weights are not supported yet');
    const logProb = node.output[1] !== undefined && node.output[1] !== '' ? node.output[1] : ctx.emit.name('log_prob');
    node.output = [node.output[0]!, logProb];
    ctx.emit.nodes.push(node);
    return { saved: { logProb } };
  },
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    const [scores, labels] = [node.input[0]!, node.input[1]!];
    const classes = ctx.dims(scores)[1];
    if (typeof classes !== 'number') ctx.fail('gradients need a static class count (dim 1 of the scores)');
    const probs = emit.op('Exp', [ctx.saved['logProb']!]);
    const onehot = emit.op('OneHot', [labels, emit.int64s([classes]), emit.floats([2], Float32Array.of(0, 1), 'onehot_values')], [intAttr('axis', 1)]);
    let dloss = ctx.dy(0)!;
    if (readString(node, 'reduction', 'mean') === 'mean') {
      const count = emit.op('Cast', [emit.op('Size', [labels])], [intAttr('to', DataType.FLOAT)]);
      dloss = emit.op('Div', [dloss, count]);
    }
    return [emit.op('Mul', [emit.op('Sub', [probs, onehot]), dloss], [], 'sce_dscores'), undefined, undefined];
  },
};

export const softmaxRules: Record<string, GradientRule> = {
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
};
