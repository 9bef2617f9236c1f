/** Losses: SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss. */
import type { ShapeRule } from '../context.ts';

/**
 * Scores [N, C, d…] and labels [N, d…] give a scalar loss for reduction 'mean'/'sum' and [N, d…]
 * for 'none'; SoftmaxCrossEntropyLoss's optional second output (log_prob) has the scores' shape.
 */
const loss: ShapeRule = (ctx) => {
  const scores = ctx.input(0);
  ctx.rank(0, 2);
  const perSample = [scores.dims[0]!, ...scores.dims.slice(2)];
  const dims = ctx.string('reduction', 'mean') === 'none' ? perSample : [];
  return [{ dataType: scores.dataType, dims }, { dataType: scores.dataType, dims: scores.dims }];
};

export const lossRules: Record<string, ShapeRule> = {
  SoftmaxCrossEntropyLoss: loss,
  NegativeLogLikelihoodLoss: loss,
};
