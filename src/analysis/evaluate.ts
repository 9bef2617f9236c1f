/**
 * The whole evaluation of a bundle on one split, from its recorded outputs: every exit's figures
 * (exit-analysis.ts) and, when the bundle carries a policy, what adaptive inference with that
 * policy does on the same samples. `exitwise eval` prints it; the HTML report draws it.
 */
import { policyFromJson } from '../exits/policies/registry.ts';
import type { ExitOutputs } from '../exits/outputs.ts';
import type { BundleManifest } from '../schemas/bundle.ts';
import type { PolicyJson } from '../schemas/policy.ts';
import { adaptiveFigures, type AdaptiveFigures } from './adaptive.ts';
import { analyzeExits, bundleCosts, type ExitAnalysis } from './exit-analysis.ts';

/** {@link ExitAnalysis} plus the bundle policy's adaptive figures (null when it has no policy). */
export interface BundleEvaluation extends ExitAnalysis {
  adaptive: (AdaptiveFigures & { policy: PolicyJson }) | null;
}

/**
 * Evaluates recorded outputs of `manifest`'s bundle against labels. The policy is restored from
 * the manifest (`EXW_POLICY` if it does not fit the bundle) and simulated with batch compaction.
 *
 * @example
 * const { outputs, labels } = await collectExitOutputs(dir, bundleSplitData(manifest, dataset, 'test'));
 * const evaluation = evaluateOutputs(manifest, outputs, labels);
 * evaluation.adaptive?.flopsFraction;
 */
export function evaluateOutputs(manifest: BundleManifest, outputs: ExitOutputs, labels: Int32Array, options: { bins?: number } = {}): BundleEvaluation {
  const analysis = analyzeExits(outputs, labels, manifest, options);
  if (manifest.policy === undefined) return { ...analysis, adaptive: null };
  const policy = policyFromJson(manifest.policy, { exits: manifest.exits.length });
  return { ...analysis, adaptive: { policy: policy.toJSON(), ...adaptiveFigures(policy, outputs, labels, bundleCosts(manifest)) } };
}
