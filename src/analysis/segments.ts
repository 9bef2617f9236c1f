/**
 * A bundle's segments opened as ORT sessions, one per stage and one per exit, and a pass that
 * runs every stage and every exit on one batch (no exiting). Stage outputs are chained by name,
 * so a stage that reads several tensors (a skip connection carried across a cut) gets each from
 * whichever earlier stage produced it.
 */
import { join } from 'node:path';
import type { Bundle } from '../bundle/io.ts';
import { readManifest } from '../bundle/io.ts';
import { bundleError } from '../bundle/manifest.ts';
import { createSession, type BackendKind, type Session } from '../runtime/session.ts';
import type { TensorLike } from '../runtime/tensor.ts';
import type { BundleManifest } from '../schemas/bundle.ts';

/** Where the sessions run. */
export interface SegmentSessionOptions {
  /** ORT intra-op threads (default: ORT's choice). */
  threads?: number;
  /** Default `'node'`. */
  backend?: BackendKind;
}

/** One session per stage and per exit, in manifest order. */
export interface SegmentSessions {
  manifest: BundleManifest;
  stages: Session[];
  exits: Session[];
  /** Releases every session. */
  release(): Promise<void>;
}

/**
 * Opens every segment of a bundle (a folder, read with `readManifest`, or a bundle in memory).
 * Sessions are opened one after another and all released if one fails.
 */
export async function openSegments(bundle: string | Bundle, options: SegmentSessionOptions = {}): Promise<SegmentSessions> {
  const manifest = typeof bundle === 'string' ? readManifest(bundle) : bundle.manifest;
  const sessionOptions = { ...(options.threads === undefined ? {} : { threads: options.threads }), ...(options.backend === undefined ? {} : { backend: options.backend }) };
  const opened: Session[] = [];
  const open = async (file: string, model: Bundle['stages'][number] | undefined): Promise<Session> => {
    const session = await createSession(typeof bundle === 'string' ? join(bundle, file) : model!, sessionOptions);
    opened.push(session);
    return session;
  };
  try {
    const stages: Session[] = [];
    for (const [k, s] of manifest.stages.entries()) stages.push(await open(s.file, typeof bundle === 'string' ? undefined : bundle.stages[k]));
    const exits: Session[] = [];
    for (const [k, e] of manifest.exits.entries()) exits.push(await open(e.file, typeof bundle === 'string' ? undefined : bundle.exits[k]));
    return { manifest, stages, exits, release: async () => void (await Promise.all(opened.map((s) => s.release()))) };
  } catch (error) {
    await Promise.all(opened.map((s) => s.release()));
    throw error;
  }
}

/**
 * Runs every stage and every exit on one batch of bundle inputs `[B, …]`. Returns each exit's
 * logits `[B, classes]` (untempered) and every tensor the stages produced, by name.
 */
export async function runAllExits(segments: SegmentSessions, input: TensorLike): Promise<{ logits: TensorLike[]; tensors: Map<string, TensorLike> }> {
  const { manifest } = segments;
  const tensors = new Map<string, TensorLike>([[manifest.input.name, input]]);
  const logits: TensorLike[] = [];
  for (const [k, stage] of manifest.stages.entries()) {
    const out = await segments.stages[k]!.run(feedsOf(stage.inputs, tensors, `stage ${k}`), { outputs: stage.outputs });
    for (const name of stage.outputs) tensors.set(name, out[name]!);
    const exit = manifest.exits[k]!;
    const head = await segments.exits[k]!.run(feedsOf([exit.input], tensors, `exit ${k}`), { outputs: [exit.output] });
    logits.push(head[exit.output]!);
  }
  return { logits, tensors };
}

/** The named tensors a segment reads, each produced by the bundle input or an earlier stage. */
export function feedsOf(names: readonly string[], tensors: ReadonlyMap<string, TensorLike>, what: string): Record<string, TensorLike> {
  const feeds: Record<string, TensorLike> = {};
  for (const name of names) {
    const t = tensors.get(name);
    if (t === undefined) throw bundleError(`${what} reads "${name}", which neither the bundle input nor an earlier stage produces`, 'The manifest does not describe a chain of stages; re-export the bundle.');
    feeds[name] = t;
  }
  return feeds;
}
