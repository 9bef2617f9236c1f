/** Threshold tuning for explicit targets, with or without a statistical guarantee. */
export { tuneThresholds, type TuneOptions, type TuningResult } from './tune.ts';
export { cumulativeCosts, type TuningTarget, type ExitCosts, type ExitMetrics } from './objectives.ts';
export { tuneCertified, certifyPolicies, fixedSequenceTest, dropLosses, type Certification, type CertifiedTuning, type CertifiedTuningOptions, type CandidateTest } from './guarantee.ts';
export { binomialCdf, binomialUpperBound, minimumSamples } from './binomial.ts';
