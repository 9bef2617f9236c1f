/**
 * Checkpoints of a training run, in a run folder, safe against a kill at any moment:
 *
 * 1. the checkpoint goes to `checkpoint-<step>.exwckpt` through an atomic write (temporary file,
 *    fsync, rename), so that file is either absent, the old one, or whole;
 * 2. only then is `latest.json`, the pointer to it, replaced the same way;
 * 3. only then are checkpoints older than the last `keep` deleted.
 *
 * A kill before step 2 leaves the pointer on the previous checkpoint, which is still on disk; a
 * kill after it, on the new one. Loading follows the pointer and checks the file's checksum.
 * One process writes a run folder at a time.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ExitwiseError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { decodeCheckpoint, encodeCheckpoint, type LoadedCheckpoint, type TrainingCheckpoint } from './checkpoint-format.ts';
import type { Optimizer } from './optimizers/types.ts';
import type { ParamStore } from './params.ts';

export { FORMAT_VERSION as CHECKPOINT_FORMAT_VERSION, type JsonValue, type LoadedCheckpoint, type TrainingCheckpoint } from './checkpoint-format.ts';

/** The pointer file in a run folder. */
export const LATEST_POINTER = 'latest.json';
/**
 * Checkpoints kept by default: the latest, plus the one before it to go back to if the latest
 * turns out bad (diverged just before it was saved, say). Each costs the model's size (×3 with Adam).
 */
const DEFAULT_KEEP = 2;

const FILE_PATTERN = /^checkpoint-\d+\.exwckpt$/;
/** Temporary files of `writeFileAtomic` (`.<name>.<pid>.<time>.tmp`) that a kill left behind. */
const STALE_TEMP_PATTERN = /^\.(checkpoint-\d+\.exwckpt|latest\.json)\.\d+\.\d+\.tmp$/;

const PointerSchema = z.strictObject({
  format: z.literal('exitwise-checkpoint-pointer'),
  /** The file of the latest checkpoint, in the same folder. */
  latest: z.string().regex(FILE_PATTERN),
  /** Checkpoint files kept, oldest first (the latest last). */
  retained: z.array(z.string().regex(FILE_PATTERN)),
  schedulerStep: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  savedAt: z.string(),
});
type Pointer = z.infer<typeof PointerSchema>;

export interface SaveCheckpointOptions {
  /** Checkpoint files to keep, the new one included (default 2). */
  keep?: number;
}

/**
 * Saves a checkpoint into the run folder `dir` (created if needed) and returns its path. A kill
 * at any point leaves the previous checkpoint loadable.
 *
 * @example
 * saveCheckpoint(runDir, { ...store.snapshot(), optimizer: optimizer.state(), schedulerStep: optimizer.stepCount,
 *   epoch, batchInEpoch, rngState: { seed }, metrics, config });
 */
export function saveCheckpoint(dir: string, checkpoint: TrainingCheckpoint, options: SaveCheckpointOptions = {}): string {
  const keep = options.keep ?? DEFAULT_KEEP;
  if (!Number.isInteger(keep) || keep < 1) throw new ExitwiseError('EXW_USAGE', `keep ${keep} is not an integer ≥ 1`, { hint: 'Keep at least the latest checkpoint.' });
  const file = `checkpoint-${String(checkpoint.schedulerStep).padStart(9, '0')}.exwckpt`;
  const bytes = encodeCheckpoint(checkpoint);
  const previous = readPointer(dir);
  writeFileAtomic(join(dir, file), bytes);
  syncFolder(dir);
  const history = previous?.retained ?? listCheckpoints(dir).filter((f) => f !== file);
  const retained = [...history.filter((f) => f !== file), file].slice(-keep);
  const pointer: Pointer = {
    format: 'exitwise-checkpoint-pointer', latest: file, retained,
    schedulerStep: checkpoint.schedulerStep, epoch: checkpoint.epoch, savedAt: new Date().toISOString(),
  };
  writeFileAtomic(join(dir, LATEST_POINTER), `${JSON.stringify(pointer, null, 2)}\n`);
  syncFolder(dir);
  for (const name of readdirSync(dir)) {
    if ((FILE_PATTERN.test(name) && !retained.includes(name)) || STALE_TEMP_PATTERN.test(name)) rmSync(join(dir, name), { force: true });
  }
  return join(dir, file);
}

/**
 * Loads the latest checkpoint of the run folder `path`, or the checkpoint file `path`. Gives
 * `EXW_CHECKPOINT` when there is none, or when it is corrupt, truncated or of another format version.
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw noCheckpoint(`${path} does not exist`);
  if (!statSync(path).isDirectory()) return decodeCheckpoint(readBytes(path), path);
  const pointer = readPointer(path);
  if (pointer === undefined) throw noCheckpoint(`${path} holds no ${LATEST_POINTER}`, path);
  const file = join(path, pointer.latest);
  if (!existsSync(file)) throw noCheckpoint(`${LATEST_POINTER} in ${path} names ${pointer.latest}, which is missing`, path);
  return decodeCheckpoint(readBytes(file), file);
}

/** The path of the run folder's latest checkpoint, or undefined when it has none. */
export function latestCheckpointPath(dir: string): string | undefined {
  const pointer = existsSync(dir) && statSync(dir).isDirectory() ? readPointer(dir) : undefined;
  return pointer === undefined ? undefined : join(dir, pointer.latest);
}

/**
 * Puts a loaded checkpoint's values into the store and its state into the optimizer. Both check
 * first that names and shapes match (`EXW_CHECKPOINT` otherwise), so a checkpoint of another
 * model is refused.
 */
export function restoreCheckpoint(checkpoint: TrainingCheckpoint, store: ParamStore, optimizer: Optimizer): void {
  store.restore(checkpoint);
  optimizer.loadState(checkpoint.optimizer);
}

/** The pointer, or undefined when absent; `EXW_CHECKPOINT` when present but unreadable. */
function readPointer(dir: string): Pointer | undefined {
  const path = join(dir, LATEST_POINTER);
  if (!existsSync(path)) return undefined;
  const checked = PointerSchema.safeParse(parseJson(readBytes(path)));
  if (!checked.success) {
    throw new ExitwiseError('EXW_CHECKPOINT', `${path} is not a valid checkpoint pointer`, {
      hint: `Delete it and load a checkpoint file by path${describeFiles(dir)}.`,
    });
  }
  return checked.data;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new ExitwiseError('EXW_IO', `cannot read ${path}: ${(cause as Error).message}`, { hint: 'Check that the file is readable.', cause });
  }
}

function listCheckpoints(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => FILE_PATTERN.test(f)).sort() : [];
}

function describeFiles(dir: string): string {
  const files = listCheckpoints(dir);
  return files.length === 0 ? ' (the folder holds no checkpoint files)' : ` (the folder holds ${files.join(', ')})`;
}

function noCheckpoint(what: string, dir?: string): ExitwiseError {
  return new ExitwiseError('EXW_CHECKPOINT', `no checkpoint to resume: ${what}`, {
    hint: dir === undefined ? 'Point to the run folder of an earlier run, or start without resuming.'
      : `Load a checkpoint file by path${describeFiles(dir)}, or start without resuming.`,
  });
}

/**
 * Makes the renames in `dir` durable across a power cut (a killed process needs no fsync: the
 * kernel already holds the rename). Best effort: some filesystems refuse fsync on folders.
 */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Durability against power loss only; the checkpoint scheme itself does not depend on it.
  }
}
