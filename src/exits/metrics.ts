/**
 * Accuracy, negative log-likelihood and calibration error of one exit's logits. Expected
 * calibration error (ECE) follows Guo et al. 2017 ("On Calibration of Modern Neural Networks"):
 * confidence = max softmax probability, M equal-width bins ((m−1)/M, m/M], and
 * ECE = Σ_m (|B_m| / n) · |accuracy(B_m) − mean confidence(B_m)|.
 */
import { checkLabels, exitOutputs, policyError } from './outputs.ts';
import { RowReader } from './softmax.ts';

/** 15 bins: the number Guo et al. use, so our ECE figures are comparable with the literature. */
export const DEFAULT_ECE_BINS = 15;

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  /** The bin is (lower, upper]; the first bin also holds confidence exactly 0. */
  lower: number;
  upper: number;
  /** Samples whose confidence falls in the bin. */
  count: number;
  /** Mean confidence of those samples (NaN when empty). */
  confidence: number;
  /** Fraction of them predicted correctly (NaN when empty). */
  accuracy: number;
}

/** Reliability diagram data and the scalar summaries of one exit (JSON-friendly except NaN in empty bins). */
export interface ReliabilityReport {
  bins: ReliabilityBin[];
  /** Expected calibration error in [0, 1]. */
  ece: number;
  /** Largest |accuracy − confidence| over non-empty bins. */
  maxCalibrationError: number;
  accuracy: number;
  /** Mean negative log-likelihood of the labels (nats). */
  nll: number;
  samples: number;
}

/** Options of {@link reliability}. */
export interface ReliabilityOptions {
  /** Number of equal-width confidence bins (default {@link DEFAULT_ECE_BINS}). */
  bins?: number;
  /** Softmax temperature applied before everything (default 1). */
  temperature?: number;
}

/**
 * Reliability diagram, ECE, accuracy and NLL of `[n, classes]` logits against labels.
 *
 * @example
 * const r = reliability(new Float32Array([3, 0, 0, 3]), new Int32Array([0, 0]), 2);
 * r.accuracy; // 0.5
 */
export function reliability(logits: Float32Array, labels: Int32Array, classes: number, options: ReliabilityOptions = {}): ReliabilityReport {
  const binCount = options.bins ?? DEFAULT_ECE_BINS;
  const temperature = options.temperature ?? 1;
  if (!Number.isInteger(binCount) || binCount < 1) throw policyError(`bins must be a positive integer, got ${binCount}`, 'use 15 (the usual choice)');
  checkTemperature(temperature);
  const outputs = exitOutputs([logits], classes);
  checkLabels(outputs, labels);
  const n = outputs.samples;
  if (n === 0) throw policyError('no samples to measure', 'pass at least one sample');

  const count = new Float64Array(binCount);
  const confSum = new Float64Array(binCount);
  const correctSum = new Float64Array(binCount);
  const reader = new RowReader(classes);
  let correct = 0;
  let nll = 0;
  for (let i = 0; i < n; i++) {
    const row = reader.read(logits, i * classes, temperature);
    const hit = row.argmax === labels[i] ? 1 : 0;
    const b = binOf(row.pMax, binCount);
    count[b]! += 1;
    confSum[b]! += row.pMax;
    correctSum[b]! += hit;
    correct += hit;
    nll += row.logSumExp - logits[i * classes + labels[i]!]! / temperature;
  }
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < binCount; b++) {
    const c = count[b]!;
    const confidence = c > 0 ? confSum[b]! / c : Number.NaN;
    const accuracy = c > 0 ? correctSum[b]! / c : Number.NaN;
    if (c > 0) {
      const gap = Math.abs(accuracy - confidence);
      ece += (c / n) * gap;
      mce = Math.max(mce, gap);
    }
    bins.push({ lower: b / binCount, upper: (b + 1) / binCount, count: c, confidence, accuracy });
  }
  return { bins, ece, maxCalibrationError: mce, accuracy: correct / n, nll: nll / n, samples: n };
}

/** Expected calibration error of `[n, classes]` logits (see {@link reliability}). */
export function expectedCalibrationError(logits: Float32Array, labels: Int32Array, classes: number, options: ReliabilityOptions = {}): number {
  return reliability(logits, labels, classes, options).ece;
}

/** Bin m (0-based) holds confidences in (m/M, (m+1)/M]; confidence 0 goes to bin 0. */
function binOf(confidence: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
}

/** Throws EXW_POLICY unless `t` is a finite positive temperature. */
export function checkTemperature(t: number, exit?: number): void {
  if (!(Number.isFinite(t) && t > 0)) {
    const where = exit === undefined ? '' : ` for exit ${exit}`;
    throw policyError(`temperature${where} must be a finite number > 0, got ${t}`, 'temperatures divide the logits; 1 means uncalibrated');
  }
}
