/** Atomic file writes: write a sibling temporary file, fsync it, rename it over the target. */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitwiseError } from '../errors.ts';

/**
 * Writes `data` to `path` so that a reader (or a run killed mid-write) sees either the old file
 * or the whole new one, never a prefix. Parent folders are created.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.byteLength) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (cause) {
    rmSync(tmp, { force: true });
    throw new ExitwiseError('EXW_IO', `cannot write ${path}: ${(cause as Error).message}`, {
      hint: 'Check that the folder is writable and the disk has space.',
      cause,
    });
  }
}
