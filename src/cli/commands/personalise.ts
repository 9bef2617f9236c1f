/**
 * `exitwise personalise BUNDLE (--data PATH | --dataset D --classes 3,5,7) --out BUNDLE`: the
 * bundle's early exits retrained on one user's unlabelled images, with the final exit's
 * predictions as pseudo-labels (src/train/heads-only/personalise.ts). `--dataset D --classes`
 * simulates a user who only meets those classes: their training images, labels ignored; the
 * test images of the same classes then show what personalisation buys on unseen data.
 * Progress goes to stderr; stdout holds only the result (one JSON document with --json).
 */
import { basename, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { bundleSplitData } from '../../bundle/data.ts';
import { type Bundle, loadBundle } from '../../bundle/io.ts';
import type { Dataset } from '../../data/dataset.ts';
import { DATASETS, loadDataset } from '../../data/registry.ts';
import { ExitwiseError } from '../../errors.ts';
import { type PersonaliseReport, PersonaliseReportSchema } from '../../schemas/personalise.ts';
import { HEADS_ONLY_DEFAULTS } from '../../train/heads-only/config.ts';
import type { HeadsOnlyData } from '../../train/heads-only/features.ts';
import { DEFAULT_USER_VAL_FRACTION, type PersonaliseConfig, personaliseBundle, savePersonalisedBundle, type UserData } from '../../train/heads-only/personalise.ts';
import { createHeadsOnlyProgressPrinter } from '../../train/heads-only/progress.ts';
import { readUserImages } from '../../train/heads-only/user-images.ts';
import { formatDuration } from '../../train/progress.ts';
import { formatCount, formatTable, printJson } from '../output.ts';
import { headsTrainingOf, nonNegativeInt, positiveInt, positiveNumber } from './attach.ts';
import { withStopSignal } from '../interrupt.ts';

interface PersonaliseFlags {
  out: string;
  data?: string;
  dataset?: string;
  classes?: string;
  datasetDir?: string;
  distill?: boolean;
  epochs?: number;
  batch?: number;
  lr?: number;
  valFraction?: number;
  seed?: number;
  limit?: number;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

export function personaliseCommand(program: Command): void {
  program
    .command('personalise')
    .description('Retrain a bundle\'s early exits on one user\'s unlabelled images, with the final exit\'s predictions as labels; writes a new bundle.')
    .argument('<bundle>', 'bundle folder (NAME.exitwise/); it is not changed')
    .requiredOption('--out <dir>', 'personalised bundle folder to write; must not exist')
    .option('--data <path>', 'the user\'s images: a folder of PNGs (searched recursively) or an IDX image file, at the bundle\'s input size')
    .option('--dataset <name>', `simulate a user from a dataset (${Object.keys(DATASETS).join(', ')}): its training images of --classes, labels ignored`)
    .option('--classes <list>', 'with --dataset: the user\'s classes, as indices or names ("3,5,7")')
    .option('--dataset-dir <dir>', 'folder holding the dataset\'s IDX files (the only place looked at when given)')
    .option('--distill', `also distil from the final exit's softened predictions (α ${HEADS_ONLY_DEFAULTS.distill.alpha}, T ${HEADS_ONLY_DEFAULTS.distill.temperature})`)
    .option('--epochs <n>', `epochs of head training (default ${HEADS_ONLY_DEFAULTS.epochs})`, positiveInt)
    .option('--batch <n>', `batch size (default ${HEADS_ONLY_DEFAULTS.batchSize})`, positiveInt)
    .option('--lr <rate>', `peak learning rate (AdamW, cosine decay; default ${HEADS_ONLY_DEFAULTS.lr})`, positiveNumber)
    .option('--val-fraction <f>', `fraction of the user's images held out to compare before and after (default ${DEFAULT_USER_VAL_FRACTION})`, positiveNumber)
    .option('--seed <n>', 'seed of the hold-out split and the batch order (default 0)', nonNegativeInt)
    .option('--limit <n>', 'use the first n of the user\'s images only', positiveInt)
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core)', positiveInt)
    .option('--json', 'print one JSON document (schema: PersonaliseReportSchema)')
    .option('--quiet', 'no progress output')
    .addHelpText('after', [
      '',
      'The backbone and the final exit are not changed: the early exits learn to agree sooner with the',
      'final exit on this user\'s images. Calibration temperatures of the early exits are reset and the',
      'policy is dropped; tune the new bundle again.',
      '',
      'Examples:',
      '  $ exitwise personalise fashion.exitwise --dataset fashion-mnist --classes 3,5,7 --out fashion-357.exitwise',
      '  $ exitwise personalise digits.exitwise --data my-digits/ --distill --out my-digits.exitwise --json',
    ].join('\n'))
    .action(async (bundlePath: string, flags: PersonaliseFlags) => {
      const report = await withStopSignal(flags.quiet === true ? null : 'stopping after this step (nothing is written)…', (signal) => runPersonalise(bundlePath, flags, signal));
      if (flags.json === true) printJson(PersonaliseReportSchema, report);
      else process.stdout.write(`${formatPersonalise(report)}\n`);
    });
}

/** The user's images and, for a simulated user, the test images of their classes. */
interface UserSource {
  user: UserData;
  test?: HeadsOnlyData;
  report: Omit<PersonaliseReport['user'], 'trainImages' | 'valImages'>;
  /** The provenance dataset of the personalised bundle. */
  dataset: string;
}

async function runPersonalise(bundlePath: string, flags: PersonaliseFlags, signal: AbortSignal): Promise<PersonaliseReport> {
  if (resolve(flags.out) === resolve(bundlePath)) throw usage('--out is the bundle being personalised', 'Write the personalised bundle to another folder: the original is never overwritten.');
  if (existsSync(flags.out)) throw new ExitwiseError('EXW_IO', `${flags.out} already exists`, { hint: 'Choose another --out folder: personalise never overwrites a bundle.' });
  if ((flags.data === undefined) === (flags.dataset === undefined)) throw usage('give either --data (the user\'s images) or --dataset with --classes (a simulated user)');
  if (flags.dataset !== undefined && flags.classes === undefined) throw usage('--dataset needs --classes: the classes the simulated user has');
  if (flags.data !== undefined && flags.classes !== undefined) throw usage('--classes goes with --dataset; --data images are unlabelled');
  const bundle = loadBundle(bundlePath);
  const source = flags.dataset !== undefined ? await simulatedUser(bundle, flags.dataset, flags) : imagesUser(bundle, flags.data!, flags);
  const config: PersonaliseConfig = {
    ...(flags.distill === true ? { distill: {} } : {}), ...(flags.epochs === undefined ? {} : { epochs: flags.epochs }),
    ...(flags.batch === undefined ? {} : { batchSize: flags.batch }), ...(flags.lr === undefined ? {} : { lr: flags.lr }),
    ...(flags.valFraction === undefined ? {} : { valFraction: flags.valFraction }), ...(flags.seed === undefined ? {} : { seed: flags.seed }),
  };
  const result = await personaliseBundle(bundle, source.user, config, {
    signal, ...(source.test === undefined ? {} : { test: source.test }), ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    ...(flags.quiet === true ? {} : { onProgress: createHeadsOnlyProgressPrinter() }),
  });
  const manifest = savePersonalisedBundle(flags.out, bundle.manifest, result.multiExit, source.dataset);
  const full = manifest.exits.at(-1)!.cumulativeFlops;
  return {
    bundle: bundlePath, out: flags.out,
    user: { ...source.report, trainImages: result.training.trainSamples, valImages: result.training.valSamples },
    testImages: result.test?.samples ?? null,
    exits: manifest.exits.map((e, k) => ({
      index: k, cumulativeFlops: e.cumulativeFlops, flopsFraction: full > 0 ? e.cumulativeFlops / full : 1,
      userVal: { before: result.userVal.before[k]!, after: result.userVal.after[k]! },
      test: result.test === null ? null : { before: result.test.before[k]!, after: result.test.after[k]! },
      history: result.training.exits[k]?.history ?? [],
    })),
    training: headsTrainingOf(result.training),
  };
}

/** A user who only meets `--classes` of a dataset: its training images of them (first `--limit`), and its test images of them. */
async function simulatedUser(bundle: Bundle, name: string, flags: PersonaliseFlags): Promise<UserSource> {
  const dataset = await loadDataset(name, flags.datasetDir === undefined ? {} : { dataDir: flags.datasetDir });
  const classes = parseClasses(flags.classes!, dataset);
  const test = bundleSplitData(bundle.manifest, dataset, 'test'); // also checks the bundle fits the dataset
  const wanted = new Set(classes);
  const ofClasses = (labels: Uint8Array, count: number) => Int32Array.from({ length: count }, (_, i) => i).filter((i) => wanted.has(labels[i]!));
  const chosen = ofClasses(dataset.train.labels, dataset.train.count).subarray(0, flags.limit ?? Infinity);
  const size = test.inputDims.reduce((n, d) => n * d, 1);
  const images = new Uint8Array(chosen.length * size);
  chosen.forEach((sample, i) => images.set(dataset.train.images.subarray(sample * size, (sample + 1) * size), i * size));
  return {
    user: { images, count: chosen.length, labels: Uint8Array.from(chosen, (i) => dataset.train.labels[i]!) },
    test: { images: test.images, labels: test.labels, normalize: test.normalize, inputDims: test.inputDims, indices: ofClasses(test.labels, test.count) },
    report: { source: 'dataset', dataset: dataset.name, classes, path: null, images: chosen.length },
    dataset: dataset.name,
  };
}

/** A real user's images: a PNG folder or an IDX file, unlabelled. */
function imagesUser(bundle: Bundle, path: string, flags: PersonaliseFlags): UserSource {
  const { manifest } = bundle;
  const inputDims = manifest.input.shape.slice(1);
  if (!inputDims.every((d): d is number => typeof d === 'number')) throw usage(`the bundle's input [${manifest.input.shape.join(', ')}] has no fixed image size`, 'Personalise bundles of image models.');
  const read = readUserImages(path, { inputDims, layout: manifest.input.preprocessing?.layout ?? 'NCHW' });
  const count = Math.min(read.count, flags.limit ?? Infinity);
  const size = inputDims.reduce((n, d) => n * d, 1);
  return {
    user: { images: read.images.subarray(0, count * size), count },
    report: { source: 'images', dataset: null, classes: null, path, images: count },
    dataset: `user:${basename(resolve(path))}`,
  };
}

/** `3,5,7` or class names, each once, as class indices. */
function parseClasses(value: string, dataset: Dataset): number[] {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const classes = parts.map((p) => {
    const byName = dataset.classes.findIndex((c) => c.toLowerCase() === p.toLowerCase());
    const n = /^\d+$/.test(p) ? Number(p) : byName;
    if (!(n >= 0 && n < dataset.classes.length)) {
      throw usage(`--classes: "${p}" is not a class of ${dataset.name}`, `Give indices 0–${dataset.classes.length - 1} or names: ${dataset.classes.map((c, i) => `${i} ${c}`).join(', ')}.`);
    }
    return n;
  });
  if (classes.length === 0) throw usage('--classes is empty', 'Give the simulated user\'s classes, e.g. 3,5,7.');
  if (new Set(classes).size !== classes.length) throw usage(`--classes lists a class twice (${value})`, 'List each class once.');
  return classes;
}

function formatPersonalise(r: PersonaliseReport): string {
  const pct = (x: number | null, digits = 1) => (x === null ? '–' : `${(100 * x).toFixed(digits)}%`);
  const change = (before: number | null, after: number | null) => `${pct(before)} → ${pct(after)}`;
  const last = r.exits.length - 1;
  const labelled = r.exits[0]!.userVal.before.accuracy !== null;
  const header = ['exit', 'FLOPs', 'of full', 'agrees with final (user val)', ...(labelled ? ['accuracy (user val)'] : []), ...(r.testImages === null ? [] : ['accuracy (test, user classes)'])];
  const rows = r.exits.map((e) => [
    e.index === last ? `${e.index} (final)` : String(e.index), formatCount(Math.round(e.cumulativeFlops)), pct(e.flopsFraction),
    change(e.userVal.before.agreement, e.userVal.after.agreement),
    ...(labelled ? [change(e.userVal.before.accuracy, e.userVal.after.accuracy)] : []),
    ...(e.test === null ? [] : [change(e.test.before.accuracy, e.test.after.accuracy)]),
  ]);
  const u = r.user;
  const who = u.source === 'dataset' ? `a simulated user: ${u.dataset} classes ${u.classes!.join(', ')}` : `the images in ${u.path}`;
  const t = r.training;
  return [
    `personalised ${r.bundle} on ${who} (${u.trainImages} train / ${u.valImages} held out${r.testImages === null ? '' : `; ${r.testImages} test images of those classes`})`,
    `  pseudo-labels from the final exit${t.distill === null ? '' : ', with distillation'}, ${t.epochs} epochs in ${formatDuration(t.seconds)}`,
    '',
    formatTable(header, rows),
    '',
    `bundle: ${r.out}  (early-exit calibration reset and policy dropped: tune it with: exitwise tune ${r.out})`,
  ].join('\n');
}

function usage(message: string, hint = 'Run `exitwise personalise --help` for the options.'): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}
