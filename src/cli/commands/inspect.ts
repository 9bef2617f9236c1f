/** `exitwise inspect MODEL [--json]`: what a model takes and gives, what it costs, where it can be cut. */
import type { Command } from 'commander';
import { inspectModelFile } from '../../onnx/inspect.ts';
import { type InspectReport, InspectReportSchema } from '../../schemas/inspect.ts';
import { formatCount, formatTable, printJson } from '../output.ts';

export function inspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('Show inputs, outputs, op histogram, params, FLOPs and candidate exit cut points of an ONNX model.')
    .argument('<model>', 'path to an .onnx file (external data is read from its folder)')
    .option('--json', 'print one JSON document (schema: InspectReportSchema)')
    .option('--no-ort-shapes', 'do not ask ONNX Runtime for shapes that static inference cannot find')
    .addHelpText('after', '\nExample:\n  $ exitwise inspect examples/resnet-mnist.onnx\n  $ exitwise inspect model.onnx --json | jq .cutPoints')
    .action(async (modelPath: string, options: { json?: boolean; ortShapes: boolean }) => {
      const report = await inspectModelFile(modelPath, { ortShapes: options.ortShapes });
      if (options.json === true) printJson(InspectReportSchema, report);
      else process.stdout.write(`${formatReport(report)}\n`);
    });
}

function formatShape(shape: InspectReport['inputs'][number]['shape']): string {
  return shape === null ? '?' : `[${shape.join(', ')}]`;
}

function formatReport(r: InspectReport): string {
  const opsets = Object.entries(r.opsets).map(([d, v]) => `${d === '' ? 'ai.onnx' : d} ${v}`).join(', ');
  const io = (label: string, list: InspectReport['inputs']): string[] =>
    list.map((t) => `  ${label} ${t.name}: ${t.dataType} ${formatShape(t.shape)}`);
  const ops = Object.entries(r.opHistogram)
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => [op, n, formatCount(r.flopsByOp[op] ?? 0), pct((r.flopsByOp[op] ?? 0) / (r.flops || 1))]);
  const cuts = r.cutPoints.map((c) => [c.tensor, formatShape(c.shape), pct(c.flopsFraction)]);
  return [
    `${r.model}  (${r.producer || 'unknown producer'}, IR ${r.irVersion}, opsets: ${opsets})`,
    ...io('input ', r.inputs),
    ...io('output', r.outputs),
    `  ${r.nodes} nodes, ${formatCount(r.params)} params, ${formatCount(r.flops)} FLOPs per sample`,
    '',
    formatTable(['op', 'nodes', 'FLOPs', 'share'], ops),
    '',
    r.cutPoints.length === 0
      ? 'no candidate cut points (no single tensor separates the inputs from the outputs)'
      : `${r.cutPoints.length} candidate cut points (exits can attach here):\n${formatTable(['tensor', 'shape', 'FLOPs so far'], cuts)}`,
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join('\n');
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
