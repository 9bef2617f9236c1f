/** Brute-force references for the tuning tests: exit decisions and outcomes of threshold vectors, from scores. */
import { argmaxRows } from '../../src/exits/outputs.ts';
import type { ExitPolicy } from '../../src/exits/policies/policy.ts';
import type { LabelledOutputs } from './exit-data.ts';

/** `[K][n]` 1 where exit k is right. */
export function correctness(d: LabelledOutputs): Uint8Array[] {
  return d.outputs.logits.map((l) => Uint8Array.from(argmaxRows(l, d.outputs.classes), (p, i) => (p === d.labels[i] ? 1 : 0)));
}

/** Outcome of raw thresholds (null = off) in the policy's direction: correct count and mean cost. */
export function outcome(policy: ExitPolicy, scores: Float64Array[], correct: Uint8Array[], costs: readonly number[], thresholds: readonly (number | null)[]): { accuracy: number; cost: number } {
  const n = correct[0]!.length;
  const K = correct.length;
  let hits = 0;
  let cost = 0;
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (; k < K - 1; k++) {
      const t = thresholds[k];
      if (t === null || t === undefined) continue;
      const s = scores[k]![i]!;
      if (policy.direction === 'at-least' ? s >= t : s <= t) break;
    }
    hits += correct[k]![i]!;
    cost += costs[k]!;
  }
  return { accuracy: hits / n, cost: cost / n };
}

/** Every combination of per-exit candidate thresholds. */
export function* combinations(candidates: readonly (number | null)[][]): Generator<(number | null)[]> {
  if (candidates.length === 0) {
    yield [];
    return;
  }
  for (const rest of combinations(candidates.slice(1))) for (const t of candidates[0]!) yield [t, ...rest];
}

/** Per exit: null plus `levels` score quantiles (a brute-force grid over the scores' own range). */
export function quantileGrid(scores: Float64Array[], exits: number, levels: number): (number | null)[][] {
  return scores.slice(0, exits - 1).map((s) => {
    const sorted = Array.from(s).sort((a, b) => a - b);
    return [null, ...Array.from({ length: levels }, (_, g) => sorted[Math.round((g / (levels - 1)) * (sorted.length - 1))]!)];
  });
}
