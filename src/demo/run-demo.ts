/**
 * The demo: the whole early-exit workflow on one dataset in a few minutes — train a multi-exit
 * network, calibrate and tune its policy on the validation split, measure adaptive against full
 * inference on the test split, write the bundle and an HTML report. Each step is the library
 * call a user would make, in order; `exitwise demo` (and `npm start`) prints what it does.
 */
import { basename, join } from 'node:path';
import { collectExitOutputs } from '../analysis/collect.ts';
import { type BundleEvaluation, evaluateOutputs } from '../analysis/evaluate.ts';
import { profileBundle, profileName } from '../analysis/profile.ts';
import { type BundleTuning, tuneBundlePolicy, writeTuning } from '../analysis/tune-bundle.ts';
import { type BundleData, bundleSplitData } from '../bundle/data.ts';
import { loadBundle } from '../bundle/io.ts';
import { loadDataset } from '../data/registry.ts';
import { ExitwiseError } from '../errors.ts';
import { buildReportData } from '../report/build.ts';
import { storedLatencyInfo, writeReport } from '../report/from-bundle.ts';
import { benchAdaptive, type BenchFigures } from '../runtime/bench/benchmark.ts';
import { prepareInputs } from '../runtime/bench/inputs.ts';
import type { TrainEvent } from '../train/progress.ts';
import { train, type TrainResult } from '../train/trainer.ts';
import type { TrainConfigInput } from '../train/run-config.ts';

/**
 * The demo's defaults, sized to finish in about three minutes on 2 cores:
 * - a ResNet-14 at width 8 (a quarter of the default's FLOPs) with 3 exits, 3 epochs on 24,000
 *   training images: ≈ 98% on MNIST, and exits that disagree with the final one on the hard
 *   digits, which is what adaptive inference needs to show anything; uniform loss weights, since
 *   in so short a run the first exit learns too little at its depth weight (0.2);
 * - a ≤ 0.5 pp accuracy-drop target (the operating point);
 * - benchmark on 2,000 test images, batches of 1 and 64, 3 interleaved rounds.
 */
export const DEMO_DEFAULTS = {
  dataset: 'mnist',
  epochs: 3,
  limit: 24_000,
  width: 8,
  maxDropPp: 0.5,
  benchLimit: 2000,
  benchRounds: 3,
  batches: [1, 64],
} as const;

export interface DemoOptions {
  /** Folder for the run, the bundle and the report. */
  out: string;
  dataset?: string;
  dataDir?: string;
  threads?: number;
  epochs?: number;
  limit?: number;
  /** Test images benchmarked, and interleaved rounds (defaults in DEMO_DEFAULTS). */
  benchLimit?: number;
  benchRounds?: number;
  /** Step announcements and training progress. */
  onStep?: (step: DemoStep) => void;
  onTrainProgress?: (event: TrainEvent) => void;
  /** Count progress of long inference passes. */
  onCount?: (label: string, done: number, total: number) => void;
  signal?: AbortSignal;
}

export type DemoStep = { index: number; total: number; title: string };

export interface DemoResult {
  out: string;
  bundle: string;
  report: string;
  training: TrainResult;
  tuning: BundleTuning;
  test: BundleEvaluation;
  bench: BenchFigures;
  seconds: number;
}

const STEPS = ['train a multi-exit network', 'calibrate and tune the exit policy on val', 'evaluate on test', 'benchmark adaptive vs full inference', 'write the HTML report'];

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const step = (index: number) => options.onStep?.({ index: index + 1, total: STEPS.length, title: STEPS[index]! });
  const datasetName = options.dataset ?? DEMO_DEFAULTS.dataset;
  const threads = options.threads === undefined ? {} : { threads: options.threads };
  const dataset = await loadDataset(datasetName, options.dataDir === undefined ? {} : { dataDir: options.dataDir });

  step(0);
  const config: TrainConfigInput = {
    dataset: datasetName,
    arch: { kind: 'resnet', width: DEMO_DEFAULTS.width },
    epochs: options.epochs ?? DEMO_DEFAULTS.epochs,
    limit: options.limit ?? DEMO_DEFAULTS.limit,
    exits: { weights: 'uniform' },
  };
  const training = await train(config, {
    out: options.out, dataset, ...threads,
    ...(options.onTrainProgress === undefined ? {} : { onProgress: options.onTrainProgress }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const bundle = training.bundle!;

  step(1);
  const collect = (data: BundleData, label: string) => collectExitOutputs(bundle, data, {
    ...threads, ...(options.onCount === undefined ? {} : { onProgress: (done: number, total: number) => options.onCount!(label, done, total) }),
  });
  const manifest = loadBundle(bundle).manifest;
  const val = await collect(bundleSplitData(manifest, dataset, 'val'), 'val: every exit');
  const latency = await profileBundle(bundle, threads);
  const tuning = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: DEMO_DEFAULTS.maxDropPp }, latency });
  if (tuning.policy === null) {
    throw new ExitwiseError('EXW_POLICY', `no exit policy meets a ${DEMO_DEFAULTS.maxDropPp} pp drop on val: ${tuning.reason ?? 'unknown reason'}`, { hint: 'Train longer (--epochs) so the exits learn more.' });
  }
  const tuned = writeTuning(bundle, tuning, { profile: latency });

  step(2);
  const testData = bundleSplitData(tuned, dataset, 'test');
  const test = await collect(testData, 'test: every exit');
  const evaluation = evaluateOutputs(tuned, test.outputs, test.labels);

  step(3);
  const bench = await benchAdaptive(loadBundle(bundle), prepareInputs(testData, options.benchLimit ?? DEMO_DEFAULTS.benchLimit), {
    ...threads, batches: DEMO_DEFAULTS.batches, rounds: options.benchRounds ?? DEMO_DEFAULTS.benchRounds,
  });

  step(4);
  // The test outputs and the profile are the ones just measured: the report needs no second pass.
  const data = buildReportData({
    manifest: tuned, title: basename(bundle).replace(/\.exitwise$/, ''), dataset: datasetName, test,
    latency: storedLatencyInfo(profileName(latency), latency),
  });
  const report = (await writeReport(join(options.out, 'report.html'), data)).path;
  return { out: options.out, bundle, report, training, tuning, test: evaluation, bench, seconds: (performance.now() - started) / 1000 };
}
