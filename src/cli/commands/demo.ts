/**
 * `exitwise demo` (`npm start`): trains a multi-exit network on the default dataset, tunes it,
 * benchmarks it and writes the bundle and an HTML report, printing a summary table.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createCountProgress, type CountProgress } from '../../analysis/progress.ts';
import { DEMO_DEFAULTS, type DemoResult, runDemo } from '../../demo/run-demo.ts';
import { DATASETS } from '../../data/registry.ts';
import { type DemoReport, DemoReportSchema } from '../../schemas/demo.ts';
import { createProgressPrinter, formatDuration } from '../../train/progress.ts';
import { formatTable, printJson } from '../output.ts';
import { pct } from './eval.ts';
import { positiveInt } from '../args.ts';
import { withStopSignal } from '../interrupt.ts';

interface DemoFlags {
  dataset: string;
  out: string;
  data?: string;
  threads?: number;
  epochs?: number;
  limit?: number;
  json?: boolean;
  quiet?: boolean;
}

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('The whole workflow in a few minutes: train a multi-exit network, calibrate and tune it, benchmark adaptive vs full inference, write the bundle and an HTML report.')
    .option('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')}`, DEMO_DEFAULTS.dataset)
    .option('--out <dir>', 'folder for the run, its bundle (model.exitwise/) and report.html', 'runs/demo')
    .option('--data <dir>', 'folder holding the dataset\'s IDX files')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core)', positiveInt)
    .option('--epochs <n>', `training epochs (default ${DEMO_DEFAULTS.epochs})`, positiveInt)
    .option('--limit <n>', `training images used (default ${DEMO_DEFAULTS.limit})`, positiveInt)
    .option('--json', 'print one JSON document (schema: DemoReportSchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'The --out folder is replaced when it holds an earlier demo run.',
      '',
      'Examples:',
      '  $ npm start',
      '  $ exitwise demo --dataset fashion-mnist --epochs 4 --out runs/demo-fashion',
    ].join('\n'))
    .action(async (flags: DemoFlags) => {
      let counter: { label: string; progress: CountProgress } | undefined;
      const say = (text: string) => { if (flags.quiet !== true) process.stderr.write(`${text}\n`); };
      clearEarlierDemo(flags.out);
      const notice = flags.quiet === true ? null : 'stopping after this step (the training run keeps a checkpoint)…';
      const result = await withStopSignal(notice, (signal) => runDemo({
        out: flags.out, dataset: flags.dataset, signal,
        ...(flags.data === undefined ? {} : { dataDir: flags.data }),
        ...(flags.threads === undefined ? {} : { threads: flags.threads }),
        ...(flags.epochs === undefined ? {} : { epochs: flags.epochs }),
        ...(flags.limit === undefined ? {} : { limit: flags.limit }),
        ...(flags.quiet === true ? {} : {
          onStep: (s) => { counter?.progress.end(); counter = undefined; say(`\n[${s.index}/${s.total}] ${s.title}`); },
          onTrainProgress: createProgressPrinter(),
          onCount: (label, done, total) => {
            if (counter?.label !== label) { counter?.progress.end(); counter = { label, progress: createCountProgress(label) }; }
            counter.progress.update(done, total);
          },
        }),
      }));
      counter?.progress.end();
      const report = demoReport(result, flags.dataset);
      if (flags.json === true) printJson(DemoReportSchema, report);
      else process.stdout.write(`${formatDemo(report)}\n`);
    });
}

/** A demo folder from an earlier run is replaced; anything else in the way is refused by the trainer. */
function clearEarlierDemo(out: string): void {
  // The trainer refuses a folder holding a run; an earlier demo's is ours to replace.
  const runFile = join(out, 'run.json');
  if (existsSync(runFile) && existsSync(join(out, 'report.html'))) rmSync(out, { recursive: true, force: true });
}

function demoReport(r: DemoResult, dataset: string): DemoReport {
  const a = r.test.adaptive!;
  return {
    dataset, out: r.out, bundle: r.bundle, report: r.report,
    exits: r.test.exits.map((e, k) => ({ index: e.index, accuracy: e.accuracy, flopsFraction: e.flopsFraction, share: a.exitFractions[k] ?? 0 })),
    accuracyFull: a.finalAccuracy, accuracyAdaptive: a.accuracy, flopsRatio: a.flopsFraction, bench: r.bench.batches, seconds: r.seconds,
  };
}

function formatDemo(r: DemoReport): string {
  const exits = r.exits.map((e) => [e.index === r.exits.length - 1 ? `${e.index} (final)` : String(e.index), pct(e.accuracy), pct(e.flopsFraction, 1), pct(e.share, 1)]);
  const bench = r.bench.map((b) => [String(b.batch), `${b.fullMs.toFixed(3)} ms`, `${b.adaptiveMs.toFixed(3)} ms`, `${b.speedup.toFixed(2)}×`, `${b.idealSpeedup.toFixed(2)}×`, `${b.speedupVsPadded.toFixed(2)}×`]);
  return [
    '',
    `exitwise demo on ${r.dataset} (test split), ${formatDuration(r.seconds)}`,
    '',
    formatTable(['exit', 'accuracy', 'FLOPs of full', 'exit share'], exits),
    '',
    `accuracy    full ${pct(r.accuracyFull)}   adaptive ${pct(r.accuracyAdaptive)}   (${((r.accuracyFull - r.accuracyAdaptive) * 100).toFixed(2)} pp drop)`,
    `FLOPs       adaptive / full = ${r.flopsRatio.toFixed(3)}`,
    '',
    formatTable(['batch', 'full', 'adaptive', 'speedup', 'FLOPs ideal', 'vs padded'], bench),
    '',
    `bundle      ${r.bundle}`,
    `report      ${r.report}`,
  ].join('\n');
}
