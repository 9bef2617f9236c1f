/**
 * What a multi-exit network does on labelled samples, exit by exit, as pure functions of its
 * recorded outputs: accuracy, cost, calibration, what an oracle could reach, and overthinking
 * (Kaya et al. 2019, "Shallow-Deep Networks"): samples an earlier exit already got right, so the
 * rest of the network was wasted on them or, worse, changed a right answer into a wrong one.
 */
import { DEFAULT_ECE_BINS, reliability } from '../exits/metrics.ts';
import { argmaxRows, checkLabels, policyError, type ExitOutputs } from '../exits/outputs.ts';
import type { BundleManifest } from '../schemas/bundle.ts';

/** One exit's figures. Fractions in [0, 1]. */
export interface ExitFigures {
  index: number;
  accuracy: number;
  /** FLOPs per sample of stopping here: stages 0..k and every head 0..k. */
  cumulativeFlops: number;
  /** `cumulativeFlops` over the full model's FLOPs (see {@link bundleCosts}). */
  flopsFraction: number;
  /** The bundle's calibration temperature for this exit. */
  temperature: number;
  /** Expected calibration error of the raw logits (temperature 1). */
  ece: number;
  /** ECE with the bundle's temperature. */
  eceCalibrated: number;
}

/** Overthinking, as fractions of all samples. */
export interface Overthinking {
  /** Some non-final exit was right: the final exit's extra compute was not needed for these. */
  wasteful: number;
  /** Some non-final exit was right and the final exit is wrong: going on destroyed a right answer. */
  destructive: number;
}

/** Figures of every exit and of the network as a whole on one set of samples. */
export interface ExitAnalysis {
  samples: number;
  /** FLOPs per sample of the backbone alone (every stage and the final classifier, no early heads). */
  fullModelFlops: number;
  /** Final exit last. */
  exits: ExitFigures[];
  /** Fraction of samples some exit gets right: the accuracy of a perfect exit policy. */
  oracleAccuracy: number;
  /** Mean FLOPs of that perfect policy (each sample stops at its first right exit, or the final one) over the full model's. */
  oracleFlopsFraction: number;
  overthinking: Overthinking;
}

/** Per-exit cost figures of a bundle. */
export interface BundleCosts {
  /** `[K]` FLOPs per sample of stopping at exit k (the manifest's cumulativeFlops). */
  cumulativeFlops: number[];
  /** The backbone alone: what one sample costs without early exits, the baseline of every FLOPs fraction. */
  fullModelFlops: number;
}

/** The cost figures of a bundle's manifest. */
export function bundleCosts(manifest: BundleManifest): BundleCosts {
  const stages = manifest.stages.reduce((n, s) => n + s.flops, 0);
  return { cumulativeFlops: manifest.exits.map((e) => e.cumulativeFlops), fullModelFlops: stages + manifest.exits[manifest.exits.length - 1]!.flops };
}

/** `[K][samples]`: 1 where exit k predicts sample i's label (ties → lowest class). */
export function exitCorrectness(outputs: ExitOutputs, labels: Int32Array): Uint8Array[] {
  checkLabels(outputs, labels);
  return outputs.logits.map((l) => Uint8Array.from(argmaxRows(l, outputs.classes), (p, i) => (p === labels[i] ? 1 : 0)));
}

/** Accuracy of each exit on its own, final exit last. */
export function exitAccuracies(outputs: ExitOutputs, labels: Int32Array): number[] {
  return exitCorrectness(outputs, labels).map((c) => mean(c));
}

/** `[samples]`: the first exit that predicts sample i right, or −1 when none does. */
export function firstCorrectExits(outputs: ExitOutputs, labels: Int32Array): Int32Array {
  const correct = exitCorrectness(outputs, labels);
  return Int32Array.from({ length: outputs.samples }, (_, i) => correct.findIndex((c) => c[i] === 1));
}

/** Fraction of samples that some exit (the final one included) predicts right. */
export function oracleAccuracy(outputs: ExitOutputs, labels: Int32Array): number {
  return mean(firstCorrectExits(outputs, labels).map((k) => (k >= 0 ? 1 : 0)));
}

/** Wasteful and destructive overthinking (see {@link Overthinking}); both 0 for a single exit. */
export function overthinking(outputs: ExitOutputs, labels: Int32Array): Overthinking {
  const correct = exitCorrectness(outputs, labels);
  const last = correct.length - 1;
  let wasteful = 0;
  let destructive = 0;
  for (let i = 0; i < outputs.samples; i++) {
    let early = false;
    for (let k = 0; k < last && !early; k++) early = correct[k]![i] === 1;
    if (!early) continue;
    wasteful++;
    if (correct[last]![i] === 0) destructive++;
  }
  const n = Math.max(1, outputs.samples);
  return { wasteful: wasteful / n, destructive: destructive / n };
}

/**
 * Every figure of {@link ExitAnalysis} for outputs of `manifest`'s bundle on labelled samples.
 * `EXW_POLICY` when the outputs do not have the bundle's exits and classes, or no samples.
 */
export function analyzeExits(outputs: ExitOutputs, labels: Int32Array, manifest: BundleManifest, options: { bins?: number } = {}): ExitAnalysis {
  checkOutputsFit(outputs, manifest);
  if (outputs.samples === 0) throw policyError('no samples to analyse', 'pass a non-empty split');
  const bins = options.bins ?? DEFAULT_ECE_BINS;
  const costs = bundleCosts(manifest);
  const exits = outputs.logits.map((logits, k): ExitFigures => {
    const temperature = manifest.exits[k]!.temperature;
    const raw = reliability(logits, labels, outputs.classes, { bins });
    const calibrated = temperature === 1 ? raw : reliability(logits, labels, outputs.classes, { bins, temperature });
    const cumulativeFlops = costs.cumulativeFlops[k]!;
    return { index: k, accuracy: raw.accuracy, cumulativeFlops, flopsFraction: cumulativeFlops / costs.fullModelFlops, temperature, ece: raw.ece, eceCalibrated: calibrated.ece };
  });
  const first = firstCorrectExits(outputs, labels);
  const last = costs.cumulativeFlops.length - 1;
  const oracleFlops = mean(Float64Array.from(first, (k) => costs.cumulativeFlops[k >= 0 ? k : last]!));
  return {
    samples: outputs.samples,
    fullModelFlops: costs.fullModelFlops,
    exits,
    oracleAccuracy: mean(first.map((k) => (k >= 0 ? 1 : 0))),
    oracleFlopsFraction: oracleFlops / costs.fullModelFlops,
    overthinking: overthinking(outputs, labels),
  };
}

/** Throws `EXW_POLICY` unless the outputs have one logits array per exit of the bundle and its classes. */
export function checkOutputsFit(outputs: ExitOutputs, manifest: BundleManifest): void {
  if (outputs.logits.length !== manifest.exits.length || outputs.classes !== manifest.task.classes.length) {
    throw policyError(
      `outputs of ${outputs.logits.length} exits × ${outputs.classes} classes do not fit a bundle of ${manifest.exits.length} exits × ${manifest.task.classes.length} classes`,
      'collect the outputs from this bundle (collectExitOutputs)',
    );
  }
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length === 0 ? 0 : sum / values.length;
}
