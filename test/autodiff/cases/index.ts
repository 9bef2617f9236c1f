/**
 * The gradient test database: small forward graphs that exercise each rule, declared once; the
 * generic test in rules.test.ts checks every one against the float64 reference and finite
 * differences, and checks that every rule has a case.
 */
import { activationCases } from './activations.ts';
import { convCases } from './conv.ts';
import type { GradCase } from './helpers.ts';
import { linearCases } from './linear.ts';
import { mnistCases } from './mnist.ts';
import { normLossCases } from './norm-loss.ts';
import { shapeCases } from './shape.ts';

export type { GradCase } from './helpers.ts';

export const GRAD_CASES: GradCase[] = [...linearCases, ...activationCases, ...shapeCases, ...convCases, ...normLossCases, ...mnistCases];
