/**
 * Threshold search over per-exit thresholds, on precomputed scores. Oriented so that a sample
 * stops at the first non-final exit k with score_k ≥ t_k (t_k = +∞ disables exit k).
 *
 * The method:
 * 1. Exact coordinate moves. With every threshold but t_k fixed, the samples reaching exit k and
 *    what happens to them if they go on are fixed too; walking them in descending score_k order
 *    (sorted once per search) gives the outcome of every possible t_k (every distinct score) in
 *    one O(n·K) sweep. A move sets t_k to the best of them, so coordinate descent is exact along
 *    each axis, not gridded.
 * 2. Starting points: a shared-quantile sweep (t_k = the score that the top q of samples reach
 *    at exit k, one q for all exits — the usual 1-D family), exits all off and all on, and the
 *    end points of descents on Lagrangian relaxations cost + λ·errors for λ on a log grid
 *    (these trace the cost/accuracy frontier and escape the corners a hard constraint creates).
 * 3. From each start, coordinate descent on the target's own criterion until no axis improves.
 * 4. The best few end points are polished with pair moves: for each ordered pair of exits (j, k),
 *    t_j tries every shared-quantile level while t_k gets its exact best. This escapes the local
 *    optima of step 3, where a constraint blocks every single-axis move but a joint one helps.
 *    The best point found anywhere wins.
 * Ranks are lexicographic: constraint violation first (so descents walk towards feasibility),
 * then the target's objective, then the other quantity as tie-break.
 */

/** The search problem: oriented scores, per-exit correctness and cumulative costs. */
export interface SearchProblem {
  /** `[K][n]` oriented scores (higher = more confident); the final exit's are ignored. */
  scores: readonly Float64Array[];
  /** `[K][n]` 1 when exit k predicts sample i correctly. */
  correct: readonly Uint8Array[];
  /** `[K]` cumulative cost of stopping at exit k. */
  costs: readonly number[];
}

/** The problem with every exit's samples sorted by descending score, once, for the line searches. */
interface Prepared {
  problem: SearchProblem;
  /** `order[k]`: sample indices by descending score at exit k. */
  order: Int32Array[];
  /** `sorted[k]`: exit k's scores, descending. */
  sorted: Float64Array[];
}

/** Ranks the outcome (number of correct samples, total cost) of a threshold vector; lower is better. */
export type Criterion = (hits: number, cost: number) => readonly [number, number, number];

/** Number of quantile levels of the shared-quantile sweep (q = 0, 1/32, …, 1). */
const QUANTILE_STEPS = 32;
/** λ grid of the Lagrangian starts: 10^-2 … 10^2 in quarter decades (errors weigh λ × a full model's cost). */
const LAMBDAS = Array.from({ length: 17 }, (_, i) => 10 ** (-2 + i / 4));
/** A descent that has not converged after this many full passes stops (never reached in practice). */
const MAX_PASSES = 100;
/** How many of the best descent end points get pair-move polishing (the costly step). */
const POLISHED = 3;

/** Total correct and cost of a threshold vector. */
export function evaluate(problem: SearchProblem, thresholds: Float64Array): { hits: number; cost: number } {
  const n = problem.correct[0]!.length;
  let hits = 0;
  let cost = 0;
  for (let i = 0; i < n; i++) {
    const k = exitOf(problem, thresholds, i, 0);
    hits += problem.correct[k]![i]!;
    cost += problem.costs[k]!;
  }
  return { hits, cost };
}

/** The exit sample i stops at, looking from exit `from` on. */
export function exitOf(problem: SearchProblem, thresholds: Float64Array, i: number, from: number): number {
  const last = problem.costs.length - 1;
  for (let k = from; k < last; k++) if (problem.scores[k]![i]! >= thresholds[k]!) return k;
  return last;
}

/** The best thresholds found for `criterion` (see the file comment), `+∞` for disabled exits. */
export function searchThresholds(problem: SearchProblem, criterion: Criterion): Float64Array {
  const decisive = problem.costs.length - 1;
  const n = problem.correct[0]!.length;
  if (decisive === 0 || n === 0) return new Float64Array(decisive).fill(Infinity);
  const order = problem.scores.slice(0, decisive).map((s) => Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]!));
  const sorted = order.map((o, k) => Float64Array.from(o, (i) => problem.scores[k]![i]!));
  const prepared: Prepared = { problem, order, sorted };

  let best: Float64Array = new Float64Array(decisive).fill(Infinity);
  let bestRank = rankOf(problem, best, criterion);
  const consider = (t: Float64Array): void => {
    const r = rankOf(problem, t, criterion);
    if (isBetter(r, bestRank)) {
      best = t;
      bestRank = r;
    }
  };

  // Exits all off (everything runs to the end) and all on (everything stops at exit 0).
  const starts: Float64Array[] = [new Float64Array(decisive).fill(Infinity), Float64Array.from(sorted, (s) => s[n - 1]!)];
  let bestShared = starts[0]!;
  let bestSharedRank = rankOf(problem, bestShared, criterion);
  for (let step = 1; step <= QUANTILE_STEPS; step++) {
    const t = Float64Array.from(sorted, (s) => s[Math.ceil((step / QUANTILE_STEPS) * n) - 1]!);
    const r = rankOf(problem, t, criterion);
    if (isBetter(r, bestSharedRank)) {
      bestShared = t;
      bestSharedRank = r;
    }
  }
  starts.push(bestShared);
  const fullCost = problem.costs[decisive]! * n;
  for (const lambda of LAMBDAS) {
    const lagrangian: Criterion = (hits, cost) => [cost / fullCost + (lambda * (n - hits)) / n, 0, 0];
    starts.push(descend(prepared, new Float64Array(decisive).fill(Infinity), lagrangian));
  }
  const ends = starts.map((start) => descend(prepared, start, criterion));
  const ranked = ends.map((t) => ({ t, rank: rankOf(problem, t, criterion) })).sort((a, b) => (isBetter(a.rank, b.rank) ? -1 : isBetter(b.rank, a.rank) ? 1 : 0));
  const seen = new Set<string>();
  for (const { t } of ranked) {
    const key = t.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    consider(polish(prepared, t, criterion));
    if (seen.size === POLISHED) break;
  }
  return best;
}

/** Alternates coordinate descent and pair moves (see the file comment) until neither improves. */
function polish(prepared: Prepared, start: Float64Array, criterion: Criterion): Float64Array {
  const { problem, sorted } = prepared;
  let t = descend(prepared, start, criterion);
  let rank = rankOf(problem, t, criterion);
  const n = sorted[0]!.length;
  for (let round = 0; round < MAX_PASSES; round++) {
    let improved = false;
    for (let j = 0; j < t.length; j++) {
      for (let k = 0; k < t.length; k++) {
        if (j === k) continue;
        for (let step = 0; step <= QUANTILE_STEPS; step++) {
          const trial = Float64Array.from(t);
          trial[j] = step === 0 ? Infinity : sorted[j]![Math.ceil((step / QUANTILE_STEPS) * n) - 1]!;
          const move = bestAlongAxis(prepared, trial, k, criterion);
          if (isBetter(move.rank, rank)) {
            trial[k] = move.threshold;
            t = trial;
            rank = move.rank;
            improved = true;
          }
        }
      }
    }
    if (!improved) break;
    t = descend(prepared, t, criterion);
    rank = rankOf(problem, t, criterion);
  }
  return t;
}

/** Coordinate descent with exact line search along each exit's threshold. */
function descend(prepared: Prepared, start: Float64Array, criterion: Criterion): Float64Array {
  const { problem } = prepared;
  const t = Float64Array.from(start);
  let rank = rankOf(problem, t, criterion);
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let improved = false;
    for (let k = 0; k < t.length; k++) {
      const move = bestAlongAxis(prepared, t, k, criterion);
      if (isBetter(move.rank, rank)) {
        t[k] = move.threshold;
        rank = move.rank;
        improved = true;
      }
    }
    if (!improved) break;
  }
  return t;
}

/** The best value of t_k with the other thresholds fixed, over every distinct score at exit k. */
function bestAlongAxis(prepared: Prepared, t: Float64Array, k: number, criterion: Criterion): { threshold: number; rank: readonly [number, number, number] } {
  const { problem } = prepared;
  const n = problem.correct[0]!.length;
  const score = problem.scores[k]!;
  const stopHere = problem.correct[k]!;
  const costHere = problem.costs[k]!;
  let hits = 0;
  let cost = 0;
  const reaches = new Uint8Array(n);
  const goOnHit = new Uint8Array(n);
  const goOnCost = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const stop = exitOf(problem, t, i, 0);
    if (stop < k) {
      hits += problem.correct[stop]![i]!;
      cost += problem.costs[stop]!;
      continue;
    }
    const later = exitOf(problem, t, i, k + 1);
    reaches[i] = 1;
    goOnHit[i] = problem.correct[later]![i]!;
    goOnCost[i] = problem.costs[later]!;
    hits += goOnHit[i]!;
    cost += goOnCost[i]!;
  }
  // Lower t_k through the scores in descending order; samples with equal scores move together.
  let best = { threshold: Infinity, rank: criterion(hits, cost) };
  const order = prepared.order[k]!;
  for (let r = 0; r < n; ) {
    const value = score[order[r]!]!;
    for (; r < n && score[order[r]!] === value; r++) {
      const i = order[r]!;
      if (reaches[i] === 0) continue;
      hits += stopHere[i]! - goOnHit[i]!;
      cost += costHere - goOnCost[i]!;
    }
    const rank = criterion(hits, cost);
    if (isBetter(rank, best.rank)) best = { threshold: value, rank };
  }
  return best;
}

function rankOf(problem: SearchProblem, t: Float64Array, criterion: Criterion): readonly [number, number, number] {
  const { hits, cost } = evaluate(problem, t);
  return criterion(hits, cost);
}

/** Lexicographic comparison with a relative tolerance, so float noise in cost sums is no "improvement". */
export function isBetter(a: readonly number[], b: readonly number[]): boolean {
  for (let j = 0; j < a.length; j++) {
    const tol = 1e-12 * Math.max(1, Math.abs(a[j]!), Math.abs(b[j]!));
    if (a[j]! < b[j]! - tol) return true;
    if (a[j]! > b[j]! + tol) return false;
  }
  return false;
}
