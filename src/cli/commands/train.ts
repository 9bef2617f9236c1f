/**
 * `exitwise train --dataset D --out DIR [options]`: trains a backbone on a dataset (src/train/trainer.ts),
 * writes the run folder (model.onnx, checkpoints/, run.json) and prints the final metrics.
 * Progress goes to stderr; stdout holds only the result (one JSON document with --json).
 */
import { type Command, Option } from 'commander';
import { backboneKinds } from '../../nn/registry.ts';
import type { BackboneSpec } from '../../nn/types.ts';
import type { OptimizerConfig } from '../../train/optimizers/types.ts';
import { DATASETS } from '../../data/registry.ts';
import type { DistillTeacher } from '../../exits/distill-loss.ts';
import { HEAD_TEMPLATES, type HeadConfig } from '../../exits/heads/registry.ts';
import type { PlacementSpec } from '../../exits/placement.ts';
import { DEFAULT_DISTILLATION, type ExitsConfigInput, TRAINING_STRATEGIES, type TrainingStrategy } from '../../train/exits-config.ts';
import { ExitwiseError } from '../../errors.ts';
import { TrainReportSchema } from '../../schemas/train.ts';
import { createHeadsOnlyProgressPrinter } from '../../train/heads-only/progress.ts';
import { createProgressPrinter, formatDuration } from '../../train/progress.ts';
import { DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_LR, type TrainConfigInput } from '../../train/run-config.ts';
import { DEFAULT_CHECKPOINT_SECONDS, resumeTraining, train, type TrainOptions, type TrainResult } from '../../train/trainer.ts';
import { printJson } from '../output.ts';
import { nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../args.ts';
import { withStopSignal } from '../interrupt.ts';

interface TrainFlags {
  dataset?: string;
  arch?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  optimizer?: string;
  weightDecay?: number;
  warmup?: number;
  clip?: number;
  augment: boolean;
  valFraction?: number;
  seed?: number;
  limit?: number;
  threads?: number;
  data?: string;
  out: string;
  resume?: boolean;
  checkpointEvery: number;
  exits?: string;
  head?: string;
  strategy?: string;
  lossWeights?: string;
  distillAlpha?: number;
  distillTemperature?: number;
  teacher?: string;
  json?: boolean;
  quiet?: boolean;
}

export function trainCommand(program: Command): void {
  program
    .command('train')
    .description('Train a backbone on a dataset: checkpoints, per-epoch validation, the inference model and its test accuracy.')
    .option('--dataset <name>', `dataset: ${Object.keys(DATASETS).join(', ')} (required unless --resume)`)
    .option('--arch <kind|json>', `architecture: ${backboneKinds().join(', ')} (default resnet), or a JSON backbone spec such as '{"kind":"resnet","width":32}'`)
    .option('--epochs <n>', `epochs (default ${DEFAULT_EPOCHS})`, positiveInt)
    .option('--batch <n>', `batch size (default ${DEFAULT_BATCH_SIZE})`, positiveInt)
    .option('--lr <rate>', `peak learning rate of the cosine schedule (default ${DEFAULT_LR.sgd} with sgd, ${DEFAULT_LR.adamw} with adamw)`, positiveNumber)
    .option('--optimizer <kind|json>', 'sgd (default: Nesterov momentum 0.9, weight decay 5e-4), adamw, or a JSON optimizer config')
    .option('--weight-decay <wd>', 'weight decay of the optimizer', nonNegativeNumber)
    .option('--warmup <epochs>', 'linear warmup length in epochs (default 1, or a tenth of a shorter run)', nonNegativeNumber)
    .option('--clip <norm>', 'clip gradients to this global L2 norm (default: no clipping)', positiveNumber)
    .option('--no-augment', 'train without augmentation (default: random shifts of ±2 px, plus flips for fashion-mnist)')
    .option('--val-fraction <f>', 'fraction of the training images held out for validation (default 0.1)', positiveNumber)
    .option('--seed <n>', 'seed of the split, shuffles and augmentation (default 0)', nonNegativeInt)
    .option('--limit <n>', 'train on the first n training images only (quick checks)', positiveInt)
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core)', positiveInt)
    .option('--data <dir>', 'folder holding the dataset\'s IDX files (the only place looked at when given)')
    .option('--exits <spec>', 'early exits: a count ("3", equidistant in FLOPs), FLOPs fractions ("0.2,0.5,0.7") or cut tensors ("stages.0.0,stages.1.0"); default 3 when --head or --strategy is given')
    .option('--head <kind|json>', `exit head: ${Object.keys(HEAD_TEMPLATES).join(', ')} (default conv-pool-linear, narrowed to keep all heads within 5% of the backbone's FLOPs), or a JSON head config`)
    .option('--strategy <name>', `how exits are trained: ${Object.entries(TRAINING_STRATEGIES).map(([k, v]) => `${k} (${v})`).join('; ')}. Default e2e`)
    .option('--loss-weights <w>', 'per-exit loss weights: uniform, depth (default: each exit\'s FLOPs fraction, final 1), increasing, or numbers "0.3,0.6,1,1" (final last)')
    .option('--distill-alpha <a>', `distill: weight of the label loss, in [0, 1] (default ${DEFAULT_DISTILLATION.alpha})`, nonNegativeNumber)
    .option('--distill-temperature <t>', `distill: softmax temperature (default ${DEFAULT_DISTILLATION.temperature})`, positiveNumber)
    .option('--teacher <which>', `distill: the teacher of each early exit, final or next (default ${DEFAULT_DISTILLATION.teacher})`)
    .requiredOption('--out <dir>', 'run folder: model.onnx, checkpoints/, run.json')
    .option('--resume', 'continue the run in --out from its latest checkpoint, with its saved settings')
    .addOption(new Option('--checkpoint-every <seconds>', 'checkpoint within an epoch at least this often').default(DEFAULT_CHECKPOINT_SECONDS).argParser(positiveNumber))
    .option('--json', 'print one JSON document with the final metrics (schema: TrainReportSchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'Ctrl-C stops after the current step and saves a checkpoint; --resume continues exactly where it stopped.',
      '',
      'Examples:',
      '  $ exitwise train --dataset fashion-mnist --arch resnet --threads 2 --out runs/fashion',
      '  $ exitwise train --dataset fashion-mnist --exits 3 --strategy distill --out runs/fashion-exits   # writes runs/fashion-exits/model.exitwise/',
      '  $ exitwise train --dataset mnist --arch cnn --epochs 2 --limit 10000 --out runs/quick --json',
      '  $ exitwise train --out runs/fashion --resume',
    ].join('\n'))
    .action(async (flags: TrainFlags) => {
      const notice = flags.quiet === true ? null : 'stopping after this step to save a checkpoint (Ctrl-C again to quit at once)…';
      const result = await withStopSignal(notice, (signal) => {
        const options: TrainOptions = {
          out: flags.out,
          checkpointEvery: { seconds: flags.checkpointEvery },
          signal,
          ...(flags.threads === undefined ? {} : { threads: flags.threads }),
          ...(flags.data === undefined ? {} : { dataDir: flags.data }),
          ...(flags.quiet === true ? {} : { onProgress: createProgressPrinter(), onHeadsProgress: createHeadsOnlyProgressPrinter() }),
        };
        const given = configFromFlags(flags);
        if (flags.resume === true) return resumeTraining({ ...options, expect: given });
        if (given.dataset === undefined) throw usage('--dataset is required for a new run');
        return train({ ...given, dataset: given.dataset }, options);
      });
      if (flags.json === true) printJson(TrainReportSchema, { ...result, config: { ...result.config } });
      else process.stdout.write(`${formatResult(result)}\n`);
    });
}

/**
 * The config fields the flags set, and only those: on --resume they are checked against the
 * saved config, so a default must not pose as a choice (defaults live in run-config.ts).
 */
function configFromFlags(flags: TrainFlags): Partial<TrainConfigInput> {
  const config: Partial<TrainConfigInput> = {};
  if (flags.dataset !== undefined) config.dataset = flags.dataset;
  if (flags.arch !== undefined) config.arch = parseArch(flags.arch);
  if (flags.epochs !== undefined) config.epochs = flags.epochs;
  if (flags.batch !== undefined) config.batchSize = flags.batch;
  const optimizer = flags.optimizer === undefined ? undefined : parseKindOrJson(flags.optimizer, '--optimizer', ['sgd', 'adamw']);
  if (optimizer !== undefined || flags.weightDecay !== undefined) {
    // Checked with the rest of the config by resolveTrainConfig.
    config.optimizer = { ...optimizer, ...(flags.weightDecay === undefined ? {} : { weightDecay: flags.weightDecay }) } as Partial<OptimizerConfig>;
  }
  if (flags.lr !== undefined || flags.warmup !== undefined) {
    config.schedule = { ...(flags.lr === undefined ? {} : { lr: flags.lr }), ...(flags.warmup === undefined ? {} : { warmup: flags.warmup }) };
  }
  if (flags.clip !== undefined) config.clip = { kind: 'norm', max: flags.clip };
  if (!flags.augment) config.augment = {};
  if (flags.valFraction !== undefined) config.valFraction = flags.valFraction;
  if (flags.seed !== undefined) config.seed = flags.seed;
  if (flags.limit !== undefined) config.limit = flags.limit;
  const exits = exitsFromFlags(flags);
  if (exits !== undefined) config.exits = exits;
  return config;
}

/** The exits config the exit flags set, or undefined when none is given (a single-exit run). */
function exitsFromFlags(flags: TrainFlags): ExitsConfigInput | undefined {
  const distillFlags = flags.distillAlpha !== undefined || flags.distillTemperature !== undefined || flags.teacher !== undefined;
  if (flags.exits === undefined && flags.head === undefined && flags.strategy === undefined && flags.lossWeights === undefined && !distillFlags) return undefined;
  const exits: ExitsConfigInput = {};
  if (flags.exits !== undefined) exits.placement = parsePlacement(flags.exits);
  if (flags.head !== undefined) exits.head = parseKindOrJson(flags.head, '--head', Object.keys(HEAD_TEMPLATES)) as unknown as HeadConfig;
  if (flags.strategy !== undefined) {
    if (!Object.hasOwn(TRAINING_STRATEGIES, flags.strategy)) throw usage(`--strategy "${flags.strategy}" is not one of ${Object.keys(TRAINING_STRATEGIES).join(', ')}`, 'Exits on a model trained elsewhere: `exitwise attach MODEL.onnx …`.');
    exits.strategy = flags.strategy as TrainingStrategy;
  }
  if (flags.lossWeights !== undefined) exits.weights = parseWeights(flags.lossWeights);
  if (distillFlags) {
    if (exits.strategy !== 'distill') throw usage('--distill-alpha, --distill-temperature and --teacher apply to --strategy distill');
    if (flags.teacher !== undefined && flags.teacher !== 'final' && flags.teacher !== 'next') throw usage(`--teacher "${flags.teacher}" is not final or next`);
    exits.distill = {
      ...(flags.distillAlpha === undefined ? {} : { alpha: flags.distillAlpha }),
      ...(flags.distillTemperature === undefined ? {} : { temperature: flags.distillTemperature }),
      ...(flags.teacher === undefined ? {} : { teacher: flags.teacher as DistillTeacher }),
    };
  }
  return exits;
}

/** "3" → a count; "0.2,0.5" → FLOPs fractions; anything else → cut tensor names. */
function parsePlacement(value: string): PlacementSpec {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw usage('--exits is empty', 'Give a count, FLOPs fractions or tensor names.');
  const numbers = parts.map(Number);
  if (parts.length === 1 && Number.isInteger(numbers[0]) && numbers[0]! >= 1) return { by: 'count', count: numbers[0]! };
  if (numbers.every((n) => Number.isFinite(n))) return { by: 'fractions', fractions: numbers };
  return { by: 'tensors', tensors: parts };
}

function parseWeights(value: string): NonNullable<ExitsConfigInput['weights']> {
  if (value === 'uniform' || value === 'depth' || value === 'increasing') return value;
  const numbers = value.split(',').map((p) => Number(p.trim()));
  if (numbers.length < 2 || numbers.some((n) => !Number.isFinite(n) || n < 0)) {
    throw usage(`--loss-weights "${value}" is neither a weighting name nor a list of non-negative numbers`, 'Give uniform, depth, increasing, or one weight per exit such as "0.3,0.6,1,1" (final last).');
  }
  return numbers;
}

function parseArch(value: string): BackboneSpec {
  return parseKindOrJson(value, '--arch', backboneKinds()) as unknown as BackboneSpec;
}

/** A registered kind name → `{ kind }`; text starting with `{` → the parsed JSON object. */
function parseKindOrJson(value: string, flag: string, kinds: string[]): { kind: string } & Record<string, unknown> {
  const text = value.trim();
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as { kind: string };
    } catch (cause) {
      throw usage(`${flag} ${value} is not valid JSON: ${(cause as Error).message}`, `Give one of ${kinds.join(', ')}, or a JSON object with a "kind".`);
    }
  }
  if (!kinds.includes(text)) throw usage(`${flag} "${value}" is not one of ${kinds.join(', ')}`, `Give one of ${kinds.join(', ')}, or a JSON object with a "kind".`);
  return { kind: text };
}

function formatResult(r: TrainResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  return [
    `trained ${r.config.arch.kind} on ${r.config.dataset}: ${r.epochs} epochs in ${formatDuration(r.seconds)}`,
    `  val accuracy   ${pct(r.valAccuracy)}  (loss ${r.valLoss.toFixed(4)})`,
    `  test accuracy  ${pct(r.testAccuracy)}  (loss ${r.testLoss.toFixed(4)})`,
    ...(r.exitTestAccuracy === undefined ? [] : [`  per exit test  ${r.exitTestAccuracy.map(pct).join('  ')}  (final last)`]),
    `  model          ${r.model}`,
    ...(r.bundle === undefined ? [] : [`  bundle         ${r.bundle}  (next: exitwise eval ${r.bundle} --dataset ${r.config.dataset})`]),
    `  run folder     ${r.out}  (run.json, checkpoints/)`,
  ].join('\n');
}

function usage(message: string, hint = 'Run `exitwise train --help` for the options.'): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}




