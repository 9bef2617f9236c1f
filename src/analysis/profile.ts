/**
 * Latency profiling: each stage's and each exit head's wall-clock milliseconds per sample on this
 * machine, at one batch size and thread count. Latency-targeted tuning costs exits with these
 * measured times instead of FLOPs, since FLOPs do not predict wall-clock for small segments,
 * where ORT's per-call overhead dominates (DESIGN.md, "Measured facts").
 */
import { availableParallelism, cpus } from 'node:os';
import type { Bundle } from '../bundle/io.ts';
import { Rng } from '../data/random.ts';
import { ExitwiseError } from '../errors.ts';
import { cumulativeCosts } from '../exits/tuning/objectives.ts';
import type { BackendKind, Session } from '../runtime/session.ts';
import type { TensorLike } from '../runtime/tensor.ts';
import type { BundleManifest } from '../schemas/bundle.ts';
import { type LatencyProfile, LatencyProfileSchema } from '../schemas/profile.ts';
import { feedsOf, openSegments, runAllExits } from './segments.ts';

/**
 * Defaults of {@link profileBundle}. Batch 1: the latency of one request, what a per-sample budget
 * means. 5 warm-up runs let ORT allocate its arenas and the CPU caches fill; the median of 25
 * timed runs is stable to a few percent on a shared machine and takes well under a second for an
 * MNIST-size bundle.
 */
export const PROFILE_DEFAULTS = { batch: 1, warmup: 5, repeats: 25 } as const;

/** Options of {@link profileBundle}. */
export interface LatencyProfileOptions {
  /** ORT intra-op threads (default: the number of logical cores, `os.availableParallelism()`). */
  threads?: number;
  batch?: number;
  warmup?: number;
  repeats?: number;
  /** Default `'node'`. */
  backend?: BackendKind;
}

/** The key of a profile in `manifest.profiles`: `cpu-2t-b1` (node), `wasm-1t-b8` (web). */
export function profileName(profile: { backend: BackendKind; threads: number; batch: number }): string {
  return `${profile.backend === 'node' ? 'cpu' : 'wasm'}-${profile.threads}t-b${profile.batch}`;
}

/**
 * Measures every stage and exit of `bundle` (a folder or a bundle in memory): each segment is
 * run `warmup` times, then `repeats` times timed, segments interleaved so that machine load hits
 * them alike; the median over repeats divided by the batch is its ms per sample. Inputs are
 * seeded uniform noise (dense kernels do not depend on values) and each segment reads the tensors
 * the previous stages really produce.
 *
 * @example
 * const profile = await profileBundle('fashion.exitwise', { threads: 2 });
 * updateManifest('fashion.exitwise', (m) => ({ ...m, profiles: { ...m.profiles, [profileName(profile)]: profile } }));
 */
export async function profileBundle(bundle: string | Bundle, options: LatencyProfileOptions = {}): Promise<LatencyProfile> {
  const threads = options.threads ?? availableParallelism();
  const batch = options.batch ?? PROFILE_DEFAULTS.batch;
  const warmup = options.warmup ?? PROFILE_DEFAULTS.warmup;
  const repeats = options.repeats ?? PROFILE_DEFAULTS.repeats;
  const backend = options.backend ?? 'node';
  for (const [name, v, min] of [['threads', threads, 1], ['batch', batch, 1], ['warmup', warmup, 0], ['repeats', repeats, 1]] as const) {
    if (!(Number.isInteger(v) && v >= min)) throw new ExitwiseError('EXW_USAGE', `profile ${name} ${v} is not an integer ≥ ${min}`, { hint: `Defaults: ${JSON.stringify(PROFILE_DEFAULTS)}.` });
  }
  const segments = await openSegments(bundle, { threads, backend });
  try {
    const { manifest } = segments;
    const { tensors } = await runAllExits(segments, noiseInput(manifest, batch));
    // Every segment with the feeds it reads, in run order: stage 0, exit 0, stage 1, …
    const runs = manifest.stages.flatMap((stage, k) => {
      const exit = manifest.exits[k]!;
      return [
        { session: segments.stages[k]!, feeds: feedsOf(stage.inputs, tensors, `stage ${k}`), outputs: stage.outputs },
        { session: segments.exits[k]!, feeds: feedsOf([exit.input], tensors, `exit ${k}`), outputs: [exit.output] },
      ];
    });
    const times = runs.map(() => new Float64Array(repeats));
    for (let r = -warmup; r < repeats; r++) {
      for (const [j, run] of runs.entries()) {
        const ms = await timeRun(run.session, run.feeds, run.outputs);
        if (r >= 0) times[j]![r] = ms;
      }
    }
    const perSample = times.map((t) => median(t) / batch);
    return LatencyProfileSchema.parse({
      kind: 'latency', backend, threads, batch,
      stageMs: perSample.filter((_, j) => j % 2 === 0),
      exitMs: perSample.filter((_, j) => j % 2 === 1),
      warmup, repeats, cpu: cpus()[0]?.model.trim() ?? 'unknown', measuredAt: new Date().toISOString(),
    });
  } finally {
    await segments.release();
  }
}

/** Cumulative ms per sample of stopping at each exit: stages and heads 0..k. */
export function latencyCosts(profile: LatencyProfile): number[] {
  return cumulativeCosts(profile.stageMs, profile.exitMs);
}

/**
 * The profile stored under `name` in the manifest, validated; undefined when there is none.
 * `EXW_BUNDLE` for a profile that is not a latency profile of this bundle's segments.
 */
export function storedProfile(manifest: BundleManifest, name: string): LatencyProfile | undefined {
  const json = manifest.profiles?.[name];
  if (json === undefined) return undefined;
  const parsed = LatencyProfileSchema.safeParse(json);
  const K = manifest.exits.length;
  if (!parsed.success || parsed.data.stageMs.length !== K || parsed.data.exitMs.length !== K) {
    throw new ExitwiseError('EXW_BUNDLE', `profile "${name}" of the manifest is not a latency profile of its ${K} stages and exits${parsed.success ? '' : `: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`}`, {
      hint: 'Delete it from manifest.profiles; `exitwise tune --latency-budget` measures a new one.',
    });
  }
  return parsed.data;
}

async function timeRun(session: Session, feeds: Record<string, TensorLike>, outputs: readonly string[]): Promise<number> {
  const start = performance.now();
  await session.run(feeds, { outputs });
  return performance.now() - start;
}

/** A batch of seeded uniform [−1, 1) values with the bundle input's shape. */
function noiseInput(manifest: BundleManifest, batch: number): TensorLike {
  const { name, shape, dtype } = manifest.input;
  const dims = shape.map((d, i) => (i === 0 ? batch : d));
  if (dims.some((d) => typeof d !== 'number')) {
    throw new ExitwiseError('EXW_USAGE', `the bundle input "${name}" has symbolic dims beyond the batch: [${shape.join(', ')}]`, {
      hint: 'Profiling needs a fixed per-sample shape; re-export the bundle with concrete dims.',
    });
  }
  const size = (dims as number[]).reduce((a, b) => a * b, 1);
  const rng = new Rng(0);
  if (dtype === 'int64') return { type: 'int64', dims: dims as number[], data: new BigInt64Array(size) };
  return { type: 'float32', dims: dims as number[], data: Float32Array.from({ length: size }, () => rng.next() * 2 - 1) };
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
