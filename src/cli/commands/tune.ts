/**
 * `exitwise tune BUNDLE (--max-drop PP | --flops-budget F | --latency-budget MS) [options]`: fits
 * temperatures and the policy and tunes its thresholds on the bundle's validation split (never
 * test), then writes them into the manifest. A target that cannot be met (or certified, with
 * --delta) is an `EXW_POLICY` error and leaves the bundle unchanged.
 */
import { availableParallelism, cpus } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { bundleCosts } from '../../analysis/exit-analysis.ts';
import { profileBundle, profileName, storedProfile } from '../../analysis/profile.ts';
import { DEFAULT_TUNE_POLICY, tuneBundlePolicy, writeTuning, type BundleTarget, type BundleTuning } from '../../analysis/tune-bundle.ts';
import { updateManifest } from '../../bundle/io.ts';
import { DATASETS } from '../../data/registry.ts';
import { ExitwiseError } from '../../errors.ts';
import type { PolicyKind } from '../../exits/policies/policy.ts';
import { describePolicy, policyKinds } from '../../exits/policies/registry.ts';
import type { BundleManifest } from '../../schemas/bundle.ts';
import type { LatencyProfile } from '../../schemas/profile.ts';
import { TuneReportSchema, type TuneReport } from '../../schemas/tune.ts';
import { formatCount, printJson } from '../output.ts';
import { collectWithProgress, loadBundleSplit, pct, signed } from './eval.ts';
import { nonNegativeNumber, positiveInt } from '../args.ts';

interface TuneFlags {
  dataset?: string;
  maxDrop?: number;
  flopsBudget?: number;
  latencyBudget?: number;
  policy: PolicyKind;
  delta?: number;
  data?: string;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

export function tuneCommand(program: Command): void {
  program
    .command('tune')
    .description('Calibrate and tune the exit policy of a bundle on its validation split for an accuracy-drop, FLOPs or latency target, and write it into the bundle.')
    .argument('<bundle>', 'bundle folder (NAME.exitwise/); its manifest.json is rewritten')
    .option('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')} (default: the one the bundle was trained on)`)
    .option('--max-drop <pp>', 'target: least FLOPs with accuracy at most this many percentage points below the final exit', nonNegativeNumber)
    .option('--flops-budget <f>', 'target: best accuracy within this many FLOPs per sample; ≤ 1 means a fraction of the full model (e.g. 0.45)', nonNegativeNumber)
    .option('--latency-budget <ms>', 'target: best accuracy within this many ms per sample (batch 1), from a latency profile measured now if the bundle has none', nonNegativeNumber)
    .addOption(new Option('--policy <kind>', 'exit policy to tune (class-means and learned are also fitted on val)').choices(policyKinds()).default(DEFAULT_TUNE_POLICY))
    .option('--delta <d>', 'with --max-drop: certify (Learn-then-Test) that the drop on new data is within the target with probability ≥ 1 − d', probability)
    .option('--data <dir>', 'folder holding the dataset\'s IDX files (the only place looked at when given)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core); latency profiles are per thread count', positiveInt)
    .option('--json', 'print one JSON document (schema: TuneReportSchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'Thresholds and temperatures are fitted on the validation images the bundle held out from',
      'training, never on test: check the result with `exitwise eval BUNDLE`. Without --delta the',
      'target holds on val; with --delta it is certified for new data (half of val tunes, half',
      'certifies). An infeasible or uncertifiable target exits with EXW_POLICY (status 65) and leaves',
      'the bundle unchanged.',
      '',
      'Policies:',
      ...policyKinds().map((k) => `  ${k.padEnd(12)} ${describePolicy(k)}`),
      '',
      'Examples:',
      '  $ exitwise tune runs/fashion/model.exitwise --max-drop 1',
      '  $ exitwise tune model.exitwise --max-drop 1 --delta 0.1 --json',
      '  $ exitwise tune model.exitwise --flops-budget 0.45 --policy entropy',
      '  $ exitwise tune model.exitwise --latency-budget 0.5 --threads 1',
    ].join('\n'))
    .action(async (bundle: string, flags: TuneFlags) => {
      const start = performance.now();
      const target = targetOf(flags);
      const { manifest, dataset, data } = await loadBundleSplit(bundle, flags, 'val');
      const { outputs, labels } = await collectWithProgress(bundle, data, { ...flags, label: `${dataset} val: running every exit` });
      const latency = target.kind === 'latency-budget' ? await latencyProfile(bundle, manifest, flags) : undefined;
      const tuning = tuneBundlePolicy(manifest, outputs, labels, {
        target, policy: flags.policy, ...(flags.delta === undefined ? {} : { delta: flags.delta }), ...(latency === undefined ? {} : { latency }),
      });
      if (!tuning.feasible || tuning.policy === null || tuning.val === null) throw infeasible(tuning);
      writeTuning(bundle, tuning);
      const report = tuneReport(bundle, dataset, tuning, manifest, (performance.now() - start) / 1000);
      if (flags.json === true) printJson(TuneReportSchema, report);
      else process.stdout.write(`${formatTune(report)}\n`);
    });
}

function targetOf(flags: TuneFlags): BundleTarget {
  const given = [
    flags.maxDrop === undefined ? undefined : ({ kind: 'accuracy-drop', maxDropPp: flags.maxDrop } as const),
    flags.flopsBudget === undefined ? undefined : ({ kind: 'flops-budget', flops: flags.flopsBudget } as const),
    flags.latencyBudget === undefined ? undefined : ({ kind: 'latency-budget', msPerSample: flags.latencyBudget } as const),
  ].filter((t) => t !== undefined);
  if (given.length !== 1) throw usage(`give exactly one target (${given.length === 0 ? 'none' : given.length} given)`, 'Use one of --max-drop PP, --flops-budget F, --latency-budget MS.');
  if (flags.delta !== undefined && given[0]!.kind !== 'accuracy-drop') throw usage('--delta certifies an accuracy drop: use it with --max-drop', 'Learn-then-Test bounds the accuracy drop; FLOPs and latency budgets are met on val without a certificate.');
  return given[0]!;
}

/** The bundle's stored profile at batch 1 for these threads on this CPU, or a new one, measured and stored. */
async function latencyProfile(bundle: string, manifest: BundleManifest, flags: TuneFlags): Promise<LatencyProfile> {
  const threads = flags.threads ?? availableParallelism();
  const name = profileName({ backend: 'node', threads, batch: 1 });
  const stored = storedProfile(manifest, name);
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  if (stored !== undefined && stored.cpu === cpu) return stored;
  // A profile from another machine says nothing about this one's latency.
  const why = stored === undefined ? `no profile of ${threads} threads in the bundle` : `the bundle's was measured on ${stored.cpu}`;
  if (flags.quiet !== true) process.stderr.write(`measuring latency profile ${name} (${why})…\n`);
  const profile = await profileBundle(bundle, { threads, batch: 1 });
  updateManifest(bundle, (m) => ({ ...m, profiles: { ...m.profiles, [name]: profile } }));
  return profile;
}

function infeasible(t: BundleTuning): ExitwiseError {
  const closest = t.val === null ? '' : ` (closest found on val: drop ${t.val.dropPp.toFixed(2)} pp at ${pct(t.val.flopsFraction, 1)} of the FLOPs${t.val.expectedMs === undefined ? '' : `, ${t.val.expectedMs.toFixed(3)} ms/sample`})`;
  return new ExitwiseError('EXW_POLICY', `${t.reason ?? 'the target cannot be met'}${closest}; the bundle was not changed`, {
    hint: t.certification === undefined
      ? 'Loosen the target, or try another --policy.'
      : 'Loosen --max-drop, raise --delta, or tune on a bundle with a larger validation split.',
  });
}

function tuneReport(bundle: string, dataset: string, t: BundleTuning, manifest: BundleManifest, seconds: number): TuneReport {
  const policy = t.policy!;
  const { fullModelFlops } = bundleCosts(manifest);
  return {
    bundle, dataset, split: 'val', policy,
    thresholds: 'thresholds' in policy ? policy.thresholds : null,
    target: t.target,
    ...(t.target.kind === 'flops-budget' ? { budgetFraction: t.target.flopsPerSample / fullModelFlops } : {}),
    temperatures: t.temperatures, calibration: t.calibration, val: t.val!,
    certification: t.certification ?? null, profile: t.profile ?? null, fullModelFlops, seconds,
  };
}

function formatTune(r: TuneReport): string {
  const v = r.val;
  const target = r.target.kind === 'accuracy-drop' ? `accuracy drop ≤ ${r.target.maxDropPp} pp, least FLOPs`
    : r.target.kind === 'flops-budget' ? `≤ ${formatCount(Math.round(r.target.flopsPerSample))} FLOPs/sample (${pct(r.budgetFraction ?? 0, 1)} of the full model), best accuracy`
      : `≤ ${r.target.msPerSample} ms/sample (profile ${r.profile}), best accuracy`;
  const thresholds = r.thresholds === null ? `patience ${String((r.policy as { patience?: number }).patience)}` : `thresholds ${r.thresholds.map((t) => (t === null ? 'off' : t.toPrecision(4))).join(', ')}`;
  const lines = [
    `tuned ${r.policy.kind} on ${r.dataset} val (${v.samples} samples) for ${target}`,
    `  ${thresholds}`,
    `  temperatures        ${r.temperatures.map((t) => t.toFixed(3)).join(', ')}  (ECE ${r.calibration.map((c) => `${pct(c.eceBefore, 1)}→${pct(c.eceAfter, 1)}`).join(', ')})`,
    `  val accuracy        ${pct(v.accuracy)} adaptive vs ${pct(v.finalAccuracy)} full (${signed(-v.dropPp)} pp)`,
    `  expected FLOPs      ${pct(v.flopsFraction, 1)} of the full model (${formatCount(Math.round(v.expectedFlops))}/sample)${v.expectedMs === undefined ? '' : `, ${v.expectedMs.toFixed(3)} ms/sample`}`,
    `  exits               ${v.exitFractions.map((f, k) => `${k}: ${pct(f, 1)}`).join('  ')}`,
  ];
  const c = r.certification;
  if (c !== null) {
    lines.push(`  certified           drop ≤ ${c.maxDropPp} pp with probability ≥ ${1 - c.delta} (Learn-then-Test: tuned on ${c.tuneSamples}, certified on ${c.certifySamples} val samples; ${c.losses} losses, ${((1 - c.delta) * 100).toFixed(0)}% bound ${c.upperBoundPp?.toFixed(2)} pp)`);
  }
  lines.push(`  written to          ${r.bundle}/manifest.json`);
  return lines.join('\n');
}

function usage(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}


function probability(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a number in (0, 1), e.g. 0.1.');
  return n;
}
