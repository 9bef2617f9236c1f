/**
 * `exitwise report BUNDLE --out report.html [options]`: one self-contained HTML page with the
 * accuracy/FLOPs and accuracy/latency trade-offs of every policy kind, the tuned operating point,
 * where samples exit, reliability before and after calibration, overthinking and the bundle's
 * facts. Progress goes to stderr; stdout holds only the result (one JSON document with --json).
 */
import type { Command } from 'commander';
import { createCountProgress, type CountProgress } from '../../analysis/progress.ts';
import type { SplitName } from '../../bundle/data.ts';
import { DATASETS } from '../../data/registry.ts';
import { reportCharts } from '../../report/charts.ts';
import { bundleReportData, writeReport } from '../../report/from-bundle.ts';
import type { ReportData } from '../../report/types.ts';
import { ReportSummarySchema, type ReportSummary } from '../../schemas/report.ts';
import { printJson } from '../output.ts';
import { pct } from './eval.ts';
import { positiveInt } from '../args.ts';

interface ReportFlags {
  dataset?: string;
  data?: string;
  out: string;
  threads?: number;
  limit?: number;
  profile?: string;
  measure: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function reportCommand(program: Command): void {
  program
    .command('report')
    .description('Write a self-contained HTML report of a bundle on a dataset\'s test split: trade-off curves, operating point, exit histogram, calibration, overthinking.')
    .argument('<bundle>', 'bundle folder (NAME.exitwise/)')
    .requiredOption('--out <file>', 'the HTML file to write (replaced if it exists)')
    .option('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')} (default: the one the bundle was trained on)`)
    .option('--data <dir>', 'folder holding the dataset\'s IDX files (the only place looked at when given)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads for running and profiling (default: one per core)', positiveInt)
    .option('--limit <n>', 'use the first n samples of each split only (quick checks)', positiveInt)
    .option('--profile <name>', 'take latency from this profile of the manifest (default: the one for --threads, else the first stored)')
    .option('--no-measure', 'do not measure latency when the bundle stores no profile (the latency curve is left out)')
    .option('--json', 'print one JSON document (schema: ReportSummarySchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'The page needs no network and no JavaScript: charts are inline SVG. Figures are measured on the',
      'test split; the validation split is run only for an uncalibrated bundle, to show what',
      'temperature scaling would do. A latency profile measured here is not stored in the bundle.',
      '',
      'Examples:',
      '  $ exitwise report runs/fashion/model.exitwise --out fashion-report.html',
      '  $ exitwise report model.exitwise --dataset fashion-mnist --threads 2 --out report.html --json',
    ].join('\n'))
    .action(async (bundle: string, flags: ReportFlags) => {
      const start = performance.now();
      const progress = new Map<SplitName, CountProgress>();
      let data: ReportData;
      try {
        data = await bundleReportData(bundle, {
          ...(flags.dataset === undefined ? {} : { dataset: flags.dataset }),
          ...(flags.data === undefined ? {} : { dataDir: flags.data }),
          ...(flags.threads === undefined ? {} : { threads: flags.threads }),
          ...(flags.limit === undefined ? {} : { limit: flags.limit }),
          ...(flags.profile === undefined ? {} : { profile: flags.profile }),
          measure: flags.measure,
          ...(flags.quiet === true ? {} : {
            onProgress: (split: SplitName, done: number, total: number) => {
              let p = progress.get(split);
              if (p === undefined) progress.set(split, (p = createCountProgress(`${split}: running every exit`)));
              p.update(done, total);
              if (done >= total) p.end();
            },
            onMeasure: (name: string) => process.stderr.write(`measuring latency profile ${name} (the bundle stores none)…\n`),
          }),
        });
      } finally {
        for (const p of progress.values()) p.end();
      }
      const { bytes } = await writeReport(flags.out, data);
      const summary = reportSummary(bundle, flags.out, bytes, data, (performance.now() - start) / 1000);
      if (flags.json === true) printJson(ReportSummarySchema, summary);
      else process.stdout.write(`${formatSummary(summary)}\n`);
    });
}

function reportSummary(bundle: string, out: string, bytes: number, data: ReportData, seconds: number): ReportSummary {
  const f = data.policy?.figures;
  return {
    out, bytes, bundle, dataset: data.dataset, split: data.split, samples: data.samples,
    charts: reportCharts(data).map((c) => c.id),
    policy: f === undefined ? null : { kind: data.policy!.kind, accuracy: f.accuracy, finalAccuracy: f.finalAccuracy, flopsFraction: f.flopsFraction, expectedMs: f.expectedMs ?? null },
    latency: data.latency?.description ?? null,
    calibration: data.calibration.source,
    seconds,
  };
}

function formatSummary(s: ReportSummary): string {
  const p = s.policy;
  return [
    `wrote ${s.out} (${(s.bytes / 1024).toFixed(0)} kB, ${s.charts.length} charts): ${s.bundle} on ${s.dataset} ${s.split}, ${s.samples} samples`,
    p === null
      ? 'policy: none in the bundle (tune one with `exitwise tune`)'
      : `policy: ${p.kind}, accuracy ${pct(p.accuracy)} vs ${pct(p.finalAccuracy)} final at ${pct(p.flopsFraction, 1)} of the FLOPs${p.expectedMs === null ? '' : `, ${p.expectedMs.toFixed(3)} ms/sample`}`,
    `latency: ${s.latency ?? 'left out (no stored profile, --no-measure)'}`,
  ].join('\n');
}
