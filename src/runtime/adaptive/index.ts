/** Adaptive inference over a bundle's segments: compaction under a policy, anytime, budgeted. */
export { AdaptiveRuntime, bundlePolicy } from './runtime.ts';
export { AnytimeRun } from './anytime.ts';
export { DEFAULT_FIX_RATE, fixRates, planNextStep, type StepCosts } from './budget.ts';
export { simulateBudget, RecordedStepper, type BudgetSimulation } from './recorded.ts';
export { StepTimesSchema, type StepTimes, type StepTime, type ProfileOptions } from './timing.ts';
export { fuseStageExit } from './fuse.ts';
export { openSegmentSession, type SegmentSession, type SegmentSessionOptions as SegmentCallOptions } from './calls.ts';
export type {
  AdaptiveOpenOptions, AdaptiveResult, AnytimeOptions, AnytimeResult, AnytimeStop, Budget, BudgetedOptions, BudgetedResult, Refinement,
} from './types.ts';
export { readInputFiles, type BundleInputs, type InputSource } from './inputs.ts';
