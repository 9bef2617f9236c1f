/**
 * Binomial tail probabilities for the Learn-then-Test guarantee, computed in log space: the
 * terms C(n,i) pⁱ (1−p)^(n−i) underflow double precision long before n reaches validation-set
 * sizes (0.99^100000 = 1e-437), but their logarithms do not.
 */
import { policyError } from '../outputs.ts';

/**
 * P(X ≤ k) for X ~ Binomial(n, p), exact up to floating-point rounding.
 *
 * Sums the terms i = 0..k as a running log-sum-exp, each term's log obtained from the previous
 * one by the ratio (n−i+1)/i · p/(1−p). O(k) time.
 *
 * @example
 * binomialCdf(0, 10, 0.1); // 0.9^10 = 0.3486784401
 */
export function binomialCdf(k: number, n: number, p: number): number {
  if (!(Number.isInteger(n) && n >= 0)) throw policyError(`binomial n must be a non-negative integer, got ${n}`, 'n is a sample count');
  if (!(p >= 0 && p <= 1)) throw policyError(`binomial p must be in [0, 1], got ${p}`, 'p is a probability');
  if (Number.isNaN(k)) throw policyError('binomial k is NaN', 'k is a count');
  const top = Math.floor(k);
  if (top < 0) return 0;
  if (top >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  const logOdds = Math.log(p) - Math.log1p(-p);
  let logTerm = n * Math.log1p(-p); // i = 0
  let logSum = logTerm;
  for (let i = 1; i <= top; i++) {
    logTerm += Math.log((n - i + 1) / i) + logOdds;
    logSum = logAddExp(logSum, logTerm);
  }
  return Math.min(1, Math.exp(logSum));
}

/**
 * The Clopper–Pearson upper confidence bound: the largest risk r with P(Bin(n, r) ≤ k) ≥ δ.
 * With probability ≥ 1 − δ the true rate is below it. Found by bisection (the CDF falls with r).
 *
 * @example
 * binomialUpperBound(0, 100, 0.05); // 1 − 0.05^(1/100) ≈ 0.0295
 */
export function binomialUpperBound(k: number, n: number, delta: number): number {
  checkDelta(delta);
  if (k >= n) return 1;
  let lo = k / n;
  let hi = 1;
  for (let iter = 0; iter < 100 && hi - lo > 1e-15; iter++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) >= delta) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The fewest samples with which zero observed losses certify risk ≤ ε at level δ:
 * (1 − ε)^n ≤ δ ⇔ n ≥ log δ / log(1 − ε).
 */
export function minimumSamples(epsilon: number, delta: number): number {
  checkDelta(delta);
  if (!(epsilon > 0 && epsilon < 1)) throw policyError(`ε must be in (0, 1), got ${epsilon}`, 'ε is a risk level');
  return Math.ceil(Math.log(delta) / Math.log1p(-epsilon) - 1e-9);
}

export function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw policyError(`δ must be in (0, 1), got ${delta}`, 'δ is the probability the guarantee may fail, e.g. 0.05');
}

function logAddExp(a: number, b: number): number {
  const m = Math.max(a, b);
  return m === -Infinity ? m : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}
