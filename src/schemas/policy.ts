/**
 * The JSON forms of exit policies and calibrations, as stored in bundle manifests and printed by
 * the CLI. Objects are strict: a misspelt key (`threshold` for `thresholds`) is an error, not a
 * silently ignored setting. Cross-field rules (lengths against `exits`, ranges per kind) are
 * checked by the policy constructors, which know what each score can take.
 */
import { z } from 'zod';

/** A threshold in the score's units, or `null` to disable that exit explicitly. Never NaN or ±∞. */
export const ThresholdSchema = z.number().nullable();

const base = {
  /** Number of exits K, the final exit included. */
  exits: z.number().int().min(1),
  /** Softmax temperature per exit (length K). Omitted: all 1. */
  temperatures: z.array(z.number().positive()).optional(),
};

/** One threshold per non-final exit (length K−1). */
const thresholds = z.array(ThresholdSchema);

export const MaxSoftmaxPolicySchema = z.strictObject({ kind: z.literal('max-softmax'), ...base, thresholds });
export const EntropyPolicySchema = z.strictObject({ kind: z.literal('entropy'), ...base, thresholds });
export const MarginPolicySchema = z.strictObject({ kind: z.literal('margin'), ...base, thresholds });
export const PatiencePolicySchema = z.strictObject({ kind: z.literal('patience'), ...base, patience: z.number().int().min(1) });
export const ClassMeansPolicySchema = z.strictObject({
  kind: z.literal('class-means'),
  ...base,
  thresholds,
  /** `means[k][c]`: mean tempered probability vector at exit k of validation samples labelled c. */
  means: z.array(z.array(z.array(z.number()))),
  /** `scales[k]`: the distance unit at exit k (median validation distance), so thresholds compare across exits. */
  scales: z.array(z.number().positive()),
});
export const LearnedPolicySchema = z.strictObject({
  kind: z.literal('learned'),
  ...base,
  thresholds,
  /** `weights[k]` for each non-final exit: [bias, p_max, margin, entropy, agrees-with-previous]. */
  weights: z.array(z.array(z.number())),
});

/** Any exit policy, discriminated by `kind`. */
export const PolicyJsonSchema = z.discriminatedUnion('kind', [
  MaxSoftmaxPolicySchema,
  EntropyPolicySchema,
  MarginPolicySchema,
  PatiencePolicySchema,
  ClassMeansPolicySchema,
  LearnedPolicySchema,
]);

export type PolicyJson = z.infer<typeof PolicyJsonSchema>;
export type MaxSoftmaxPolicyJson = z.infer<typeof MaxSoftmaxPolicySchema>;
export type EntropyPolicyJson = z.infer<typeof EntropyPolicySchema>;
export type MarginPolicyJson = z.infer<typeof MarginPolicySchema>;
export type PatiencePolicyJson = z.infer<typeof PatiencePolicySchema>;
export type ClassMeansPolicyJson = z.infer<typeof ClassMeansPolicySchema>;
export type LearnedPolicyJson = z.infer<typeof LearnedPolicySchema>;

/** A per-exit temperature calibration (calibration.ts). */
export const TemperatureCalibrationSchema = z.strictObject({
  kind: z.literal('temperature'),
  temperatures: z.array(z.number().positive()).min(1),
});
