/**
 * Progress of exits-only training: the events a run reports, and a printer for them in the style
 * of the trainer's (src/train/progress.ts): on a terminal one status line redrawn in place, in a
 * log a plain line every `intervalSeconds` and one per epoch of each exit.
 */
import { formatDuration, type ProgressPrinterOptions } from '../progress.ts';

/** One finished epoch of one head. Accuracies are against the training targets (labels or pseudo-labels). */
export interface HeadsEpochRecord {
  /** Epochs done, from 1. */
  epoch: number;
  /** Mean loss over the epoch's batches. */
  loss: number;
  trainAccuracy: number;
  /** On the cached validation features, BatchNorm on running statistics. */
  valAccuracy: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  samplesPerSecond: number;
  /** Wall time since the run started, feature caching included. */
  seconds: number;
}

export type HeadsOnlyEvent =
  | {
    kind: 'start'; exits: number; trainSamples: number; valSamples: number; targets: string;
    /** `α 0.5, T 3, teacher final`, or null without distillation. */
    distill: string | null;
    epochs: number; batchesPerEpoch: number;
    /** Backbone passes that cache features, and the bytes the largest one holds. */
    passes: number; cacheBytes: number; threads: number | undefined;
  }
  /** Feature caching: `done` of `total` images through the backbone in pass `pass` (from 0), which caches `exits`. */
  | { kind: 'cache'; pass: number; passes: number; exits: number[]; done: number; total: number }
  | {
    /** `epoch` counts from 0; `batch` is the batches done in it, this one included. */
    kind: 'step'; exit: number; exits: number; epoch: number; epochs: number; batch: number; batchesPerEpoch: number;
    /** Steps done over all heads, and their total. */
    step: number; totalSteps: number;
    /** Running means over the epoch so far. */
    loss: number; accuracy: number; samplesPerSecond: number; etaSeconds: number;
  }
  | { kind: 'epoch'; exit: number; record: HeadsEpochRecord; epochs: number }
  /** Over, finished or not. */
  | { kind: 'end' };

const REDRAW_MS = 100;

/**
 * A progress callback for exits-only training that prints to a stream (default stderr).
 *
 * @example
 * await trainHeadsOnly(multiExit, { train, val }, {}, { onProgress: createHeadsOnlyProgressPrinter() });
 */
export function createHeadsOnlyProgressPrinter(options: ProgressPrinterOptions = {}): (event: HeadsOnlyEvent) => void {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const intervalMs = (options.intervalSeconds ?? 10) * 1000;
  const now = options.now ?? (() => performance.now());
  let last = -Infinity;
  let barShown = false;
  const line = (text: string) => {
    if (barShown) stream.write('\r\x1b[2K');
    barShown = false;
    stream.write(`${text}\n`);
  };
  const status = (text: string, force: boolean) => {
    const t = now();
    if (tty) {
      if (t - last < REDRAW_MS && !force) return;
      last = t;
      stream.write(`\r\x1b[2K${text}`);
      barShown = true;
    } else if (t - last >= intervalMs) {
      last = t;
      line(text);
    }
  };
  return (event) => {
    switch (event.kind) {
      case 'start':
        line(`training ${event.exits} exit head${event.exits === 1 ? '' : 's'} on a frozen backbone: ${event.trainSamples} train / ${event.valSamples} val images, ` +
          `targets ${event.targets}${event.distill === null ? '' : `, distillation ${event.distill}`}, ${event.epochs} epochs × ${event.batchesPerEpoch} batches, ` +
          `features cached in ${event.passes} backbone pass${event.passes === 1 ? '' : 'es'} (≤ ${gib(event.cacheBytes)}), ${event.threads ?? 'default'} threads`);
        return;
      case 'cache':
        status(`caching features (pass ${event.pass + 1}/${event.passes}, exits ${event.exits.join(', ')}): ${event.done}/${event.total} images`, event.done === event.total);
        return;
      case 'step':
        status(`exit ${event.exit} epoch ${event.epoch + 1}/${event.epochs} batch ${event.batch}/${event.batchesPerEpoch}: loss ${event.loss.toFixed(4)} acc ${pct(event.accuracy)}  ` +
          `${Math.round(event.samplesPerSecond)} samples/s  ETA ${formatDuration(event.etaSeconds)}`, false);
        return;
      case 'epoch': {
        const r = event.record;
        line(`exit ${event.exit} epoch ${r.epoch}/${event.epochs}: train loss ${r.loss.toFixed(4)} acc ${pct(r.trainAccuracy)}, val acc ${pct(r.valAccuracy)}, ` +
          `${Math.round(r.samplesPerSecond)} samples/s, ${formatDuration(r.seconds)} so far`);
        last = -Infinity;
        return;
      }
      case 'end':
        if (barShown) stream.write('\r\x1b[2K');
        barShown = false;
        return;
    }
  };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function gib(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?'; // a feature of unknown shape
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
