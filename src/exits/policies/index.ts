/** Exit policies over exit outputs: the public surface of this folder. */
export type { ExitPolicy, ThresholdPolicy, PatiencePolicy, ExitDecision, PolicyKind } from './policy.ts';
export { isThresholdPolicy } from './policy.ts';
export { ExitState } from './state.ts';
export { policyFromJson, fitPolicy, policyKinds, describePolicy, type FitPolicyOptions } from './registry.ts';
export { simulate, type Simulation } from './simulate.ts';
export { DEFAULT_THRESHOLD, DEFAULT_PATIENCE, defaultThresholds } from './defaults.ts';
export { exitOutputs, fromProbabilities, selectSamples, type ExitOutputs } from '../outputs.ts';
export { PolicyJsonSchema, type PolicyJson } from '../../schemas/policy.ts';
