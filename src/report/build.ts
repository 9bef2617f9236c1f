/**
 * `buildReportData`: every figure of a report, computed from a bundle's manifest and its exit
 * outputs on labelled samples. Pure computation — no model is run here — so it works the same on
 * outputs collected from a bundle and on recorded fixtures.
 */
import { calibrateExits } from '../exits/calibration.ts';
import { DEFAULT_ECE_BINS, reliability } from '../exits/metrics.ts';
import { checkLabels, type ExitOutputs } from '../exits/outputs.ts';
import { isThresholdPolicy, type ExitPolicy } from '../exits/policies/policy.ts';
import { describePolicy, fitPolicy, policyFromJson } from '../exits/policies/registry.ts';
import { ExitwiseError } from '../errors.ts';
import type { BundleManifest } from '../schemas/bundle.ts';
import { exitCorrectness, firstCorrectExit, overthinking } from './overthinking.ts';
import { evaluatePolicy, SWEPT_KINDS, sweepPolicy, type ExitCostTable } from './tradeoff.ts';
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
   * what temperature scaling fitted on them would do. Never used for a reported figure otherwise.
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
 * Computes everything a report shows. Throws EXW_USAGE when the outputs do not fit the manifest
 * (exit or class counts) or the latency has the wrong length, and EXW_POLICY for an invalid
 * policy in the manifest.
 *
 * @example
 * const data = buildReportData({ manifest, title: 'fashion', test: { outputs, labels } });
 * data.policy?.point.flopsRatio; // e.g. 0.41
 */
export function buildReportData(input: ReportInput): ReportData {
  const { manifest, test } = input;
  checkFits(input);
  const K = manifest.exits.length;
  const bins = input.bins ?? DEFAULT_ECE_BINS;
  const facts = bundleFacts(manifest);
  const latency = input.latency ?? null;
  const costs: ExitCostTable = { flops: manifest.exits.map((e) => e.cumulativeFlops), backboneFlops: facts.backboneFlops, ms: latency?.cumulativeMs ?? null };
  const correct = exitCorrectness(test.outputs, test.labels);
  const first = firstCorrectExit(correct);
  const n = Math.max(1, test.outputs.samples);

  const chosen = manifest.policy === undefined ? null : policyFromJson(manifest.policy, { exits: K });
  // Curves use the temperatures the tuned policy runs with, so its operating point sits among them.
  const temperatures = chosen !== null && 'temperatures' in manifest.policy! ? [...chosen.temperatures] : manifest.exits.map((e) => e.temperature);
  const bases: ExitPolicy[] = SWEPT_KINDS.map((kind) => fitPolicy(kind, test.outputs, test.labels, { temperatures }));
  if (chosen !== null && isThresholdPolicy(chosen) && !bases.some((b) => b.kind === chosen.kind)) bases.push(chosen);

  return {
    title: input.title,
    dataset: input.dataset ?? manifest.provenance.dataset,
    split: input.split ?? 'test',
    samples: test.outputs.samples,
    generatedAt: (input.date ?? new Date()).toISOString(),
    classes: [...manifest.task.classes],
    bundle: facts,
    exits: manifest.exits.map((e, k) => ({
      index: k,
      params: e.params,
      flops: e.flops,
      cumulativeFlops: e.cumulativeFlops,
      flopsRatio: e.cumulativeFlops / facts.backboneFlops,
      temperature: e.temperature,
      accuracy: correct[k]!.reduce((a, b) => a + b, 0) / n,
      firstCorrect: first.reduce((a, f) => a + (f === k ? 1 : 0), 0) / n,
      ms: latency?.cumulativeMs[k] ?? null,
    })),
    policy: chosen === null ? null : policyReport(chosen, input, costs, correct),
    tradeoffs: bases.map((b) => sweepPolicy(b, test.outputs, test.labels, costs, input.sweepLevels)),
    latency,
    calibration: calibrationData(input, bins),
    overthinking: overthinking(correct, costs.flops, facts.backboneFlops),
  };
}

function policyReport(policy: ExitPolicy, input: ReportInput, costs: ExitCostTable, correct: Uint8Array[]): PolicyReport {
  const { exitCounts, exitCorrect, ...point } = evaluatePolicy(policy, input.test.outputs, input.test.labels, costs);
  const final = correct[correct.length - 1]!;
  return {
    kind: policy.kind,
    description: describePolicy(policy.kind),
    json: policy.toJSON(),
    thresholds: isThresholdPolicy(policy) ? [...policy.thresholds] : null,
    patience: 'patience' in policy && typeof policy.patience === 'number' ? policy.patience : null,
    temperatures: [...policy.temperatures],
    point,
    finalAccuracy: final.reduce((a, b) => a + b, 0) / Math.max(1, final.length),
    exitCounts,
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
  const stageFlops = manifest.stages.reduce((s, st) => s + st.flops, 0);
  const { provenance: p } = manifest;
  return {
    input: { name: manifest.input.name, shape: [...manifest.input.shape], dtype: manifest.input.dtype },
    stages: manifest.stages.map((s) => ({ index: s.index, params: s.params, flops: s.flops })),
    backboneFlops: stageFlops + manifest.exits[manifest.exits.length - 1]!.flops,
    params: [...manifest.stages, ...manifest.exits].reduce((s, x) => s + x.params, 0),
    provenance: { dataset: p.dataset, strategy: p.strategy, date: p.date, exitwiseVersion: p.exitwiseVersion, split: p.split ?? null },
    profiles: Object.keys(manifest.profiles ?? {}),
  };
}

function checkFits(input: ReportInput): void {
  const { manifest } = input;
  const K = manifest.exits.length;
  const C = manifest.task.classes.length;
  for (const [name, split] of [['test', input.test], ['val', input.val]] as const) {
    if (split === undefined) continue;
    if (split.outputs.logits.length !== K || split.outputs.classes !== C) {
      throw usage(`the ${name} outputs have ${split.outputs.logits.length} exits and ${split.outputs.classes} classes; the bundle has ${K} exits and ${C} classes`, 'collect the outputs from this bundle');
    }
    if (split.outputs.samples === 0) throw usage(`the ${name} split has no samples`, 'report on a non-empty split');
    checkLabels(split.outputs, split.labels);
  }
  const ms = input.latency?.cumulativeMs;
  if (ms !== undefined && (ms.length !== K || ms.some((v, k) => !(Number.isFinite(v) && v >= 0) || (k > 0 && v < ms[k - 1]!)))) {
    throw usage(`latency must give ${K} non-negative, non-decreasing cumulative ms per exit; got [${ms.join(', ')}]`, 'exit k costs stages 0..k and heads 0..k');
  }
}

function usage(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}
