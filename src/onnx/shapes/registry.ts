/** The shape rules, one table keyed by op type (default ONNX domain only; other domains fall back to the runtime). */
import type { NodeProto } from '../proto/onnx_pb.ts';
import type { ShapeRule } from './context.ts';
import { constantRules } from './rules/constants.ts';
import { convRules } from './rules/conv.ts';
import { elementwiseRules } from './rules/elementwise.ts';
import { linearRules } from './rules/linear.ts';
import { lossRules } from './rules/loss.ts';
import { normRules } from './rules/norm.ts';
import { reduceRules } from './rules/reduce.ts';
import { reshapeRules } from './rules/reshape.ts';
import { selectRules } from './rules/select.ts';

const RULES: ReadonlyMap<string, ShapeRule> = new Map(Object.entries({
  ...constantRules,
  ...convRules,
  ...elementwiseRules,
  ...linearRules,
  ...lossRules,
  ...normRules,
  ...reduceRules,
  ...reshapeRules,
  ...selectRules,
}));

/** The rule for a node's op, or undefined when exitwise has none. */
export function shapeRuleFor(node: NodeProto): ShapeRule | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  return RULES.get(node.opType);
}

/** Op types with a shape rule, for documentation and tests. */
export function opsWithShapeRules(): string[] {
  return [...RULES.keys()].sort();
}
