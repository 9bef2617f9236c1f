/**
 * L2-regularised logistic regression fitted by Newton's method (IRLS). The learned exit policy
 * fits one per exit on a handful of features; at that size Newton is exact and fast, has no
 * learning rate to tune, and is deterministic without a seed. The ridge term keeps the optimum
 * finite when an exit is always right (or the classes separate perfectly).
 */

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** Ridge strength λ on every weight, bias included: loss = mean log-loss + λ/2 ‖w‖². */
  l2?: number;
  /** Newton iterations at most (converges in ~10 on well-posed data). */
  maxIterations?: number;
}

/** λ = 1e-3: negligible next to the log-loss of a few hundred samples, enough to bound separable fits. */
export const DEFAULT_L2 = 1e-3;

/**
 * Weights w minimising mean(log(1 + e^{−s_i w·x_i})) + λ/2 ‖w‖² with s_i = ±1 from `targets`.
 * `features` is row-major `[n, d]` and should include a constant column for the bias.
 */
export function fitLogistic(features: Float64Array, targets: Uint8Array, d: number, options: LogisticOptions = {}): Float64Array {
  const l2 = options.l2 ?? DEFAULT_L2;
  const n = targets.length;
  const w = new Float64Array(d);
  const objective = (v: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const z = dot(v, features, i * d, d);
      loss += softplus(targets[i] ? -z : z);
    }
    return loss / Math.max(1, n) + (l2 / 2) * dot(v, v, 0, d);
  };
  let current = objective(w);
  for (let iter = 0; iter < (options.maxIterations ?? 50); iter++) {
    const grad = new Float64Array(d);
    const hess = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const off = i * d;
      const p = sigmoid(dot(w, features, off, d));
      const r = p - targets[i]!;
      const s = p * (1 - p);
      for (let a = 0; a < d; a++) {
        grad[a]! += (r * features[off + a]!) / n;
        for (let b = 0; b <= a; b++) hess[a * d + b]! += (s * features[off + a]! * features[off + b]!) / n;
      }
    }
    for (let a = 0; a < d; a++) {
      grad[a]! += l2 * w[a]!;
      hess[a * d + a]! += l2;
      for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b]!;
    }
    const step = solveSymmetric(hess, grad, d);
    // Backtracking keeps every step a descent step (Newton can overshoot far from the optimum).
    let t = 1;
    let next = w.map((v, a) => v - t * step[a]!);
    let value = objective(next);
    while (value > current && t > 1e-8) {
      t /= 2;
      next = w.map((v, a) => v - t * step[a]!);
      value = objective(next);
    }
    if (value > current) break;
    const moved = Math.sqrt(dot(step, step, 0, d)) * t;
    w.set(next);
    current = value;
    if (moved < 1e-10) break;
  }
  return w;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function dot(w: Float64Array, x: Float64Array, off: number, d: number): number {
  let s = 0;
  for (let a = 0; a < d; a++) s += w[a]! * x[off + a]!;
  return s;
}

/** Solves A x = b for a symmetric positive definite A (Cholesky). */
function solveSymmetric(A: Float64Array, b: Float64Array, d: number): Float64Array {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * d + j]!;
      for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!;
      L[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / L[j * d + j]!;
    }
  }
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * d + k]! * y[k]!;
    y[i] = s / L[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * x[k]!;
    x[i] = s / L[i * d + i]!;
  }
  return x;
}
