/**
 * Verified downloads: fetch a file, check its size and SHA-256 against constants pinned in the
 * code, and only then write it (atomically) where later runs will find it. A stalled connection
 * fails after a timeout instead of hanging the run.
 */
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { ExitwiseError } from '../errors.ts';

/** What a downloaded file must be. */
export interface ExpectedFile {
  /** Size in bytes. */
  bytes: number;
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
}

/**
 * Abort when no bytes arrive for this long. A stall timeout rather than a total one: the largest
 * file (26 MB) may legitimately take minutes on a slow link, but a silent socket never recovers.
 */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/**
 * Downloads `url` to `destination` if and only if it matches `expected`.
 *
 * @throws ExitwiseError `EXW_DATA` on network failure, HTTP error, stall timeout, size or
 *   checksum mismatch; nothing is written then.
 */
export async function downloadVerified(
  url: string,
  destination: string,
  expected: ExpectedFile,
  stallTimeoutMs: number = DEFAULT_STALL_TIMEOUT_MS,
): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const armTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), stallTimeoutMs);
  };
  const fail = (what: string, cause?: unknown): ExitwiseError =>
    new ExitwiseError('EXW_DATA', `download of ${url} failed: ${what}`, {
      hint: 'Check the network connection, or get the files another way (see the data options).',
      ...(cause === undefined ? {} : { cause }),
    });

  armTimer();
  try {
    const response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (!response.ok || response.body === null) throw fail(`HTTP ${response.status} ${response.statusText}`);
    const data = new Uint8Array(expected.bytes);
    let received = 0;
    const reader = response.body.getReader();
    for (;;) {
      armTimer();
      const { done, value } = await reader.read();
      if (done) break;
      if (received + value.length > expected.bytes) {
        await reader.cancel();
        throw fail(`the server sent more than the expected ${expected.bytes} bytes`);
      }
      data.set(value, received);
      received += value.length;
    }
    if (received !== expected.bytes) throw fail(`received ${received} bytes, expected ${expected.bytes}`);
    const digest = createHash('sha256').update(data).digest('hex');
    if (digest !== expected.sha256) throw fail(`SHA-256 mismatch: got ${digest}, expected ${expected.sha256}`);
    writeFileAtomic(destination, data);
  } catch (cause) {
    if (cause instanceof ExitwiseError) throw cause;
    if (controller.signal.aborted) throw fail(`no data received for ${stallTimeoutMs} ms`, cause);
    throw fail(describeFetchError(cause), cause);
  } finally {
    clearTimeout(timer);
  }
}

/** undici hides the useful part ("ECONNREFUSED", "ENOTFOUND") in `cause`. */
function describeFetchError(error: unknown): string {
  const message = (error as Error).message;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail === undefined ? message : `${message} (${detail})`;
}
