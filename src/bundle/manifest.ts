/**
 * Bundle manifests: made from segments, parsed with their version checked first, and checked
 * for consistency (the stages chain, each exit reads its stage) and against the models.
 */
import { ExitwiseError } from '../errors.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { shapeFromValueInfo } from '../onnx/shapes/index.ts';
import { dataTypeName } from '../onnx/tensor-data.ts';
import {
  BUNDLE_FORMAT, BUNDLE_VERSION, type BundleInput, type BundleSplit, type BundleManifest, BundleManifestSchema, type BundleManifestInput,
} from '../schemas/bundle.ts';
import { VERSION } from '../version.ts';
import type { BundleSegments } from './segments.ts';

/** Where segment K's model lives in the bundle folder. */
export const stageFile = (k: number): string => `stages/stage-${k}.onnx`;
export const exitFile = (k: number): string => `exits/exit-${k}.onnx`;

/** What the segments cannot tell: the task, preprocessing, calibration, policy and provenance. */
export interface ManifestInfo {
  /** Class names in logit order. */
  classes: readonly string[];
  preprocessing?: BundleInput['preprocessing'];
  /** Calibration temperature per exit (default 1 each). */
  temperatures?: readonly number[];
  policy?: BundleManifest['policy'];
  profiles?: BundleManifest['profiles'];
  provenance: { dataset: string; strategy: string; split?: BundleSplit; date?: Date };
}

/**
 * The manifest of a bundle of these segments: files at `stages/stage-K.onnx` and
 * `exits/exit-K.onnx`, boundaries and costs from the segments, cumulative FLOPs per exit (stages
 * and heads 0..K: every head runs on a sample's way to a later exit).
 */
export function makeManifest(segments: BundleSegments, info: ManifestInfo): BundleManifest {
  const first = segments.stages[0]?.model.graph;
  const inputName = segments.stages[0]?.inputs[0];
  const declared = first?.input.find((v) => v.name === inputName);
  const shape = declared === undefined ? undefined : shapeFromValueInfo(declared);
  if (shape === undefined || shape.dims === 'unknown') throw bundleError('stage 0 declares no input with a known shape', 'Make the segments with toBundleSegments.');
  let reached = 0;
  const manifest: BundleManifestInput = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    task: { kind: 'classification', classes: [...info.classes] },
    input: {
      name: inputName!,
      shape: shape.dims,
      dtype: dataTypeName(shape.dataType) as BundleInput['dtype'],
      ...(info.preprocessing === undefined ? {} : { preprocessing: info.preprocessing }),
    },
    stages: segments.stages.map((s, k) => ({ index: k, file: stageFile(k), inputs: s.inputs, outputs: s.outputs, params: s.params, flops: s.flops })),
    exits: segments.exits.map((e, k) => {
      // A sample leaving at exit k ran stages 0..k and every head 0..k on the way (each one said "go on").
      reached += (segments.stages[k]?.flops ?? 0) + e.flops;
      return {
        index: k, file: exitFile(k), input: e.inputs[0]!, output: e.outputs[0]!, params: e.params, flops: e.flops,
        cumulativeFlops: reached, temperature: info.temperatures?.[k] ?? 1,
      };
    }),
    ...(info.policy === undefined ? {} : { policy: info.policy }),
    ...(info.profiles === undefined ? {} : { profiles: info.profiles }),
    provenance: {
      dataset: info.provenance.dataset,
      ...(info.provenance.split === undefined ? {} : { split: info.provenance.split }),
      strategy: info.provenance.strategy,
      date: (info.provenance.date ?? new Date()).toISOString(),
      exitwiseVersion: VERSION,
    },
  };
  return parseManifest(manifest, 'the new manifest');
}

/**
 * Validates a manifest read from JSON. The format and version are checked first, so a manifest
 * from a newer exitwise says "upgrade" rather than listing fields this version does not know.
 * Then the schema (every issue with its path), then consistency: stage K's first output is what
 * exit K and stage K+1 read, one exit per stage, indices in order. All errors are `EXW_BUNDLE`.
 */
export function parseManifest(json: unknown, source = 'manifest.json'): BundleManifest {
  const header = (typeof json === 'object' && json !== null ? json : {}) as { format?: unknown; version?: unknown };
  if (header.format !== BUNDLE_FORMAT) {
    throw bundleError(`${source} is not an exitwise bundle manifest (format ${JSON.stringify(header.format)}, expected "${BUNDLE_FORMAT}")`, 'Point at a folder written by exitwise (NAME.exitwise/).');
  }
  if (typeof header.version !== 'number' || !Number.isInteger(header.version) || header.version < 1) {
    throw bundleError(`${source} has bundle version ${JSON.stringify(header.version)}, not a positive integer`, 'The manifest is damaged; re-export the bundle.');
  }
  if (header.version > BUNDLE_VERSION) {
    throw bundleError(`${source} was made by a newer exitwise (bundle version ${header.version}; exitwise ${VERSION} reads version ${BUNDLE_VERSION})`, 'Upgrade exitwise to read this bundle.');
  }
  const parsed = BundleManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length === 0 ? '(root)' : i.path.join('.')}: ${i.message}`);
    throw bundleError(`${source} is invalid: ${issues.join('; ')}`, 'Fix the listed fields, or re-export the bundle.');
  }
  checkConsistency(parsed.data, source);
  return parsed.data;
}

function checkConsistency(m: BundleManifest, source: string): void {
  const fail = (what: string): never => { throw bundleError(`${source}: ${what}`, 'The manifest does not describe a chain of stages and exits; re-export the bundle.'); };
  if (m.stages.length !== m.exits.length) fail(`${m.stages.length} stages but ${m.exits.length} exits; every stage K is followed by exit K`);
  m.stages.forEach((s, k) => {
    if (s.index !== k) fail(`stages[${k}].index is ${s.index}`);
    const feeds = k === 0 ? m.input.name : m.stages[k - 1]!.outputs[0]!;
    if (s.inputs[0] !== feeds) fail(`stage ${k} reads "${s.inputs[0]}" first, but ${k === 0 ? 'the bundle input' : `stage ${k - 1}'s output`} is "${feeds}"`);
  });
  m.exits.forEach((e, k) => {
    if (e.index !== k) fail(`exits[${k}].index is ${e.index}`);
    if (e.input !== m.stages[k]!.outputs[0]) fail(`exit ${k} reads "${e.input}", but stage ${k}'s output is "${m.stages[k]!.outputs[0]}"`);
  });
  const files = [...m.stages, ...m.exits].map((s) => s.file);
  const repeated = files.find((f, i) => files.indexOf(f) !== i);
  if (repeated !== undefined) fail(`file "${repeated}" is named twice`);
}

/**
 * Checks that a segment model has exactly the inputs and outputs the manifest names, in order,
 * and (for exits) logits as wide as the class list.
 */
export function checkSegmentModel(model: ModelProto, expected: { file: string; inputs: readonly string[]; outputs: readonly string[]; classes?: number }): void {
  const graph = model.graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.map((v) => v.name).filter((n) => !initializers.has(n));
  const outputs = graph.output.map((v) => v.name);
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const list = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  if (!same(inputs, expected.inputs)) throw bundleError(`${expected.file} has inputs ${list(inputs)}; the manifest says ${list(expected.inputs)}`, 'The model and manifest come from different exports; re-export the bundle.');
  if (!same(outputs, expected.outputs)) throw bundleError(`${expected.file} has outputs ${list(outputs)}; the manifest says ${list(expected.outputs)}`, 'The model and manifest come from different exports; re-export the bundle.');
  if (expected.classes !== undefined) {
    const shape = shapeFromValueInfo(graph.output[0]!);
    const width = shape === undefined || shape.dims === 'unknown' ? undefined : shape.dims[shape.dims.length - 1];
    if (typeof width === 'number' && width !== expected.classes) {
      throw bundleError(`${expected.file} outputs ${width} logits but the manifest lists ${expected.classes} classes`, 'Give one class name per logit.');
    }
  }
}

export function bundleError(message: string, hint: string, cause?: unknown): ExitwiseError {
  return new ExitwiseError('EXW_BUNDLE', message, cause === undefined ? { hint } : { hint, cause });
}
