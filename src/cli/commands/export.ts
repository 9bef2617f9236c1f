/**
 * `exitwise export BUNDLE --subnet K --out model.onnx [--json]`: writes the single-exit model
 * "stages 0..K + exit K" of a bundle as one plain ONNX file (src/bundle/subnet.ts), for a fixed
 * compute budget or a runtime that knows nothing of exits.
 */
import { type Command } from 'commander';
import { loadBundle } from '../../bundle/io.ts';
import { exportSubnet } from '../../bundle/subnet.ts';
import { analyzeCost } from '../../onnx/cost/index.ts';
import { saveModel } from '../../onnx/model-io.ts';
import { type ExportReport, ExportReportSchema } from '../../schemas/export.ts';
import { formatCount, printJson } from '../output.ts';
import { pct } from './eval.ts';
import { nonNegativeInt } from '../args.ts';

interface ExportFlags {
  subnet: number;
  out: string;
  json?: boolean;
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('Export the single-exit subnet of a bundle (stages 0..K and exit K) as one plain ONNX model.')
    .argument('<bundle>', 'bundle folder (NAME.exitwise/)')
    .requiredOption('--subnet <K>', 'the exit to end at, from 0; the last exit gives the full model', nonNegativeInt)
    .requiredOption('--out <file>', 'the .onnx file to write (written atomically)')
    .option('--json', 'print one JSON document (schema: ExportReportSchema)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ exitwise export runs/fashion/model.exitwise --subnet 1 --out fashion-exit1.onnx',
      '  $ exitwise export model.exitwise --subnet 3 --out full.onnx --json | jq .flopsFraction',
    ].join('\n'))
    .action((bundlePath: string, flags: ExportFlags) => {
      const bundle = loadBundle(bundlePath);
      const subnet = exportSubnet(bundle, flags.subnet);
      const last = bundle.manifest.exits.length - 1;
      const cost = analyzeCost(subnet);
      const full = flags.subnet === last ? cost : analyzeCost(exportSubnet(bundle, last));
      saveModel(flags.out, subnet);
      const report: ExportReport = {
        bundle: bundlePath, out: flags.out, exit: flags.subnet, exits: last + 1,
        input: subnet.graph!.input[0]!.name, output: subnet.graph!.output[0]!.name,
        subnet: { params: cost.totalParams, flops: cost.totalFlops },
        full: { params: full.totalParams, flops: full.totalFlops },
        flopsFraction: cost.totalFlops / full.totalFlops,
      };
      if (flags.json === true) printJson(ExportReportSchema, report);
      else process.stdout.write(`${formatExport(report)}\n`);
    });
}

function formatExport(r: ExportReport): string {
  const kind = r.exit === r.exits - 1 ? 'the full model' : `exit ${r.exit} of ${r.exits}`;
  return [
    `wrote ${r.out}: ${kind} of ${r.bundle} (input "${r.input}", output "${r.output}")`,
    `  params  ${formatCount(r.subnet.params).padStart(8)}  of ${formatCount(r.full.params)} (${pct(r.subnet.params / r.full.params, 1)})`,
    `  FLOPs   ${formatCount(Math.round(r.subnet.flops)).padStart(8)}  of ${formatCount(Math.round(r.full.flops))} per sample (${pct(r.flopsFraction, 1)})`,
  ].join('\n');
}

