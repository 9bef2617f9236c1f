/** The gradient rules, keyed by ONNX op type (domain ai.onnx). */
import type { GradientRule } from '../rule.ts';
import { activationRules } from './activations.ts';
import { batchNormRules } from './batch-norm.ts';
import { convRules } from './conv.ts';
import { dropoutRules } from './dropout.ts';
import { elementwiseRules } from './elementwise.ts';
import { layerNormRules } from './layer-norm.ts';
import { linearRules } from './linear.ts';
import { poolRules } from './pool.ts';
import { reduceRules } from './reduce.ts';
import { selectRules } from './select.ts';
import { shapeRules } from './shape.ts';
import { softmaxRules } from './softmax.ts';

export const GRADIENT_RULES: ReadonlyMap<string, GradientRule> = new Map(Object.entries({
  ...elementwiseRules,
  ...activationRules,
  ...shapeRules,
  ...selectRules,
  ...reduceRules,
  ...linearRules,
  ...convRules,
  ...poolRules,
  ...batchNormRules,
  ...layerNormRules,
  ...softmaxRules,
  ...dropoutRules,
}));
