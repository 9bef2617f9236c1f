/**
 * The adaptive-inference benchmark: wall-clock per input of the plain model, the adaptive runtime
 * (batch compaction), a padded early exit (no compaction) and the adaptive runtime with nothing
 * exiting, at several batch sizes, next to the FLOPs-ideal speedup.
 *
 * Method, for a shared and noisy machine: every variant runs with the same thread count on the
 * same preprocessed inputs (preprocessing is done before any clock starts); each is warmed up
 * first; then ROUNDS rounds each time one full pass of every variant, the order rotating from
 * round to round so that a slow spell hits them alike; the figure is the median over rounds.
 */
import type { Bundle } from '../../bundle/io.ts';
import { bundleCosts } from '../../analysis/exit-analysis.ts';
import { ExitwiseError } from '../../errors.ts';
import type { ExitPolicy } from '../../exits/policies/policy.ts';
import { policyFromJson } from '../../exits/policies/registry.ts';
import type { BenchBatch, BenchNoExit, BenchReport } from '../../schemas/bench.ts';
import { AdaptiveRuntime } from '../adaptive/index.ts';
import type { BenchInputs } from './inputs.ts';
import { PaddedRuntime } from './padded.ts';
import { PlainModel } from './plain.ts';

/**
 * Defaults. Batch 1 is one request at a time (latency); 64 a server's batch, where compaction
 * matters. 5 rounds give a median that a single slow round cannot move. The warm-up runs a few
 * hundred inputs through each variant: ORT sizes its memory arenas on the first runs of each
 * shape, and compacted batches come in many sizes.
 */
export const BENCH_DEFAULTS = { batches: [1, 64], rounds: 5, warmupInputs: 256 } as const;

/**
 * Temperature of the nothing-exits policy: max-softmax at threshold 1 (the top of its range)
 * stops an input only when its softmax rounds to exactly 1, which needs logit gaps above
 * 37 × temperature; at 1e6 no real network gets there, so every input runs every stage and head.
 */
const NO_EXIT_TEMPERATURE = 1e6;

export interface BenchOptions {
  batches?: readonly number[];
  /** ORT intra-op threads of every session (default: ORT's choice). */
  threads?: number;
  rounds?: number;
  /** Called after each round with its times (ms per input). */
  onProgress?: (progress: BenchProgress) => void;
}

export interface BenchProgress {
  batch: number;
  /** 1-based. */
  round: number;
  rounds: number;
  ms: Record<VariantName, number>;
}

type VariantName = 'full' | 'adaptive' | 'padded' | 'noExit';
const VARIANTS: readonly VariantName[] = ['full', 'adaptive', 'padded', 'noExit'];

/** What one pass of a variant over all inputs gave (exits and FLOPs: zero for the plain model). */
interface Pass {
  prediction: Int32Array;
  exitIndex: Int32Array;
  flops: Float64Array;
}

type Runner = (input: Float32Array, count: number) => Promise<{ prediction: Int32Array; exitIndex?: Int32Array; flops?: Float64Array }>;

/** The figures of `BenchReport` that the measurement gives (the caller names the bundle and data). */
export type BenchFigures = Omit<BenchReport, 'bundle' | 'dataset' | 'split'>;

/**
 * Benchmarks `bundle` on `inputs` with the bundle's policy (as `AdaptiveRuntime.open` picks it).
 *
 * @example
 * const bundle = loadBundle('fashion.exitwise');
 * const inputs = prepareInputs(bundleSplitData(bundle.manifest, await loadDataset('fashion-mnist'), 'test'), 1000);
 * const { batches } = await benchAdaptive(bundle, inputs, { threads: 2, rounds: 3 });
 * batches[0].efficiency; // realized speedup over the FLOPs-ideal one
 */
export async function benchAdaptive(bundle: Bundle, inputs: BenchInputs, options: BenchOptions = {}): Promise<BenchFigures> {
  const batches = options.batches ?? BENCH_DEFAULTS.batches;
  const rounds = options.rounds ?? BENCH_DEFAULTS.rounds;
  checkOptions(batches, rounds, options.threads);
  const sessionOptions = options.threads === undefined ? {} : { threads: options.threads };
  const opened: { release(): Promise<void> }[] = [];
  try {
    const plain = await PlainModel.open(bundle, sessionOptions);
    opened.push(plain);
    const adaptive = await AdaptiveRuntime.open(bundle, sessionOptions);
    opened.push(adaptive);
    const padded = await PaddedRuntime.open(bundle, adaptive.policy, sessionOptions);
    opened.push(padded);
    const noExit = noExitPolicy(bundle.manifest.exits.length);
    const runners: Record<VariantName, Runner> = {
      full: async (x, n) => ({ prediction: await plain.run(x, n) }),
      adaptive: (x, n) => adaptive.run(x, n),
      padded: (x, n) => padded.run(x, n),
      noExit: (x, n) => adaptive.run(x, n, { policy: noExit }),
    };
    const costs = bundleCosts(bundle.manifest);
    const rows: BenchBatch[] = [];
    const noExitRows: BenchNoExit[] = [];
    for (const batch of batches) {
      const { ms, first } = await measureBatch(runners, inputs, batch, rounds, options.onProgress);
      const histogram = new Array<number>(bundle.manifest.exits.length).fill(0);
      for (const k of first.adaptive.exitIndex) histogram[k]! += 1;
      // What each input really cost: the manifest's cumulative FLOPs at its exit, less the heads
      // of exits the policy disables (the runtime does not run those).
      const expectedFlops = first.adaptive.flops.reduce((a, f) => a + f, 0) / inputs.count;
      const speedup = ms.full / ms.adaptive;
      const idealSpeedup = costs.fullModelFlops / expectedFlops;
      rows.push({
        batch, fullMs: ms.full, adaptiveMs: ms.adaptive, paddedMs: ms.padded,
        speedup, idealSpeedup, efficiency: speedup / idealSpeedup, speedupVsPadded: ms.padded / ms.adaptive,
        accuracyFull: accuracy(first.full.prediction, inputs.labels), accuracyAdaptive: accuracy(first.adaptive.prediction, inputs.labels),
        exitHistogram: histogram, expectedFlops,
      });
      noExitRows.push({ batch, fullMs: ms.full, adaptiveMs: ms.noExit, ratio: ms.noExit / ms.full });
    }
    return {
      count: inputs.count, threads: options.threads ?? null, rounds, policy: adaptive.policy.toJSON(),
      adaptiveRuntime: adaptive.notCompiledBecause() === undefined ? 'compiled' : 'segments',
      fullFlops: costs.fullModelFlops, batches: rows, noExit: noExitRows,
    };
  } finally {
    for (const r of opened.reverse()) await r.release();
  }
}

/**
 * Times every variant at one batch size: a warm-up pass over the first inputs, then `rounds`
 * rounds of one full pass each in rotating order. Returns the median ms per input of each and
 * what each variant's first timed pass gave.
 */
async function measureBatch(runners: Record<VariantName, Runner>, inputs: BenchInputs, batch: number, rounds: number, onProgress: BenchOptions['onProgress']): Promise<{ ms: Record<VariantName, number>; first: Record<VariantName, Pass> }> {
  const warmup = Math.min(inputs.count, Math.max(batch, BENCH_DEFAULTS.warmupInputs));
  for (const name of VARIANTS) await pass(runners[name], inputs, batch, warmup);
  const times = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<VariantName, number[]>;
  const first = {} as Record<VariantName, Pass>;
  for (let round = 0; round < rounds; round++) {
    for (const name of rotate(VARIANTS, round)) {
      const start = performance.now();
      const result = await pass(runners[name], inputs, batch, inputs.count);
      times[name].push((performance.now() - start) / inputs.count);
      if (round === 0) first[name] = result;
    }
    onProgress?.({ batch, round: round + 1, rounds, ms: byVariant((v) => times[v][round]!) });
  }
  return { ms: byVariant((v) => median(times[v])), first };
}

function byVariant<T>(value: (v: VariantName) => T): Record<VariantName, T> {
  return Object.fromEntries(VARIANTS.map((v) => [v, value(v)])) as Record<VariantName, T>;
}

/** A policy over `K` exits that runs every stage and head on every input and stops none before the final exit. */
export function noExitPolicy(K: number): ExitPolicy {
  return policyFromJson({ kind: 'max-softmax', exits: K, thresholds: new Array<number>(K - 1).fill(1), temperatures: new Array<number>(K).fill(NO_EXIT_TEMPERATURE) });
}

/** Runs the first `limit` inputs through `run` in batches of `batch`, in order. */
async function pass(run: Runner, inputs: BenchInputs, batch: number, limit: number): Promise<Pass> {
  const size = inputs.data.length / inputs.count;
  const out: Pass = { prediction: new Int32Array(limit), exitIndex: new Int32Array(limit), flops: new Float64Array(limit) };
  for (let start = 0; start < limit; start += batch) {
    const n = Math.min(batch, limit - start);
    const r = await run(inputs.data.subarray(start * size, (start + n) * size), n);
    out.prediction.set(r.prediction, start);
    if (r.exitIndex !== undefined) out.exitIndex.set(r.exitIndex, start);
    if (r.flops !== undefined) out.flops.set(r.flops, start);
  }
  return out;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const s = by % items.length;
  return [...items.slice(s), ...items.slice(0, s)];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function accuracy(prediction: Int32Array, labels: Int32Array): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (prediction[i] === labels[i]) hits++;
  return hits / labels.length;
}

function checkOptions(batches: readonly number[], rounds: number, threads: number | undefined): void {
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  const bad = batches.find((b) => !positive(b));
  if (batches.length === 0 || bad !== undefined) {
    throw new ExitwiseError('EXW_USAGE', batches.length === 0 ? 'no batch sizes given' : `batch size ${bad} is not a positive integer`, { hint: `Give batch sizes such as ${BENCH_DEFAULTS.batches.join(',')}.` });
  }
  if (!positive(rounds)) throw new ExitwiseError('EXW_USAGE', `rounds ${rounds} is not a positive integer`, { hint: `Default ${BENCH_DEFAULTS.rounds}.` });
  if (threads !== undefined && !positive(threads)) throw new ExitwiseError('EXW_USAGE', `threads ${threads} is not a positive integer`, { hint: 'Leave it out for ORT\'s default.' });
}
