/**
 * Saving and loading bundles. A bundle is written whole into a temporary sibling folder and
 * renamed into place, so a reader (or a run killed mid-write) sees the old bundle or the new
 * one, never a mix. Loading validates the manifest, then the files, then the models against it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ExitwiseError, isExitwiseError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { loadModel, saveModel } from '../onnx/model-io.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import type { BundleManifest, BundleManifestInput } from '../schemas/bundle.ts';
import { bundleError, checkSegmentModel, parseManifest } from './manifest.ts';

/** The manifest's file name inside the bundle folder. */
export const MANIFEST_FILE = 'manifest.json';

/** A bundle in memory: the manifest and the models it names, in order. */
export interface Bundle {
  manifest: BundleManifest;
  stages: ModelProto[];
  exits: ModelProto[];
}

export interface SaveBundleOptions {
  /** Replace an existing folder at `dir` (default false: `EXW_IO` if it exists). */
  overwrite?: boolean;
}

/**
 * Writes a bundle folder (conventionally `NAME.exitwise/`): `manifest.json` and every model at
 * the path the manifest gives it. The manifest is validated and checked against the models
 * first (`EXW_BUNDLE`); an existing folder is replaced only with `overwrite`.
 *
 * @example
 * const segments = toBundleSegments(multiExit);
 * const manifest = makeManifest(segments, { classes, provenance: { dataset: 'mnist', strategy: 'joint' } });
 * saveBundle('mnist.exitwise', { manifest, stages: segments.stages.map((s) => s.model), exits: segments.exits.map((e) => e.model) });
 */
export function saveBundle(dir: string, bundle: { manifest: BundleManifestInput; stages: readonly ModelProto[]; exits: readonly ModelProto[] }, options: SaveBundleOptions = {}): void {
  const manifest = parseManifest(bundle.manifest, 'the manifest to save');
  checkModels(manifest, bundle.stages, bundle.exits);
  const target = resolve(dir);
  if (existsSync(target) && options.overwrite !== true) {
    throw new ExitwiseError('EXW_IO', `${dir} already exists`, { hint: 'Choose another folder, or pass { overwrite: true } to replace it.' });
  }
  const stamp = `${process.pid}-${Date.now()}`;
  const temp = join(dirname(target), `.${basename(target)}.${stamp}.tmp`);
  const old = join(dirname(target), `.${basename(target)}.${stamp}.old`);
  try {
    mkdirSync(temp, { recursive: true });
    manifest.stages.forEach((s, k) => saveModel(join(temp, s.file), bundle.stages[k]!));
    manifest.exits.forEach((e, k) => saveModel(join(temp, e.file), bundle.exits[k]!));
    // The manifest last: a folder with a manifest has every file it names.
    writeFileAtomic(join(temp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(target)) renameSync(target, old);
    renameSync(temp, target);
    rmSync(old, { recursive: true, force: true });
  } catch (cause) {
    rmSync(temp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(target)) renameSync(old, target);
    if (isExitwiseError(cause)) throw cause;
    throw new ExitwiseError('EXW_IO', `cannot write bundle ${dir}: ${(cause as Error).message}`, { hint: 'Check that the parent folder is writable and the disk has space.', cause });
  }
}

/**
 * Reads the manifest of a bundle folder and checks that every file it names exists, without
 * loading the models (runtimes open sessions from the paths). `EXW_BUNDLE` for a missing or
 * invalid manifest, a newer bundle version, or missing files (all listed).
 */
export function readManifest(dir: string): BundleManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw bundleError(`no bundle folder at ${dir}`, 'Check the path: a bundle is a folder NAME.exitwise/ holding manifest.json.');
  if (!existsSync(path)) throw bundleError(`${dir} holds no ${MANIFEST_FILE}`, 'A bundle folder is written by saveBundle (or `exitwise export`); this folder is not one, or its write did not finish.');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw bundleError(`${path} is not valid JSON: ${(cause as Error).message}`, 'The manifest is damaged; re-export the bundle.', cause);
  }
  const manifest = parseManifest(json, path);
  const missing = [...manifest.stages, ...manifest.exits].map((s) => s.file).filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw bundleError(`${dir} is missing ${missing.length === 1 ? 'a file' : `${missing.length} files`} its manifest names: ${missing.join(', ')}`, 'Copy the whole bundle folder, or re-export it.');
  return manifest;
}

/**
 * Loads a bundle: the validated manifest and its models, each checked to have the inputs and
 * outputs the manifest names (`EXW_BUNDLE` otherwise; undecodable models give `EXW_MODEL_DECODE`).
 *
 * @example
 * const { manifest, stages, exits } = loadBundle('mnist.exitwise');
 * manifest.exits.map((e) => e.cumulativeFlops);
 */
export function loadBundle(dir: string): Bundle {
  const manifest = readManifest(dir);
  const stages = manifest.stages.map((s) => loadModel(join(dir, s.file)));
  const exits = manifest.exits.map((e) => loadModel(join(dir, e.file)));
  checkModels(manifest, stages, exits);
  return { manifest, stages, exits };
}

/**
 * Rewrites a bundle's `manifest.json` only, atomically (a reader sees the old manifest or the new
 * one): `update` gets the current validated manifest and returns the new one, which is validated
 * in turn. For what tools learn after export — calibration temperatures, the tuned policy,
 * latency profiles, provenance. Fields tied to the model files (input, stages, exits' files,
 * tensors and costs, the class count) must not change: `EXW_BUNDLE` if they do, since the models
 * are not rewritten. Concurrent updates are not merged: the last writer wins.
 *
 * @example
 * updateManifest('mnist.exitwise', (m) => ({ ...m, policy: tuned.policy.toJSON() }));
 */
export function updateManifest(dir: string, update: (manifest: BundleManifest) => BundleManifestInput): BundleManifest {
  const current = readManifest(dir);
  const next = parseManifest(update(structuredClone(current)), 'the updated manifest');
  const bound = (m: BundleManifest) => JSON.stringify({
    input: m.input, stages: m.stages, classes: m.task.classes.length,
    exits: m.exits.map(({ index, file, input, output, params, flops, cumulativeFlops }) => ({ index, file, input, output, params, flops, cumulativeFlops })),
  });
  if (bound(next) !== bound(current)) {
    throw bundleError(`the update of ${dir}/${MANIFEST_FILE} changes fields tied to the model files (input, stages, exit files, tensors, costs or the class count)`, 'updateManifest changes calibration, policy, profiles and provenance only; re-export the bundle to change its models.');
  }
  writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

function checkModels(manifest: BundleManifest, stages: readonly ModelProto[], exits: readonly ModelProto[]): void {
  if (stages.length !== manifest.stages.length || exits.length !== manifest.exits.length) {
    throw bundleError(`${stages.length} stage and ${exits.length} exit models for a manifest of ${manifest.stages.length} stages and ${manifest.exits.length} exits`, 'Pass one model per manifest entry, in order.');
  }
  manifest.stages.forEach((s, k) => checkSegmentModel(stages[k]!, s));
  manifest.exits.forEach((e, k) => checkSegmentModel(exits[k]!, { file: e.file, inputs: [e.input], outputs: [e.output], classes: manifest.task.classes.length }));
}
