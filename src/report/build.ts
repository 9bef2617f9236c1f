/**
 * `buildReportData`: every figure of a report, computed from a bundle's manifest and its exit
 * outputs on labelled samples. Pure computation — no model is run here — so it works the same on
 * outputs collected from a bundle and on recorded fixtures.
 */
import { adaptiveFigures } from '../analysis/adaptive.ts';
import { analyzeExits, bundleCosts, checkOutputsFit, firstCorrectExits } from '../analysis/exit-analysis.ts';
import { calibrateExits } from '../exits/calibration.ts';
import { DEFAULT_ECE_BINS, reliability } from '../exits/metrics.ts';
import { checkLabels, policyError, type ExitOutputs } from '../exits/outputs.ts';
import { isThresholdPolicy, type ExitPolicy } from '../exits/policies/policy.ts';
import { describePolicy, fitPolicy, policyFromJson } from '../exits/policies/registry.ts';
import { simulate } from '../exits/policies/simulate.ts';
import type { BundleManifest } from '../schemas/bundle.ts';
import { SWEPT_KINDS, sweepPolicy, type ReportCosts } from './tradeoff.ts';
import type { BundleFacts, CalibrationReportData, LatencyInfo, PolicyReport, ReliabilityCurve, ReportData } from './types.ts';

/** Labelled exit outputs of one split. */
export interface LabelledExitOutputs {
  outputs: ExitOutputs;
  labels: Int32Array;
}

/** What a report is computed from. */
export interface ReportInput {
  manifest: BundleManifest;
  /** Bundle name for the header (e.g. the folder name without `.exitwise`). */
  title: string;
  /** Outputs of every exit on the split reported on (the test split). */
  test: LabelledExitOutputs;
  /**
   * Validation outputs: used only when the bundle is uncalibrated (all temperatures 1), to show
   * what temperature scaling fitted on them would do. No reported figure is measured on them.
   */
  val?: LabelledExitOutputs;
  /** Cumulative per-exit latency (e.g. from a manifest profile); without it the latency curve is left out. */
  latency?: LatencyInfo | null;
  /** Default: the manifest's provenance dataset. */
  dataset?: string;
  /** Default `test`. */
  split?: string;
  /** Default now. */
  date?: Date;
  /** Reliability-diagram bins (default {@link DEFAULT_ECE_BINS}). */
  bins?: number;
  /** Shared-threshold levels per curve (default 41). */
  sweepLevels?: number;
}

/**
 * Computes everything a report shows. Throws EXW_POLICY when the outputs do not fit the manifest
 * (exit or class counts), the latency has the wrong shape, or the manifest's policy is invalid.
 *
 * @example
 * const data = buildReportData({ manifest, title: 'fashion', test: { outputs, labels } });
 * data.policy?.figures.flopsFraction; // e.g. 0.41
 */
export function buildReportData(input: ReportInput): ReportData {
  const { manifest, test } = input;
  if (input.val !== undefined) {
    checkOutputsFit(input.val.outputs, manifest);
    checkLabels(input.val.outputs, input.val.labels);
  }
  const bins = input.bins ?? DEFAULT_ECE_BINS;
  const analysis = analyzeExits(test.outputs, test.labels, manifest, { bins });
  const K = manifest.exits.length;
  const latency = input.latency ?? null;
  if (latency !== null) checkLatency(latency.cumulativeMs, K);
  const costs: ReportCosts = { ...bundleCosts(manifest), ...(latency === null ? {} : { latencyMs: latency.cumulativeMs }) };
  const first = firstCorrectExits(test.outputs, test.labels);
  const n = test.outputs.samples;

  const chosen = manifest.policy === undefined ? null : policyFromJson(manifest.policy, { exits: K });
  // Curves use the temperatures the tuned policy runs with, so its operating point is comparable with them.
  const temperatures = chosen !== null && manifest.policy!.temperatures !== undefined ? [...chosen.temperatures] : manifest.exits.map((e) => e.temperature);
  const bases: ExitPolicy[] = SWEPT_KINDS.map((kind) => fitPolicy(kind, test.outputs, test.labels, { temperatures }));
  if (chosen !== null && isThresholdPolicy(chosen) && !bases.some((b) => b.kind === chosen.kind)) bases.push(chosen);

  return {
    title: input.title,
    dataset: input.dataset ?? manifest.provenance.dataset,
    split: input.split ?? 'test',
    samples: n,
    generatedAt: (input.date ?? new Date()).toISOString(),
    classes: [...manifest.task.classes],
    bundle: bundleFacts(manifest),
    analysis,
    firstCorrect: Array.from({ length: K }, (_, k) => first.reduce((a, f) => a + (f === k ? 1 : 0), 0) / n),
    policy: chosen === null ? null : policyReport(chosen, test, costs),
    tradeoffs: bases.map((b) => sweepPolicy(b, test.outputs, test.labels, costs, input.sweepLevels)),
    latency,
    calibration: calibrationData(input, bins),
  };
}

function policyReport(policy: ExitPolicy, test: LabelledExitOutputs, costs: ReportCosts): PolicyReport {
  const figures = adaptiveFigures(policy, test.outputs, test.labels, costs);
  const { exitIndex, prediction } = simulate(policy, test.outputs);
  const exitCorrect = new Array<number>(policy.exits).fill(0);
  exitIndex.forEach((k, i) => {
    if (prediction[i] === test.labels[i]) exitCorrect[k]! += 1;
  });
  return {
    kind: policy.kind,
    description: describePolicy(policy.kind),
    json: policy.toJSON(),
    thresholds: isThresholdPolicy(policy) ? [...policy.thresholds] : null,
    patience: 'patience' in policy && typeof policy.patience === 'number' ? policy.patience : null,
    temperatures: [...policy.temperatures],
    figures,
    exitCorrect,
  };
}

/** Reliability before (T = 1) and after calibration, per exit, on the reported split. */
function calibrationData(input: ReportInput, bins: number): CalibrationReportData {
  const { manifest, test } = input;
  let temperatures = manifest.exits.map((e) => e.temperature);
  let source: CalibrationReportData['source'] = 'manifest';
  if (temperatures.every((t) => t === 1)) {
    if (input.val === undefined) source = 'none';
    else {
      temperatures = calibrateExits(input.val.outputs, input.val.labels, { bins }).calibration.temperatures;
      source = 'fitted-on-val';
    }
  }
  const curve = (logits: Float32Array, temperature: number): ReliabilityCurve & { accuracy: number } => {
    const r = reliability(logits, test.labels, test.outputs.classes, { bins, temperature });
    return { temperature, ece: r.ece, nll: r.nll, accuracy: r.accuracy, bins: r.bins.filter((b) => b.count > 0) };
  };
  return {
    source,
    bins,
    exits: test.outputs.logits.map((logits, k) => {
      const { accuracy, ...before } = curve(logits, 1);
      const { accuracy: _same, ...after } = curve(logits, temperatures[k]!); // a temperature never changes the argmax
      return { exit: k, accuracy, before, after };
    }),
  };
}

function bundleFacts(manifest: BundleManifest): BundleFacts {
  const { provenance: p } = manifest;
  return {
    input: { name: manifest.input.name, shape: [...manifest.input.shape], dtype: manifest.input.dtype },
    stages: manifest.stages.map((s) => ({ index: s.index, params: s.params, flops: s.flops })),
    exits: manifest.exits.map((e) => ({ index: e.index, params: e.params, flops: e.flops })),
    params: [...manifest.stages, ...manifest.exits].reduce((s, x) => s + x.params, 0),
    provenance: { dataset: p.dataset, strategy: p.strategy, date: p.date, exitwiseVersion: p.exitwiseVersion, split: p.split ?? null },
    profiles: Object.keys(manifest.profiles ?? {}),
  };
}

function checkLatency(ms: readonly number[], exits: number): void {
  if (ms.length !== exits || ms.some((v, k) => !(Number.isFinite(v) && v >= 0) || (k > 0 && v < ms[k - 1]!))) {
    throw policyError(`latency must give ${exits} non-negative, non-decreasing cumulative ms per exit; got [${ms.join(', ')}]`, 'exit k costs stages 0..k and heads 0..k (latencyCosts of a profile)');
  }
}
