/**
 * Finding a dataset's IDX files. A dataset lists its sources in order (a folder given by the user,
 * an environment variable, a system package, a download); the first that has all four files wins.
 * When none does, one error names every source and why it failed, so the user sees all the ways
 * to fix it at once.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExitwiseError } from '../errors.ts';
import type { IdxFiles } from './dataset.ts';
import { DEFAULT_STALL_TIMEOUT_MS, downloadVerified, type ExpectedFile } from './download.ts';

/** The base names (without `.gz`) of the four IDX files, as MNIST named them. */
export const IDX_FILE_NAMES: Readonly<IdxFiles> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** Where to look for datasets; every field has a default so that tests can point them elsewhere. */
export interface LocateOptions {
  /** `--data DIR`: a folder holding the four IDX files (plain or `.gz`). */
  dataDir?: string;
  /** Environment for `EXITWISE_DATA`, `XDG_CACHE_HOME` and `HOME`; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides the system-wide folder a dataset names (e.g. the Debian package's). */
  systemDir?: string;
  /** Download settings; `false` turns the download source off. */
  download?: false | { baseUrl?: string; stallTimeoutMs?: number };
}

/** One place a dataset may come from. */
export interface DataSource {
  /** How the user knows this option, e.g. `$EXITWISE_DATA/fashion-mnist`. */
  label: string;
  /** What the user can do to make this source work, for the error hint. */
  remedy?: string;
  /**
   * The user named this source (`--data DIR`): when it fails, the search stops there rather than
   * falling through to the others, so a mistyped folder is not masked by another copy.
   */
  explicit?: boolean;
  /** The files, or the reason this source does not have them. */
  locate(): Promise<IdxFiles | string>;
}

/** Tries `sources` in order and returns the first files found, or throws one error naming all. */
export async function locateFirst(dataset: string, sources: DataSource[]): Promise<IdxFiles> {
  const failures: string[] = [];
  for (const source of sources) {
    const found = await source.locate();
    if (typeof found !== 'string') return found;
    if (source.explicit === true) {
      throw new ExitwiseError('EXW_DATA', `dataset ${dataset} not found in ${source.label}: ${found}`, {
        hint: `That folder is the only place looked at when given: make it hold the four IDX files (plain or .gz: ${Object.values(IDX_FILE_NAMES).join(', ')}), or leave it out to use the default sources.`,
      });
    }
    failures.push(`  ${failures.length + 1}. ${source.label}: ${found}`);
  }
  throw new ExitwiseError('EXW_DATA', `dataset ${dataset} not found. Tried, in order:\n${failures.join('\n')}`, {
    hint: `Any one of these works: ${sources.flatMap((s) => s.remedy ?? []).join('; ')}.`,
  });
}

/** A folder that must hold the four IDX files (each plain or gzipped; plain is preferred). */
export function folderSource(folder: {
  label: string;
  /** `undefined` when the option is not set. */
  dir: string | undefined;
  /** Omitted for folders the user does not fill by hand (a download cache). */
  remedy?: string;
  /** Why an unset `dir` is not there, e.g. `EXITWISE_DATA is not set`. */
  unsetReason?: string;
  /** A folder the user named: when set and failing, no other source is tried (see {@link DataSource.explicit}). */
  explicit?: boolean;
}): DataSource {
  const { label, dir, remedy, unsetReason = 'not given' } = folder;
  return {
    label,
    ...(remedy === undefined ? {} : { remedy }),
    ...(folder.explicit === true && dir !== undefined ? { explicit: true } : {}),
    locate: async () => (dir === undefined ? unsetReason : idxFilesIn(dir)),
  };
}

/**
 * Downloads the gzipped IDX files (`<base name>.gz`) from `baseUrl` into `dir`, each verified
 * against its pinned size and SHA-256, unless a verified copy is already there.
 */
export function downloadSource(
  baseUrl: string,
  dir: string,
  expected: Readonly<Record<keyof IdxFiles, ExpectedFile>>,
  stallTimeoutMs: number = DEFAULT_STALL_TIMEOUT_MS,
): DataSource {
  return {
    label: `download from ${baseUrl} into ${dir}`,
    remedy: `allow network access to ${new URL(baseUrl).host} for the download`,
    locate: async () => {
      try {
        for (const [key, base] of Object.entries(IDX_FILE_NAMES) as [keyof IdxFiles, string][]) {
          const name = `${base}.gz`;
          // Only verified files are ever written here, so a present file is a complete one.
          const destination = join(dir, name);
          if (!existsSync(destination)) {
            await downloadVerified(new URL(name, baseUrl).href, destination, expected[key], stallTimeoutMs);
          }
        }
      } catch (error) {
        return (error as Error).message;
      }
      return idxFilesIn(dir);
    },
  };
}

/** The folder where downloads go and where earlier downloads are found. */
export function cacheDir(dataset: string, env: Readonly<Record<string, string | undefined>>): string {
  if (env['EXITWISE_DATA']) return join(env['EXITWISE_DATA'], dataset);
  const cacheHome = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(cacheHome, 'exitwise', dataset);
}

/** The four files in `dir`, or what is missing. */
function idxFilesIn(dir: string): IdxFiles | string {
  if (!isDirectory(dir)) return `${dir} is not a folder`;
  const files: Partial<IdxFiles> = {};
  const missing: string[] = [];
  for (const [key, base] of Object.entries(IDX_FILE_NAMES) as [keyof IdxFiles, string][]) {
    const path = [join(dir, base), join(dir, `${base}.gz`)].find(existsSync);
    if (path === undefined) missing.push(`${base}[.gz]`);
    else files[key] = path;
  }
  return missing.length > 0 ? `${dir} lacks ${missing.join(', ')}` : (files as IdxFiles);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
