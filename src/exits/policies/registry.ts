/**
 * Every exit policy kind, in one table keyed by `kind`: how to restore it from JSON and how to
 * fit it on validation outputs. `policyFromJson` is how bundles and the CLI get policies.
 */
import type { z } from 'zod';
import { ExitwiseError } from '../../errors.ts';
import {
  ClassMeansPolicySchema,
  EntropyPolicySchema,
  LearnedPolicySchema,
  MarginPolicySchema,
  MaxSoftmaxPolicySchema,
  PatiencePolicySchema,
} from '../../schemas/policy.ts';
import { checkLabels, policyError, type ExitOutputs } from '../outputs.ts';
import { ClassMeansPolicy } from './class-means.ts';
import { DEFAULT_PATIENCE, defaultThresholds } from './defaults.ts';
import { EntropyPolicy } from './entropy.ts';
import { LearnedPolicy } from './learned.ts';
import { MarginPolicy } from './margin.ts';
import { MaxSoftmaxPolicy } from './max-softmax.ts';
import { PatiencePolicy } from './patience.ts';
import type { ExitPolicy, PolicyKind } from './policy.ts';

/** Options of {@link fitPolicy}. */
export interface FitPolicyOptions {
  /** Per-exit temperatures (from `calibrateExits`), applied before everything else. Default: all 1. */
  temperatures?: number[];
  /** Thresholds to start from (K−1 entries). Default: the kind's default (defaults.ts). */
  thresholds?: (number | null)[];
  /** Patience for the `patience` kind. Default {@link DEFAULT_PATIENCE}, capped at K−1. */
  patience?: number;
}

interface PolicyEntry {
  /** One line for error messages and `--help`. */
  describe: string;
  schema: z.ZodType;
  fromJson(json: never): ExitPolicy;
  fit(outputs: ExitOutputs, labels: Int32Array, options: FitPolicyOptions): ExitPolicy;
}

/** Common fields of the stateless kinds, from fit options. */
function simple(outputs: ExitOutputs, kind: 'max-softmax' | 'entropy' | 'margin', options: FitPolicyOptions) {
  const exits = outputs.logits.length;
  return { exits, thresholds: options.thresholds ?? defaultThresholds(kind, exits), ...(options.temperatures ? { temperatures: options.temperatures } : {}) };
}

const REGISTRY: Record<PolicyKind, PolicyEntry> = {
  'max-softmax': {
    describe: 'stop when the max softmax probability ≥ τ_k',
    schema: MaxSoftmaxPolicySchema,
    fromJson: (json: z.infer<typeof MaxSoftmaxPolicySchema>) => new MaxSoftmaxPolicy(json),
    fit: (outputs, _labels, options) => new MaxSoftmaxPolicy(simple(outputs, 'max-softmax', options)),
  },
  entropy: {
    describe: 'stop when entropy / log(classes) ≤ τ_k',
    schema: EntropyPolicySchema,
    fromJson: (json: z.infer<typeof EntropyPolicySchema>) => new EntropyPolicy(json),
    fit: (outputs, _labels, options) => new EntropyPolicy(simple(outputs, 'entropy', options)),
  },
  margin: {
    describe: 'stop when p1 − p2 ≥ τ_k',
    schema: MarginPolicySchema,
    fromJson: (json: z.infer<typeof MarginPolicySchema>) => new MarginPolicy(json),
    fit: (outputs, _labels, options) => new MarginPolicy(simple(outputs, 'margin', options)),
  },
  patience: {
    describe: 'stop when `patience` consecutive exits predict the same class',
    schema: PatiencePolicySchema,
    fromJson: (json: z.infer<typeof PatiencePolicySchema>) => new PatiencePolicy(json),
    fit: (outputs, _labels, options) => {
      const exits = outputs.logits.length;
      const patience = options.patience ?? Math.min(DEFAULT_PATIENCE, Math.max(1, exits - 1));
      return new PatiencePolicy({ exits, patience, ...(options.temperatures ? { temperatures: options.temperatures } : {}) });
    },
  },
  'class-means': {
    describe: 'stop when the probability vector is within τ_k of its predicted class mean (fitted on validation)',
    schema: ClassMeansPolicySchema,
    fromJson: (json: z.infer<typeof ClassMeansPolicySchema>) => new ClassMeansPolicy(json),
    fit: (outputs, labels, options) => ClassMeansPolicy.fit(outputs, labels, options),
  },
  learned: {
    describe: 'stop when a per-exit logistic model gives P(correct) ≥ τ_k (fitted on validation)',
    schema: LearnedPolicySchema,
    fromJson: (json: z.infer<typeof LearnedPolicySchema>) => new LearnedPolicy(json),
    fit: (outputs, labels, options) => LearnedPolicy.fit(outputs, labels, options),
  },
};

/** The registered kinds, in registry order. */
export function policyKinds(): PolicyKind[] {
  return Object.keys(REGISTRY) as PolicyKind[];
}

/** One line per kind, for help texts. */
export function describePolicy(kind: PolicyKind): string {
  return entry(kind).describe;
}

/**
 * Restores a policy from its JSON form. Throws EXW_POLICY (exit status 65) for an unknown kind
 * (listing the registered ones), schema violations, wrong threshold counts, NaN or out-of-range
 * values, or a policy for a different number of exits than `expect.exits`.
 *
 * @example
 * const p = policyFromJson({ kind: 'entropy', exits: 3, thresholds: [0.2, null] });
 * p.thresholdAt(1); // null: exit 1 is disabled on purpose
 */
export function policyFromJson(json: unknown, expect: { exits?: number } = {}): ExitPolicy {
  const kind = typeof json === 'object' && json !== null ? (json as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string') throw policyError('a policy needs a string `kind`', `use one of: ${policyKinds().join(', ')}`);
  const e = entry(kind);
  const parsed = e.schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ExitwiseError('EXW_POLICY', `invalid ${kind} policy: ${issues}`, { hint: 'thresholds are numbers or null (never NaN), one per non-final exit', cause: parsed.error });
  }
  const policy = e.fromJson(parsed.data as never);
  if (expect.exits !== undefined && policy.exits !== expect.exits) {
    throw policyError(`the ${kind} policy is for ${policy.exits} exits, the network has ${expect.exits}`, 'tune or fit the policy for this network');
  }
  return policy;
}

/**
 * A policy of `kind` fitted on validation outputs: class means and learned models are fitted
 * here, the other kinds take their default thresholds. Tune thresholds afterwards with
 * `tuneThresholds`. Never fit on the test split.
 */
export function fitPolicy(kind: string, outputs: ExitOutputs, labels: Int32Array, options: FitPolicyOptions = {}): ExitPolicy {
  const e = entry(kind);
  checkLabels(outputs, labels);
  if (options.temperatures !== undefined && options.temperatures.length !== outputs.logits.length) {
    throw policyError(`${options.temperatures.length} temperatures for ${outputs.logits.length} exits`, 'give one temperature per exit');
  }
  return e.fit(outputs, labels, options);
}

function entry(kind: string): PolicyEntry {
  const e = Object.hasOwn(REGISTRY, kind) ? REGISTRY[kind as PolicyKind] : undefined;
  if (e === undefined) throw policyError(`unknown policy kind '${kind}'`, `registered kinds: ${policyKinds().join(', ')}`);
  return e;
}
