/**
 * Progress of a long pass over samples (collecting exit outputs, profiling), for stderr: on a
 * terminal one line redrawn in place, in a log or a pipe a plain line every `intervalSeconds`
 * (carriage returns would pile up there). Same conventions as the training printer
 * (src/train/progress.ts).
 */
import { formatDuration } from '../train/progress.ts';

export interface CountProgressOptions {
  /** Default `process.stderr` (stdout is for results, e.g. `--json`). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Redraw in place (default: whether the stream is a terminal). */
  tty?: boolean;
  /** Seconds between plain lines when not on a terminal (default 10). */
  intervalSeconds?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/** A count progress printer: `update(done, total)` as work advances, `end()` when it stops (finished or not). */
export interface CountProgress {
  update(done: number, total: number): void;
  end(): void;
}

/** Terminal redraws at most this often: more is invisible and costs time. */
const REDRAW_MS = 100;

/**
 * Prints `label done/total (pct), rate/s, ETA` to the stream.
 *
 * @example
 * const progress = createCountProgress('val: running every exit');
 * try { await collectExitOutputs(dir, val, { onProgress: progress.update }); } finally { progress.end(); }
 */
/** Seconds of progress before a rate and an ETA are shown. */
const MIN_RATE_SECONDS = 0.5;

export function createCountProgress(label: string, options: CountProgressOptions = {}): CountProgress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const intervalMs = (options.intervalSeconds ?? 10) * 1000;
  const now = options.now ?? (() => performance.now());
  const start = now();
  let last = -Infinity;
  let shown = false;
  return {
    update(done, total) {
      const t = now();
      const finished = done >= total;
      if (t - last < (tty ? REDRAW_MS : intervalMs) && !finished) return;
      if (finished && !tty) return; // a log needs no "100%" line: the result follows
      last = t;
      const seconds = (t - start) / 1000;
      // A rate over the first fraction of a second says nothing (the first batch may predate the printer).
      const rate = seconds >= MIN_RATE_SECONDS ? done / seconds : 0;
      const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
      const speed = rate > 0 ? `, ${Math.round(rate)} samples/s, ETA ${formatDuration(eta)}` : '';
      const text = `${label}: ${done}/${total} (${((100 * done) / Math.max(1, total)).toFixed(0)}%)${speed}`;
      if (tty) {
        stream.write(`\r\x1b[2K${text}`);
        shown = true;
      } else {
        stream.write(`${text}\n`);
      }
    },
    end() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
