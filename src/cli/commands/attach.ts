/**
 * `exitwise attach MODEL.onnx --dataset D --out BUNDLE [options]`: exits for an imported
 * classifier. Exits are placed at the model's cut points, heads planned within the FLOPs budget,
 * and only the heads are trained, on features of the frozen model cached once
 * (src/train/heads-only/); the bundle's final exit is the model itself, unchanged.
 * Progress goes to stderr; stdout holds only the result (one JSON document with --json).
 */
import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { bundleSplitData } from '../../bundle/data.ts';
import { saveMultiExitBundle } from '../../bundle/from-model.ts';
import { makeManifest, type ManifestInfo } from '../../bundle/manifest.ts';
import { toBundleSegments } from '../../bundle/segments.ts';
import { DEFAULT_VAL_FRACTION } from '../../data/splits.ts';
import { DATASETS, loadDataset } from '../../data/registry.ts';
import { ExitwiseError } from '../../errors.ts';
import { attachExits } from '../../exits/attach.ts';
import { type ExitPlacement, placeExits } from '../../exits/placement.ts';
import { DEFAULT_HEAD, DEFAULT_HEAD_BUDGET, planHeads } from '../../exits/heads/plan.ts';
import { type HeadConfig, HEAD_TEMPLATES, parseHeadConfig } from '../../exits/heads/registry.ts';
import { loadModel } from '../../onnx/model-io.ts';
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import { type AttachReport, AttachReportSchema, type HeadsTraining } from '../../schemas/attach.ts';
import type { Preprocessing } from '../../schemas/bundle.ts';
import { HEADS_ONLY_DEFAULTS, type HeadsOnlyConfig } from '../../train/heads-only/config.ts';
import { type HeadsOnlyResult, trainHeadsOnly } from '../../train/heads-only/heads-only.ts';
import { checkModelFits, placeAuto } from '../../train/heads-only/model-fit.ts';
import { createHeadsOnlyProgressPrinter } from '../../train/heads-only/progress.ts';
import { formatDuration } from '../../train/progress.ts';
import { formatCount, formatTable, printJson } from '../output.ts';
import { withStopSignal } from '../interrupt.ts';

interface AttachFlags {
  dataset: string;
  at: string;
  head?: string;
  budget?: number;
  logits?: string;
  scale: number;
  mean?: number[];
  std?: number[];
  layout: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  distill?: boolean;
  valFraction?: number;
  seed?: number;
  limit?: number;
  threads?: number;
  data?: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

export function attachCommand(program: Command): void {
  program
    .command('attach')
    .description('Attach early exits to an imported ONNX classifier and train only the exits, on features of the frozen model cached once; writes a bundle.')
    .argument('<model>', 'the classifier: an .onnx file with one image input and [N, classes] logits')
    .requiredOption('--dataset <name>', `dataset to train the exits on: ${Object.keys(DATASETS).join(', ')}`)
    .requiredOption('--out <dir>', 'bundle folder to write (NAME.exitwise/); must not exist')
    .option('--at <where>', 'exit positions: "auto" (up to 3 exits, equidistant in FLOPs), a count ("2"), FLOPs fractions ("0.3,0.6") or cut tensors ("t1,t2"; see `exitwise inspect`)', 'auto')
    .option('--head <kind|json>', `exit head for every exit: ${Object.keys(HEAD_TEMPLATES).join(', ')} (default ${DEFAULT_HEAD.kind}, narrowed to the budget), or a JSON head config`)
    .option('--budget <fraction>', `most FLOPs all heads together may add, over the model's (default ${DEFAULT_HEAD_BUDGET})`, nonNegativeNumber)
    .option('--logits <name>', 'the model output holding the logits (default: its only output)')
    .option('--scale <s>', 'raw 8-bit pixel → input: first multiply by s (default 1/255)', fractionOrNumber, 1 / 255)
    .option('--mean <m[,m,m]>', 'then subtract this, one value or one per channel (default 0)', numberList)
    .option('--std <s[,s,s]>', 'then divide by this, one value or one per channel (default 1)', numberList)
    .option('--layout <layout>', 'axis order of the model input: NCHW or NHWC', 'NCHW')
    .option('--epochs <n>', `epochs of head training (default ${HEADS_ONLY_DEFAULTS.epochs})`, positiveInt)
    .option('--batch <n>', `batch size (default ${HEADS_ONLY_DEFAULTS.batchSize})`, positiveInt)
    .option('--lr <rate>', `peak learning rate (AdamW, cosine decay; default ${HEADS_ONLY_DEFAULTS.lr})`, positiveNumber)
    .option('--distill', `also learn from the model's own predictions (self-distillation, α ${HEADS_ONLY_DEFAULTS.distill.alpha}, T ${HEADS_ONLY_DEFAULTS.distill.temperature})`)
    .option('--val-fraction <f>', `fraction of the training images held out for validation (default ${DEFAULT_VAL_FRACTION})`, positiveNumber)
    .option('--seed <n>', 'seed of the split, the heads\' initial weights and the batch order (default 0)', nonNegativeInt)
    .option('--limit <n>', 'use the first n training images only (quick checks)', positiveInt)
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core)', positiveInt)
    .option('--data <dir>', 'folder holding the dataset\'s IDX files (the only place looked at when given)')
    .option('--json', 'print one JSON document (schema: AttachReportSchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'The backbone runs once over the images (no augmentation) and its features are cached in memory;',
      'only the heads train. The final exit is the model itself: its predictions do not change.',
      '',
      'Examples:',
      '  $ exitwise attach resnet.onnx --dataset mnist --mean 0.1307 --std 0.3081 --out resnet.exitwise',
      '  $ exitwise attach model.onnx --dataset fashion-mnist --at 0.25,0.5 --head pool-linear --epochs 4 --out m.exitwise --json',
    ].join('\n'))
    .action(async (modelPath: string, flags: AttachFlags) => {
      const report = await withStopSignal(flags.quiet === true ? null : 'stopping after this step (nothing is written)…', (signal) => runAttach(modelPath, flags, signal));
      if (flags.json === true) printJson(AttachReportSchema, report);
      else process.stdout.write(`${formatAttach(report)}\n`);
    });
}

async function runAttach(modelPath: string, flags: AttachFlags, signal: AbortSignal): Promise<AttachReport> {
  if (existsSync(flags.out)) throw new ExitwiseError('EXW_IO', `${flags.out} already exists`, { hint: 'Choose another --out folder: attach never overwrites a bundle.' });
  if (flags.layout !== 'NCHW' && flags.layout !== 'NHWC') throw usage(`--layout "${flags.layout}" is neither NCHW nor NHWC`);
  const layout = flags.layout;
  const model = loadModel(modelPath);
  const dataset = await loadDataset(flags.dataset, flags.data === undefined ? {} : { dataDir: flags.data });
  const backbone = { model, ...(flags.logits === undefined ? {} : { logits: flags.logits }) };
  const { channels } = checkModelFits(backbone, dataset, layout);
  const preprocessing = preprocessingFrom(flags, channels, layout);
  const placements = placeFromFlag(model, flags.at);
  const plan = planHeads(backbone, placements, {
    ...(flags.head === undefined ? {} : { heads: parseHead(flags.head) }), ...(flags.budget === undefined ? {} : { budget: flags.budget }),
  });
  const multi = attachExits(backbone, placements, plan.heads.map((h) => h.config), { seed: flags.seed ?? 0 });
  const split = { valFraction: flags.valFraction ?? DEFAULT_VAL_FRACTION, seed: flags.seed ?? 0, limit: flags.limit ?? null };
  const info: ManifestInfo = { classes: dataset.classes, preprocessing, provenance: { dataset: dataset.name, strategy: 'exits-only', split } };
  // The manifest of the untrained bundle: checks that it can be cut into segments before any
  // training, and gives the split and preprocessing exactly as the saved bundle will.
  const draft = makeManifest(toBundleSegments(multi), info);
  const config: HeadsOnlyConfig = {
    targets: 'labels', seed: split.seed,
    ...(flags.epochs === undefined ? {} : { epochs: flags.epochs }), ...(flags.batch === undefined ? {} : { batchSize: flags.batch }),
    ...(flags.lr === undefined ? {} : { lr: flags.lr }), ...(flags.distill === true ? { distill: {} } : {}),
  };
  const result = await trainHeadsOnly(multi, { train: bundleSplitData(draft, dataset, 'train'), val: bundleSplitData(draft, dataset, 'val') }, config, {
    signal, ...(flags.threads === undefined ? {} : { threads: flags.threads }), ...(flags.quiet === true ? {} : { onProgress: createHeadsOnlyProgressPrinter() }),
  });
  const manifest = saveMultiExitBundle(flags.out, result.multiExit, info);
  const full = manifest.exits.at(-1)!.cumulativeFlops;
  return {
    bundle: flags.out, model: modelPath, dataset: dataset.name, preprocessing, split,
    heads: { flopsFraction: plan.total.flopsFraction, budget: plan.budget, withinBudget: plan.withinBudget, adjustments: plan.adjustments },
    exits: manifest.exits.map((e, k) => {
      const early = result.exits[k];
      return {
        index: k, tensor: early?.tensor ?? manifest.stages[k]!.outputs[0]!, placementFraction: placements[k]?.fraction ?? 1,
        cumulativeFlops: e.cumulativeFlops, flopsFraction: full > 0 ? e.cumulativeFlops / full : 1,
        head: plan.heads[k]?.config ?? null, headFlops: e.flops,
        valAccuracy: early === undefined ? result.finalValAccuracy! : early.valAccuracy!, valAgreement: early?.valAgreement ?? 1,
        history: early?.history ?? [],
      };
    }),
    training: headsTrainingOf(result),
  };
}

/** The training figures of a heads-only run, as `attach` and `personalise` report them. */
export function headsTrainingOf(result: Omit<HeadsOnlyResult, 'multiExit'>): HeadsTraining {
  const c = result.config;
  return {
    targets: c.targets, distill: c.distill, epochs: c.epochs, batchSize: c.batchSize, lr: c.lr, optimizer: c.optimizer.kind,
    trainImages: result.trainSamples, valImages: result.valSamples, passes: result.passes, cacheSeconds: result.cacheSeconds, seconds: result.seconds,
  };
}

/** `--scale/--mean/--std/--layout` as the manifest's preprocessing; one value per channel or one for all. */
function preprocessingFrom(flags: AttachFlags, channels: number, layout: Preprocessing['layout']): Preprocessing {
  const perChannel = (name: string, values: number[] | undefined, fallback: number): number[] => {
    const v = values ?? [fallback];
    if (v.length !== 1 && v.length !== channels) throw usage(`--${name} has ${v.length} values; the model input has ${channels} channel${channels === 1 ? '' : 's'}`, `Give one value for all channels${channels > 1 ? `, or ${channels}, one per channel` : ''}.`);
    return v;
  };
  const mean = perChannel('mean', flags.mean, 0);
  const std = perChannel('std', flags.std, 1);
  if (std.some((s) => !(s > 0))) throw usage(`--std ${std.join(',')} has a value that is not positive`, 'Standard deviations are > 0.');
  if (!(flags.scale > 0)) throw usage(`--scale ${flags.scale} is not positive`, 'Use 1/255 for 8-bit pixels mapped to [0, 1].');
  return { scale: flags.scale, mean, std, layout };
}

/** `auto` → up to 3 exits equidistant in FLOPs; "2" → a count; "0.3,0.6" → FLOPs fractions; anything else → cut tensors. */
function placeFromFlag(model: ModelProto, value: string): ExitPlacement[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw usage('--at is empty', 'Give auto, a count, FLOPs fractions or tensor names.');
  if (parts.length === 1 && parts[0] === 'auto') return placeAuto(model);
  const numbers = parts.map(Number);
  if (parts.length === 1 && Number.isInteger(numbers[0]) && numbers[0]! >= 1) return placeExits(model, { by: 'count', count: numbers[0]! });
  if (numbers.every((n) => Number.isFinite(n))) return placeExits(model, { by: 'fractions', fractions: numbers });
  return placeExits(model, { by: 'tensors', tensors: parts });
}

function parseHead(value: string): HeadConfig {
  const text = value.trim();
  if (text.startsWith('{')) {
    try {
      return parseHeadConfig(JSON.parse(text));
    } catch (cause) {
      if (cause instanceof ExitwiseError) throw cause;
      throw usage(`--head ${value} is not valid JSON: ${(cause as Error).message}`, 'Give a head kind, or a JSON head config such as {"kind":"conv-pool-linear","channels":8}.');
    }
  }
  return parseHeadConfig({ kind: text });
}

function formatAttach(r: AttachReport): string {
  const pct = (x: number, digits = 2) => `${(100 * x).toFixed(digits)}%`;
  const last = r.exits.length - 1;
  const rows = r.exits.map((e) => [
    e.index === last ? `${e.index} (final)` : String(e.index), e.tensor, pct(e.placementFraction, 1), formatCount(Math.round(e.cumulativeFlops)), pct(e.flopsFraction, 1),
    e.head === null ? 'the model\'s classifier' : describeHead(e.head), pct(e.valAccuracy),
  ]);
  const t = r.training;
  return [
    `attached ${last} exit${last === 1 ? '' : 's'} to ${r.model}, trained on ${r.dataset} (${t.trainImages} train / ${t.valImages} val images, ${t.epochs} epochs` +
      `${t.distill === null ? '' : ', with self-distillation'}) in ${formatDuration(t.seconds)} (features cached in ${formatDuration(t.cacheSeconds)})`,
    `heads: ${pct(r.heads.flopsFraction)} of the model's FLOPs (budget ${pct(r.heads.budget, 0)})${r.heads.withinBudget ? '' : ' — over budget even with the cheapest heads'}`,
    ...r.heads.adjustments.map((a) => `  ${a}`),
    '',
    formatTable(['exit', 'tensor', 'placed at', 'FLOPs', 'of full', 'head', 'val acc'], rows),
    '',
    `bundle: ${r.bundle}  (tune a policy with: exitwise tune ${r.bundle})`,
  ].join('\n');
}

function describeHead(config: HeadConfig): string {
  const { kind, ...options } = config;
  const text = Object.entries(options).map(([k, v]) => `${k} ${String(v)}`).join(', ');
  return text === '' ? kind : `${kind} (${text})`;
}

function usage(message: string, hint = 'Run `exitwise attach --help` for the options.'): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer ≥ 1.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = fractionOrNumber(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a number > 0.');
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0.');
  return n;
}

/** `0.5` or `1/255`. */
function fractionOrNumber(value: string): number {
  const parts = value.split('/');
  const n = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number such as 0.5 or 1/255.');
  return n;
}

/** `0.1307` or `0.485,0.456,0.406`. */
function numberList(value: string): number[] {
  const numbers = value.split(',').map((p) => Number(p.trim()));
  if (numbers.length === 0 || numbers.some((n) => !Number.isFinite(n))) throw new InvalidArgumentError('expected a number or comma-separated numbers.');
  return numbers;
}
