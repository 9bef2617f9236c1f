/**
 * The policy test database (PyTorch module_db style): each kind declared once with how to make
 * it on given data, a stricter variant, and a brute-force reference decision written from the
 * definition in plain float64 loops, independent of src/exits/softmax.ts and base.ts. Generic
 * tests in policies.test.ts run over every case.
 */
import type { ExitOutputs } from '../../src/exits/outputs.ts';
import type { ExitPolicy, PatiencePolicy, ThresholdPolicy } from '../../src/exits/policies/policy.ts';
import { fitPolicy, policyKinds } from '../../src/exits/policies/registry.ts';
import type { LabelledOutputs } from './exit-data.ts';

/** One sample's logits at every exit, as plain numbers. */
export type SampleLogits = number[][];

export interface PolicyCase {
  name: string;
  kind: string;
  make(data: LabelledOutputs): ExitPolicy;
  /** The same policy, at least as strict at every exit. */
  stricter(policy: ExitPolicy): ExitPolicy;
  /**
   * Reference: does the sample stop at non-final exit k (having reached it)? `undefined` when
   * its score is within 1e-9 of the threshold (float summation order may decide either way).
   */
  stops(policy: ExitPolicy, sample: SampleLogits, k: number): boolean | undefined;
}

export function softmaxRef(z: readonly number[], t: number): number[] {
  const m = Math.max(...z.map((v) => v / t));
  const e = z.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function argmaxRef(z: readonly number[]): number {
  return z.indexOf(Math.max(...z));
}

/** Compare with a tolerance band: undefined when too close to call. */
function compare(score: number, threshold: number | null, direction: 'at-least' | 'at-most'): boolean | undefined {
  if (threshold === null) return false;
  if (Math.abs(score - threshold) < 1e-9) return undefined;
  return direction === 'at-least' ? score > threshold : score < threshold;
}

function stricterThresholds(p: ThresholdPolicy, step: number, max: number): ExitPolicy {
  const t = p.thresholds.map((v) => {
    if (v === null) return null;
    if (p.direction === 'at-most') return Math.max(0, v - step);
    return v + step > max ? null : v + step;
  });
  return p.withThresholds(t);
}

const probs = (p: ExitPolicy, s: SampleLogits, k: number): number[] => softmaxRef(s[k]!, p.temperatures[k]!);
const thr = (p: ExitPolicy, k: number): number | null => (p as ThresholdPolicy).thresholds[k] ?? null;
/** Mid-range thresholds so that a good share of samples stop at each exit on both data sets. */
const thresholdsFor: Record<string, (k: number) => number> = {
  'max-softmax': (k) => 0.8 - 0.05 * k,
  entropy: (k) => 0.3 + 0.05 * k,
  margin: (k) => 0.6 - 0.05 * k,
  'class-means': (k) => 0.6 + 0.1 * k,
  learned: (k) => 0.7 + 0.03 * k,
};
const temperatures = (o: ExitOutputs): number[] => o.logits.map((_, k) => 0.8 + 0.3 * k);

function make(kind: string) {
  return (data: LabelledOutputs): ExitPolicy =>
    fitPolicy(kind, data.outputs, data.labels, {
      temperatures: temperatures(data.outputs),
      ...(kind === 'patience' ? { patience: 2 } : { thresholds: data.outputs.logits.slice(1).map((_, k) => thresholdsFor[kind]!(k)) }),
    });
}

const references: Record<string, Omit<PolicyCase, 'name' | 'kind' | 'make'>> = {
  'max-softmax': {
    stricter: (p) => stricterThresholds(p as ThresholdPolicy, 0.05, 1),
    stops: (p, s, k) => compare(Math.max(...probs(p, s, k)), thr(p, k), 'at-least'),
  },
  entropy: {
    stricter: (p) => stricterThresholds(p as ThresholdPolicy, 0.05, 1),
    stops: (p, s, k) => {
      const q = probs(p, s, k);
      const h = -q.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0) / Math.log(q.length);
      return compare(h, thr(p, k), 'at-most');
    },
  },
  margin: {
    stricter: (p) => stricterThresholds(p as ThresholdPolicy, 0.05, 1),
    stops: (p, s, k) => {
      const q = [...probs(p, s, k)].sort((a, b) => b - a);
      return compare(q[0]! - q[1]!, thr(p, k), 'at-least');
    },
  },
  patience: {
    stricter: (p) => {
      const q = p as PatiencePolicy;
      return q.patience < q.exits - 1 ? q.withPatience(q.patience + 1) : q;
    },
    stops: (p, s, k) => {
      const target = argmaxRef(s[k]!);
      let streak = 0;
      for (let j = k; j >= 0 && argmaxRef(s[j]!) === target; j--) streak++;
      return streak >= (p as PatiencePolicy).patience;
    },
  },
  'class-means': {
    stricter: (p) => stricterThresholds(p as ThresholdPolicy, 0.1, Infinity),
    stops: (p, s, k) => {
      const json = p.toJSON() as { means: number[][][]; scales: number[] };
      const q = probs(p, s, k);
      const mean = json.means[k]![argmaxRef(s[k]!)]!;
      const d = Math.sqrt(q.reduce((a, v, j) => a + (v - mean[j]!) ** 2, 0)) / json.scales[k]!;
      return compare(d, thr(p, k), 'at-most');
    },
  },
  learned: {
    stricter: (p) => stricterThresholds(p as ThresholdPolicy, 0.03, 1),
    stops: (p, s, k) => {
      const w = (p.toJSON() as { weights: number[][] }).weights[k]!;
      const q = [...probs(p, s, k)].sort((a, b) => b - a);
      const all = probs(p, s, k);
      const entropy = -all.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0) / Math.log(all.length);
      const agrees = k > 0 && argmaxRef(s[k - 1]!) === argmaxRef(s[k]!) ? 1 : 0;
      const z = w[0]! + w[1]! * q[0]! + w[2]! * (q[0]! - q[1]!) + w[3]! * entropy + w[4]! * agrees;
      return compare(1 / (1 + Math.exp(-z)), thr(p, k), 'at-least');
    },
  },
};

/** Every registered kind must have a case: a new kind without one fails the tests. */
export const POLICY_CASES: PolicyCase[] = policyKinds().map((kind) => {
  const ref = references[kind];
  if (ref === undefined) throw new Error(`no test case for policy kind ${kind}`);
  return { name: kind, kind, make: make(kind), ...ref };
});

/** Sample i's logits at every exit. */
export function sampleLogits(outputs: ExitOutputs, i: number): SampleLogits {
  const c = outputs.classes;
  return outputs.logits.map((l) => Array.from(l.subarray(i * c, i * c + c)));
}

/**
 * The reference exit of every sample: the first exit whose reference says stop, else the final
 * exit; -1 where a too-close-to-call comparison happened before the sample stopped.
 */
export function referenceExits(c: PolicyCase, policy: ExitPolicy, outputs: ExitOutputs): Int32Array {
  return Int32Array.from({ length: outputs.samples }, (_, i) => {
    const s = sampleLogits(outputs, i);
    for (let k = 0; k < policy.exits - 1; k++) {
      const stop = c.stops(policy, s, k);
      if (stop === undefined) return -1;
      if (stop) return k;
    }
    return policy.exits - 1;
  });
}
