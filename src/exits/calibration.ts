/**
 * Per-exit temperature scaling (Guo et al. 2017): exit k's logits are divided by T_k, the value
 * minimising the negative log-likelihood of the validation labels. One scalar per exit keeps the
 * argmax (so accuracy is unchanged) and fixes the over- or under-confidence that makes a
 * max-softmax threshold mean different things at different exits.
 *
 * The fit is 1-D and convex: in β = 1/T, NLL(β) = mean(logΣ_j e^{β z_j} − β z_y) has derivative
 * mean(E_p[z] − z_y) and second derivative mean(Var_p[z]) ≥ 0, so a Newton iteration on β with a
 * bisection safeguard finds the optimum to machine precision in a handful of passes.
 */
import { checkLabels, exitOutputs, type ExitOutputs } from './outputs.ts';
import { DEFAULT_ECE_BINS, reliability } from './metrics.ts';
import { RowReader } from './softmax.ts';

/**
 * Temperatures are searched in [0.05, 20]. Outside it the data is degenerate: perfectly separated
 * validation labels push T → 0 (infinitely sharp), labels worse than chance push T → ∞; the bound
 * is reached instead and reported as such rather than returning 1e-9 or 1e9.
 */
export const TEMPERATURE_RANGE = { min: 0.05, max: 20 } as const;

/** The JSON form of a calibration: one temperature per exit, final exit last. */
export interface TemperatureCalibration {
  kind: 'temperature';
  temperatures: number[];
}

/** Before/after figures for one exit. */
export interface ExitCalibration {
  exit: number;
  temperature: number;
  /** True when the optimum lies at or beyond a bound of {@link TEMPERATURE_RANGE}. */
  atBound: boolean;
  nllBefore: number;
  nllAfter: number;
  eceBefore: number;
  eceAfter: number;
  accuracy: number;
}

/** What {@link calibrateExits} returns: the calibration and its effect on every exit. */
export interface CalibrationReport {
  calibration: TemperatureCalibration;
  exits: ExitCalibration[];
  /** The number of ECE bins used for the figures. */
  bins: number;
}

/**
 * The temperature minimising the mean NLL of `labels` under softmax(logits / T).
 *
 * @example
 * const t = fitTemperature(new Float32Array([4, 0, 4, 0, 0, 4]), new Int32Array([0, 1, 1]), 2);
 * t > 1; // true: a confident model right only 2 times out of 3 gets softened
 */
export function fitTemperature(logits: Float32Array, labels: Int32Array, classes: number): number {
  const outputs = exitOutputs([logits], classes);
  checkLabels(outputs, labels);
  let lo = 1 / TEMPERATURE_RANGE.max;
  let hi = 1 / TEMPERATURE_RANGE.min;
  const reader = new RowReader(classes);
  const at = (beta: number): { slope: number; curvature: number } => nllDerivatives(logits, labels, classes, beta, reader);
  if (at(lo).slope >= 0) return 1 / lo;
  if (at(hi).slope <= 0) return 1 / hi;
  let beta = 1;
  for (let iter = 0; iter < 100; iter++) {
    const { slope, curvature } = at(beta);
    if (slope > 0) hi = beta;
    else lo = beta;
    let next = curvature > 0 ? beta - slope / curvature : Number.NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2; // Newton left the bracket: bisect
    if (Math.abs(next - beta) <= 1e-12 * beta) return 1 / next;
    beta = next;
  }
  return 1 / beta;
}

/** dNLL/dβ and d²NLL/dβ² at inverse temperature β, averaged over samples. */
function nllDerivatives(logits: Float32Array, labels: Int32Array, classes: number, beta: number, reader: RowReader): { slope: number; curvature: number } {
  const n = labels.length;
  let slope = 0;
  let curvature = 0;
  for (let i = 0; i < n; i++) {
    const off = i * classes;
    const p = reader.read(logits, off, 1 / beta).probs;
    let mean = 0;
    let meanSq = 0;
    for (let j = 0; j < classes; j++) {
      const z = logits[off + j]!;
      mean += p[j]! * z;
      meanSq += p[j]! * z * z;
    }
    slope += mean - logits[off + labels[i]!]!;
    curvature += Math.max(0, meanSq - mean * mean);
  }
  return { slope: slope / n, curvature: curvature / n };
}

/**
 * Fits one temperature per exit on validation outputs and reports NLL and ECE before and after.
 * Fit on `val`, never on `test`: the point is to report honest figures on `test` afterwards.
 */
export function calibrateExits(outputs: ExitOutputs, labels: Int32Array, options: { bins?: number } = {}): CalibrationReport {
  checkLabels(outputs, labels);
  const bins = options.bins ?? DEFAULT_ECE_BINS;
  const exits = outputs.logits.map((logits, exit): ExitCalibration => {
    const temperature = fitTemperature(logits, labels, outputs.classes);
    const before = reliability(logits, labels, outputs.classes, { bins });
    const after = reliability(logits, labels, outputs.classes, { bins, temperature });
    const atBound = temperature <= TEMPERATURE_RANGE.min || temperature >= TEMPERATURE_RANGE.max;
    return { exit, temperature, atBound, nllBefore: before.nll, nllAfter: after.nll, eceBefore: before.ece, eceAfter: after.ece, accuracy: before.accuracy };
  });
  return { calibration: { kind: 'temperature', temperatures: exits.map((e) => e.temperature) }, exits, bins };
}
