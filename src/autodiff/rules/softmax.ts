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
 * d loss / d scores = (softmax − onehot(labels))·s·dloss, with s the per-label weight (class
 * weight, 0 for ignore_index), divided for `mean` by Σ s (the number of labels when neither is
 * given). The probabilities come from the node's own `log_prob` output, added when missing.
 */
const softmaxCrossEntropy: GradientRule = {
  forward(ctx: ForwardContext) {
    const node = clone(NodeProtoSchema, ctx.node);
    const reduction = readString(node, 'reduction', 'mean');
    if (!['mean', 'sum', 'none'].includes(reduction)) ctx.fail(`reduction '${reduction}' is not an ONNX value`);
    const logProb = node.output[1] !== undefined && node.output[1] !== '' ? node.output[1] : ctx.emit.name('log_prob');
    node.output = [node.output[0]!, logProb];
    ctx.emit.nodes.push(node);
    return { saved: { logProb } };
  },
  backward(ctx: BackwardContext) {
    const { emit, node } = ctx;
    if (ctx.wants(2)) ctx.fail('class weights are not trainable');
    const [scores, labels, weights] = [node.input[0]!, node.input[1]!, node.input[2] ?? ''];
    const classes = ctx.dims(scores)[1];
    if (typeof classes !== 'number') ctx.fail('gradients need a static class count (dim 1 of the scores)');
    const ignore = node.attribute.find((a) => a.name === 'ignore_index');
    const reduction = readString(node, 'reduction', 'mean');
    const toFloat = (x: string) => emit.op('Cast', [x], [intAttr('to', DataType.FLOAT)]);
    // Per-label factor s: the class weight, times 0 where the label is ignored.
    const ignored = ignore === undefined ? undefined : emit.op('Equal', [labels, emit.int64s([Number(ignore.i)])]);
    const safeLabels = ignored === undefined ? labels : emit.op('Where', [ignored, emit.int64s([0]), labels]); // OneHot and Gather need valid classes
    const factors = [
      ...(weights === '' ? [] : [emit.op('Gather', [weights, safeLabels])]),
      ...(ignored === undefined ? [] : [toFloat(emit.op('Not', [ignored]))]),
    ];
    const perLabel = factors.length === 2 ? emit.op('Mul', factors) : factors[0];
    let dloss = ctx.dy(0)!;
    if (reduction === 'mean') {
      const count = perLabel === undefined ? toFloat(emit.op('Size', [labels])) : emit.op('ReduceSum', [perLabel], [intAttr('keepdims', 0)]);
      dloss = emit.op('Div', [dloss, count]);
    }
    if (reduction === 'none') dloss = emit.op('Unsqueeze', [dloss, emit.int64s([1])]); // [N, 1, d…]
    const scale = perLabel === undefined ? dloss : emit.op('Mul', [emit.op('Unsqueeze', [perLabel, emit.int64s([1])]), dloss]);
    const probs = emit.op('Exp', [ctx.saved['logProb']!]);
    const onehot = emit.op('OneHot', [safeLabels, emit.int64s([classes]), emit.floats([2], Float32Array.of(0, 1), 'onehot_values')], [intAttr('axis', 1)]);
    return [emit.op('Mul', [emit.op('Sub', [probs, onehot]), scale], [], 'sce_dscores'), undefined, undefined];
  },
};

export const softmaxRules: Record<string, GradientRule> = {
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
};
