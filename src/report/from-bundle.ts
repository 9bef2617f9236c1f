/**
 * A report of a bundle folder on a dataset: run every exit on the test split (and on the
 * validation split only if the bundle is uncalibrated), take the latency from a stored profile or
 * measure one, compute the data and write the page. Reading a bundle never changes it: a profile
 * measured here is not stored (`exitwise tune --latency-budget` stores one).
 */
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { collectExitOutputs } from '../analysis/collect.ts';
import { latencyCosts, profileBundle, profileName, storedProfile } from '../analysis/profile.ts';
import { bundleSplitData, type BundleData, type SplitName } from '../bundle/data.ts';
import { loadBundle, type Bundle } from '../bundle/io.ts';
import { loadDataset } from '../data/registry.ts';
import { ExitwiseError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { LatencyProfileSchema, type LatencyProfile } from '../schemas/profile.ts';
import { buildReportData, type LabelledExitOutputs } from './build.ts';
import { renderReport } from './html.ts';
import type { LatencyInfo, ReportData } from './types.ts';

/** Options of {@link bundleReportData}. */
export interface BundleReportOptions {
  /** Default: the dataset the bundle was trained on. */
  dataset?: string;
  /** Folder holding the dataset's IDX files (the only place looked at when given). */
  dataDir?: string;
  /** ORT intra-op threads for running and profiling (default: one per logical core). */
  threads?: number;
  /** Use the first `limit` samples of each split only (quick checks; the page says how many). */
  limit?: number;
  /** Name of the manifest profile to take latency from (default: this thread count's, else the first stored). */
  profile?: string;
  /** Measure a latency profile when the manifest has none (default true); false leaves the latency curve out. */
  measure?: boolean;
  /** Progress of running the exits over a split. */
  onProgress?: (split: SplitName, done: number, total: number) => void;
  /** Called before measuring latency (it takes a second or two). */
  onMeasure?: (profile: string) => void;
  date?: Date;
}

/**
 * Everything the report of the bundle in `dir` shows. `EXW_BUNDLE` for a damaged bundle,
 * `EXW_DATA` for a missing dataset, `EXW_USAGE` for an unknown profile name.
 *
 * @example
 * const data = await bundleReportData('runs/fashion/model.exitwise', { threads: 2 });
 * await writeReport('report.html', data);
 */
export async function bundleReportData(dir: string, options: BundleReportOptions = {}): Promise<ReportData> {
  const bundle = loadBundle(dir);
  const { manifest } = bundle;
  // Latency first: a wrong profile name fails before the dataset is read and minutes of inference.
  const latency = await reportLatency(bundle, options);
  const dataset = options.dataset ?? manifest.provenance.dataset;
  const loaded = await loadDataset(dataset, options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  const run = async (split: SplitName): Promise<LabelledExitOutputs> => collectExitOutputs(bundle, limited(bundleSplitData(manifest, loaded, split), options.limit), {
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.onProgress === undefined ? {} : { onProgress: (done: number, total: number) => options.onProgress!(split, done, total) }),
  });
  const test = await run('test');
  // Validation outputs serve only to show what calibration would do for an uncalibrated bundle.
  const val = manifest.exits.every((e) => e.temperature === 1) ? await run('val') : undefined;
  return buildReportData({
    manifest,
    title: basename(resolve(dir)).replace(/\.exitwise$/, ''),
    dataset,
    test,
    ...(val === undefined ? {} : { val }),
    latency,
    ...(options.date === undefined ? {} : { date: options.date }),
  });
}

/**
 * Renders `data` and writes the page atomically to `path`.
 *
 * @example
 * const { bytes } = await writeReport('report.html', buildReportData({ manifest, title, test }));
 */
export async function writeReport(path: string, data: ReportData): Promise<{ path: string; bytes: number }> {
  const html = await renderReport(data);
  writeFileAtomic(path, html);
  return { path, bytes: Buffer.byteLength(html) };
}

/** Latency of the stored profile asked for, this thread count's, the first stored one, or one measured now. */
async function reportLatency(bundle: Bundle, options: BundleReportOptions): Promise<LatencyInfo | null> {
  const { manifest } = bundle;
  const threads = options.threads ?? availableParallelism();
  const stored = Object.keys(manifest.profiles ?? {}).filter((name) => LatencyProfileSchema.safeParse(manifest.profiles![name]).success);
  if (options.profile !== undefined && !stored.includes(options.profile)) {
    throw new ExitwiseError('EXW_USAGE', `the bundle has no latency profile "${options.profile}"`, {
      hint: stored.length === 0 ? 'It has none; omit --profile to measure one now.' : `Stored profiles: ${stored.join(', ')}.`,
    });
  }
  const own = profileName({ backend: 'node', threads, batch: 1 });
  const name = options.profile ?? (stored.includes(own) ? own : stored[0]);
  if (name !== undefined) {
    return storedLatencyInfo(name, storedProfile(manifest, name)!);
  }
  if (options.measure === false) return null;
  options.onMeasure?.(own);
  const profile = await profileBundle(bundle, { threads, batch: 1 });
  return { label: `${own}, measured for this report`, description: `measured for this report (not stored in the bundle): ${describeProfile(profile)}`, cumulativeMs: latencyCosts(profile) };
}

/** The report's latency from profile `name` stored in the bundle. */
export function storedLatencyInfo(name: string, profile: LatencyProfile): LatencyInfo {
  return { label: `profile ${name} of the bundle`, description: `profile "${name}" of the bundle: ${describeProfile(profile)}`, cumulativeMs: latencyCosts(profile) };
}

function describeProfile(p: LatencyProfile): string {
  return `${p.cpu}, ${p.backend === 'node' ? 'onnxruntime-node' : 'onnxruntime-web'}, ${p.threads} thread${p.threads === 1 ? '' : 's'}, batch ${p.batch}, median of ${p.repeats} runs, ${p.measuredAt.slice(0, 10)}`;
}

function limited(data: BundleData, limit: number | undefined): BundleData {
  if (limit === undefined || limit >= data.count) return data;
  const indices = data.indices.subarray(0, limit);
  return { ...data, indices, count: indices.length };
}
