/**
 * `exitwise run BUNDLE INPUT… [--policy FILE.json] [--backend node|web] [--threads T] [--json]`:
 * adaptive inference on image files (PNG, IDX arrays), each input leaving at the first exit the
 * policy trusts; prints, per input, the class, the exit, the confidence and the FLOPs spent.
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { ExitwiseError } from '../../errors.ts';
import type { ExitPolicy } from '../../exits/policies/policy.ts';
import { type InputSource, readInputFiles } from '../../runtime/adaptive/inputs.ts';
import { AdaptiveRuntime, bundlePolicy } from '../../runtime/adaptive/runtime.ts';
import type { BackendKind } from '../../runtime/session.ts';
import { loadBundle } from '../../bundle/io.ts';
import { type RunReport, RunReportSchema } from '../../schemas/run.ts';
import { formatCount, formatTable, printJson } from '../output.ts';
import { positiveInt } from '../args.ts';

/** Inputs per runtime call: large enough to amortise per-call costs, small enough to bound memory on big IDX files. */
const DEFAULT_BATCH = 64;

interface RunFlags {
  policy?: string;
  backend: BackendKind;
  threads?: number;
  batch: number;
  limit?: number;
  json?: boolean;
}

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('Adaptive inference on images: each input leaves at the first exit the policy trusts.')
    .argument('<bundle>', 'bundle folder (NAME.exitwise/)')
    .argument('<inputs...>', 'PNG images, or IDX image arrays (MNIST format, optionally gzipped), of the bundle\'s input size')
    .option('--policy <file.json>', 'exit policy JSON (e.g. from `exitwise tune`); default: the bundle\'s own policy')
    .addOption(new Option('--backend <backend>', 'ONNX Runtime package').choices(['node', 'web']).default('node'))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: ONNX Runtime\'s choice)', positiveInt)
    .addOption(new Option('--batch <n>', 'inputs per runtime call').default(DEFAULT_BATCH).argParser(positiveInt))
    .option('--limit <n>', 'run the first n images only', positiveInt)
    .option('--json', 'print one JSON document (schema: RunReportSchema)')
    .addHelpText('after', [
      '',
      'Images are converted to the bundle\'s channels (gray by luma; transparency flattened onto black) and',
      'preprocessed as its manifest says; they are not resized.',
      '',
      'Examples:',
      '  $ exitwise run runs/fashion/model.exitwise shoe.png shirt.png',
      '  $ exitwise run model.exitwise t10k-images-idx3-ubyte.gz --limit 100 --policy tuned.json --json',
    ].join('\n'))
    .action(async (bundleDir: string, inputs: string[], flags: RunFlags) => {
      const bundle = loadBundle(bundleDir);
      const policy = flags.policy === undefined ? bundlePolicy(bundle.manifest) : bundlePolicy(bundle.manifest, readPolicyFile(flags.policy));
      const { data, count, sources } = readInputFiles(bundle.manifest, inputs, flags.limit);
      const runtime = await AdaptiveRuntime.open(bundle, { backend: flags.backend, policy, ...(flags.threads === undefined ? {} : { threads: flags.threads }) });
      try {
        const report = await runAll(runtime, bundleDir, policy, data, count, flags.batch, sources);
        if (flags.json === true) printJson(RunReportSchema, report);
        else process.stdout.write(`${formatRun(report)}\n`);
      } finally {
        await runtime.release();
      }
    });
}

async function runAll(runtime: AdaptiveRuntime, bundle: string, policy: ExitPolicy, data: Float32Array, count: number, batch: number, sources: readonly InputSource[]): Promise<RunReport> {
  const { manifest } = runtime;
  const size = count === 0 ? 0 : data.length / count;
  const fullFlops = manifest.stages.reduce((s, st) => s + st.flops, 0) + manifest.exits.at(-1)!.flops;
  const results: RunReport['results'] = [];
  const exitCounts = new Array<number>(manifest.exits.length).fill(0);
  let ms = 0;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const started = performance.now();
    const r = await runtime.run(data.subarray(start * size, (start + n) * size), n);
    ms += performance.now() - started;
    for (let i = 0; i < n; i++) {
      const exit = r.exitIndex[i]!;
      exitCounts[exit]!++;
      results.push({
        ...sources[start + i]!,
        prediction: r.prediction[i]!,
        class: manifest.task.classes[r.prediction[i]!]!,
        exit,
        confidence: r.confidence[i]!,
        flops: r.flops[i]!,
        flopsFraction: r.flops[i]! / fullFlops,
      });
    }
  }
  const meanFlops = count === 0 ? 0 : results.reduce((s, r) => s + r.flops, 0) / count;
  return {
    bundle, backend: runtime.backend, policy: policy.toJSON(), fullFlops, results,
    summary: { count, meanFlops, flopsFraction: meanFlops / fullFlops, exitCounts, ms },
  };
}

function readPolicyFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ExitwiseError('EXW_IO', `cannot read policy file ${file}: ${(cause as Error).message}`, { hint: 'Check the path.', cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ExitwiseError('EXW_POLICY', `${file} is not valid JSON: ${(cause as Error).message}`, { hint: 'A policy file holds one JSON object with a `kind`, as `exitwise tune` writes it.', cause });
  }
}

function formatRun(r: RunReport): string {
  const rows = r.results.map((x) => [x.index === null ? x.file : `${x.file}#${x.index}`, x.class, x.exit, x.confidence.toFixed(3), formatCount(x.flops), `${(100 * x.flopsFraction).toFixed(1)}%`]);
  const s = r.summary;
  const exits = s.exitCounts.map((n, k) => `${k}:${n}`).join(' ');
  return [
    formatTable(['input', 'class', 'exit', 'confidence', 'FLOPs', 'of full'], rows),
    '',
    `${s.count} input${s.count === 1 ? '' : 's'} (${r.policy.kind} policy, ${r.backend}): mean ${formatCount(s.meanFlops)} FLOPs, ${(100 * s.flopsFraction).toFixed(1)}% of the full model's ${formatCount(r.fullFlops)}; exits ${exits}; ${s.ms.toFixed(1)} ms`,
  ].join('\n');
}

