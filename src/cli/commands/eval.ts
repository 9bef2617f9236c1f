/**
 * `exitwise eval BUNDLE [--dataset D] [--split S] [options]`: every exit's accuracy, cost and
 * calibration on a split, the oracle and overthinking, and the bundle policy's adaptive result.
 * Progress goes to stderr; stdout holds only the result (one JSON document with --json).
 */
import { type Command, Option } from 'commander';
import { collectExitOutputs } from '../../analysis/collect.ts';
import { evaluateOutputs, type BundleEvaluation } from '../../analysis/evaluate.ts';
import { createCountProgress } from '../../analysis/progress.ts';
import { bundleSplitData, SPLIT_NAMES, type BundleData, type SplitName } from '../../bundle/data.ts';
import { readManifest } from '../../bundle/io.ts';
import { DATASETS, loadDataset } from '../../data/registry.ts';
import type { ExitOutputs } from '../../exits/outputs.ts';
import type { BundleManifest } from '../../schemas/bundle.ts';
import { EvalReportSchema, type EvalReport } from '../../schemas/eval.ts';
import { formatCount, formatTable, printJson } from '../output.ts';
import { positiveInt } from '../args.ts';

interface EvalFlags {
  dataset?: string;
  split: SplitName;
  data?: string;
  threads?: number;
  limit?: number;
  json?: boolean;
  quiet?: boolean;
}

export function evalCommand(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a bundle on a dataset split: per-exit accuracy, FLOPs and calibration, oracle, overthinking, and the adaptive result of its policy.')
    .argument('<bundle>', 'bundle folder (NAME.exitwise/)')
    .option('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')} (default: the one the bundle was trained on)`)
    .addOption(new Option('--split <split>', 'split to evaluate on: the dataset\'s test split, or the bundle\'s val/train part of the training images').choices(SPLIT_NAMES).default('test'))
    .option('--data <dir>', 'folder holding the dataset\'s IDX files (the only place looked at when given)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core)', positiveInt)
    .option('--limit <n>', 'evaluate the first n samples of the split only (quick checks)', positiveInt)
    .option('--json', 'print one JSON document (schema: EvalReportSchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ exitwise eval runs/fashion/model.exitwise --dataset fashion-mnist',
      '  $ exitwise eval model.exitwise --split val --threads 2 --json | jq .exits',
    ].join('\n'))
    .action(async (bundle: string, flags: EvalFlags) => {
      const start = performance.now();
      const { manifest, dataset, data } = await loadBundleSplit(bundle, flags, flags.split);
      const { outputs, labels } = await collectWithProgress(bundle, limited(data, flags.limit), { ...flags, label: `${dataset} ${flags.split}: running every exit` });
      const report = evalReport(bundle, dataset, flags.split, evaluateOutputs(manifest, outputs, labels), (performance.now() - start) / 1000);
      if (flags.json === true) printJson(EvalReportSchema, report);
      else process.stdout.write(`${formatEval(report)}\n`);
    });
}

/** The manifest of `bundle`, and `split` of the dataset (default: the bundle's own) as the bundle takes it. */
export async function loadBundleSplit(bundle: string, flags: { dataset?: string; data?: string; quiet?: boolean }, split: SplitName): Promise<{ manifest: BundleManifest; dataset: string; data: BundleData }> {
  const manifest = readManifest(bundle);
  const dataset = flags.dataset ?? manifest.provenance.dataset;
  if (dataset !== manifest.provenance.dataset && flags.quiet !== true) {
    process.stderr.write(`note: the bundle was trained on ${manifest.provenance.dataset}; its ${split} split of ${dataset} is not the one training held out\n`);
  }
  const loaded = await loadDataset(dataset, flags.data === undefined ? {} : { dataDir: flags.data });
  return { manifest, dataset, data: bundleSplitData(manifest, loaded, split) };
}

/** {@link collectExitOutputs} with a progress line on stderr unless quiet. */
export async function collectWithProgress(bundle: string, data: BundleData, flags: { threads?: number; quiet?: boolean; label: string }): Promise<{ outputs: ExitOutputs; labels: Int32Array }> {
  const progress = flags.quiet === true ? undefined : createCountProgress(flags.label);
  try {
    return await collectExitOutputs(bundle, data, {
      ...(flags.threads === undefined ? {} : { threads: flags.threads }),
      ...(progress === undefined ? {} : { onProgress: progress.update }),
    });
  } finally {
    progress?.end();
  }
}

function limited(data: BundleData, limit: number | undefined): BundleData {
  if (limit === undefined || limit >= data.count) return data;
  const indices = data.indices.subarray(0, limit);
  return { ...data, indices, count: indices.length };
}

function evalReport(bundle: string, dataset: string, split: SplitName, e: BundleEvaluation, seconds: number): EvalReport {
  return {
    bundle, dataset, split, samples: e.samples, fullModelFlops: e.fullModelFlops, exits: e.exits,
    oracleAccuracy: e.oracleAccuracy, oracleFlopsFraction: e.oracleFlopsFraction, overthinking: e.overthinking, adaptive: e.adaptive, seconds,
  };
}

function formatEval(r: EvalReport): string {
  const rows = r.exits.map((e) => [
    e.index === r.exits.length - 1 ? `${e.index} (final)` : String(e.index), pct(e.accuracy), formatCount(Math.round(e.cumulativeFlops)), pct(e.flopsFraction, 1),
    `${pct(e.ece)} → ${pct(e.eceCalibrated)}`, e.temperature.toFixed(3),
  ]);
  const lines = [
    `${r.bundle} on ${r.dataset} ${r.split} (${r.samples} samples); full model ${formatCount(Math.round(r.fullModelFlops))} FLOPs/sample`,
    '',
    formatTable(['exit', 'accuracy', 'FLOPs', 'of full', 'ECE raw → calibrated', 'T'], rows),
    '',
    `oracle accuracy      ${pct(r.oracleAccuracy)}  (some exit is right; stopping each sample at its first right exit costs ${pct(r.oracleFlopsFraction, 1)} of the FLOPs)`,
    `overthinking         wasteful ${pct(r.overthinking.wasteful)} (an earlier exit was already right), destructive ${pct(r.overthinking.destructive)} (and the final exit is wrong)`,
  ];
  const a = r.adaptive;
  if (a === null) {
    lines.push('policy               none in the bundle (tune one with `exitwise tune`)');
  } else {
    lines.push(
      `policy ${a.policy.kind.padEnd(13)} accuracy ${pct(a.accuracy)} vs ${pct(a.finalAccuracy)} final (${signed(-a.dropPp)} pp) at ${pct(a.flopsFraction, 1)} of the FLOPs (${formatCount(Math.round(a.expectedFlops))}/sample)`,
      `  exits              ${a.exitFractions.map((f, k) => `${k}: ${pct(f, 1)}`).join('  ')}`,
    );
  }
  return lines.join('\n');
}

export function pct(x: number, digits = 2): string {
  return `${(100 * x).toFixed(digits)}%`;
}

export function signed(x: number): string {
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
}

