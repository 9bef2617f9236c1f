/**
 * `exitwise bench BUNDLE [--dataset D] [--batch 1,64] [--threads T] [--split test] [--limit N]`:
 * wall-clock of adaptive inference against the plain model and a padded early exit, next to the
 * FLOPs-ideal speedup, on a dataset split (src/runtime/bench/). Progress goes to stderr; stdout
 * holds only the result (one JSON document with --json).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SPLIT_NAMES, type SplitName } from '../../bundle/data.ts';
import { loadBundle } from '../../bundle/io.ts';
import { DATASETS } from '../../data/registry.ts';
import { BENCH_DEFAULTS, benchAdaptive, type BenchProgress } from '../../runtime/bench/benchmark.ts';
import { prepareInputs } from '../../runtime/bench/inputs.ts';
import { type BenchReport, BenchReportSchema } from '../../schemas/bench.ts';
import { formatCount, formatTable, printJson } from '../output.ts';
import { loadBundleSplit, pct } from './eval.ts';
import { positiveInt } from '../args.ts';

interface BenchFlags {
  dataset?: string;
  split: SplitName;
  data?: string;
  batch: number[];
  threads?: number;
  rounds: number;
  limit?: number;
  json?: boolean;
  quiet?: boolean;
}

export function benchCommand(program: Command): void {
  program
    .command('bench')
    .description('Benchmark adaptive inference: ms per input of the plain model, the adaptive runtime and a padded early exit, speedup vs the FLOPs-ideal one.')
    .argument('<bundle>', 'bundle folder (NAME.exitwise/) with a tuned policy')
    .option('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')} (default: the one the bundle was trained on)`)
    .addOption(new Option('--split <split>', 'split to run').choices(SPLIT_NAMES).default('test'))
    .option('--data <dir>', 'folder holding the dataset\'s IDX files (the only place looked at when given)')
    .addOption(new Option('--batch <sizes>', 'comma-separated batch sizes').default([...BENCH_DEFAULTS.batches], BENCH_DEFAULTS.batches.join(',')).argParser(batchSizes))
    .option('--threads <n>', 'ONNX Runtime intra-op threads of every session (default: ORT\'s choice)', positiveInt)
    .addOption(new Option('--rounds <n>', 'interleaved rounds; figures are medians over them').default(BENCH_DEFAULTS.rounds).argParser(positiveInt))
    .option('--limit <n>', 'use the first n samples of the split only (quick runs)', positiveInt)
    .option('--json', 'print one JSON document (schema: BenchReportSchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'Each round runs every variant once over the inputs, in rotating order; each variant is warmed up first.',
      'The "nothing exits" rows run the adaptive runtime with a policy that stops no input early.',
      '',
      'Examples:',
      '  $ exitwise bench runs/fashion/model.exitwise --threads 2',
      '  $ exitwise bench model.exitwise --batch 1,16,64 --limit 2000 --rounds 3 --json | jq .batches',
    ].join('\n'))
    .action(async (bundlePath: string, flags: BenchFlags) => {
      const { dataset, data } = await loadBundleSplit(bundlePath, flags, flags.split);
      const bundle = loadBundle(bundlePath);
      const inputs = prepareInputs(data, flags.limit);
      const log = (line: string) => flags.quiet !== true && process.stderr.write(`${line}\n`);
      log(`bench ${bundlePath} on ${inputs.count} ${dataset} ${flags.split} inputs, batches ${flags.batch.join(', ')}, ${flags.rounds} rounds, threads ${flags.threads ?? 'default'}`);
      if (bundle.manifest.policy === undefined) log('note: the bundle has no tuned policy; the runtime\'s default thresholds are used (tune one with `exitwise tune`)');
      const figures = await benchAdaptive(bundle, inputs, {
        batches: flags.batch, rounds: flags.rounds,
        ...(flags.threads === undefined ? {} : { threads: flags.threads }),
        onProgress: (p) => log(progressLine(p)),
      });
      const report: BenchReport = { bundle: bundlePath, dataset, split: flags.split, ...figures };
      if (flags.json === true) printJson(BenchReportSchema, report);
      else process.stdout.write(`${formatBench(report)}\n`);
    });
}

function progressLine(p: BenchProgress): string {
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  return `batch ${p.batch}, round ${p.round}/${p.rounds}: full ${ms(p.ms.full)}, adaptive ${ms(p.ms.adaptive)}, padded ${ms(p.ms.padded)}, nothing exits ${ms(p.ms.noExit)} per input`;
}

function formatBench(r: BenchReport): string {
  const ms = (x: number) => x.toFixed(3);
  const times = (x: number) => `${x.toFixed(2)}×`;
  const rows = r.batches.map((b) => [
    b.batch, ms(b.fullMs), ms(b.adaptiveMs), ms(b.paddedMs), times(b.speedup), times(b.idealSpeedup), pct(b.efficiency, 0),
    times(b.speedupVsPadded), pct(b.accuracyFull), pct(b.accuracyAdaptive), b.exitHistogram.join('/'),
  ]);
  const noExit = r.noExit.map((n) => [n.batch, ms(n.fullMs), ms(n.adaptiveMs), times(n.ratio)]);
  const flops = r.batches[0]!.expectedFlops;
  return [
    `${r.bundle} on ${r.count} ${r.dataset} ${r.split} inputs, policy ${r.policy.kind} (${r.adaptiveRuntime === 'compiled' ? 'compiled graph' : 'segment walk'}), threads ${r.threads ?? 'default'}, median of ${r.rounds} rounds (ms per input)`,
    `full model ${formatCount(Math.round(r.fullFlops))} FLOPs/input; adaptive ${formatCount(Math.round(flops))} (${pct(flops / r.fullFlops, 1)})`,
    '',
    formatTable(['batch', 'full', 'adaptive', 'padded', 'speedup', 'ideal', 'efficiency', 'vs padded', 'acc full', 'acc adaptive', 'exits'], rows),
    '',
    'nothing exits (every input runs every stage and head):',
    formatTable(['batch', 'full', 'adaptive', 'ratio'], noExit),
  ].join('\n');
}

function batchSizes(value: string): number[] {
  const sizes = value.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('expected comma-separated integers ≥ 1, e.g. 1,64.');
  return sizes;
}
