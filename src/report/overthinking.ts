/**
 * Per-exit correctness and overthinking (Kaya et al. 2019, "Shallow-Deep Networks: Understanding
 * and Mitigating Network Overthinking"): a network overthinks a sample when an earlier exit
 * already had it right. Either the later layers were wasted (still right at the end) or they
 * destroyed the right answer (wrong at the end).
 */
import { argmaxRows, checkLabels, type ExitOutputs } from '../exits/outputs.ts';
import type { OverthinkingSummary } from './types.ts';

/** `[K][n]`: 1 when exit k predicts sample i right (temperatures never change the argmax). */
export function exitCorrectness(outputs: ExitOutputs, labels: Int32Array): Uint8Array[] {
  checkLabels(outputs, labels);
  return outputs.logits.map((l) => Uint8Array.from(argmaxRows(l, outputs.classes), (p, i) => (p === labels[i] ? 1 : 0)));
}

/**
 * `[n]`: the first exit that predicts sample i right, or −1 when none does.
 */
export function firstCorrectExit(correct: readonly Uint8Array[]): Int32Array {
  const n = correct[0]?.length ?? 0;
  const first = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < correct.length; k++) {
      if (correct[k]![i] === 1) {
        first[i] = k;
        break;
      }
    }
  }
  return first;
}

/**
 * Wasteful and destructive fractions, and the exit oracle's accuracy and FLOPs ratio (every
 * sample stops at its first right exit; a sample wrong everywhere runs to the end).
 */
export function overthinking(correct: readonly Uint8Array[], cumulativeFlops: readonly number[], backboneFlops: number): OverthinkingSummary {
  const K = correct.length;
  const final = correct[K - 1]!;
  const first = firstCorrectExit(correct);
  const n = final.length;
  let wasteful = 0;
  let destructive = 0;
  let oracle = 0;
  let oracleFlops = 0;
  let finalHits = 0;
  for (let i = 0; i < n; i++) {
    const k = first[i]!;
    finalHits += final[i]!;
    if (k >= 0) oracle += 1;
    if (k >= 0 && k < K - 1) {
      if (final[i] === 1) wasteful += 1;
      else destructive += 1;
    }
    oracleFlops += cumulativeFlops[k >= 0 ? k : K - 1]!;
  }
  const d = Math.max(1, n);
  return {
    wasteful: wasteful / d,
    destructive: destructive / d,
    oracleAccuracy: oracle / d,
    oracleFlopsRatio: oracleFlops / d / backboneFlops,
    finalAccuracy: finalHits / d,
  };
}
