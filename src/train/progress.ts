/**
 * Training progress: the events a run reports, and a printer for them. On a terminal the printer
 * redraws one status line in place (a bar with loss, accuracy, samples/s and ETA); in a log file
 * or a pipe, where carriage returns would pile up, it writes a plain line every `intervalSeconds`
 * and one per epoch.
 */

/** One finished epoch. Losses are mean cross-entropy; accuracies fractions in [0, 1]. */
export interface EpochRecord {
  /** Epochs done, from 1. */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Over the epoch's batches, as trained (augmented inputs, BatchNorm on batch statistics). */
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  /** Validation accuracy of every exit, final last (multi-exit runs only). */
  exitValAccuracy?: number[] | undefined;
  /** Training samples per second of the epoch's steps (evaluation excluded). */
  samplesPerSecond: number;
  /** Wall time of the run so far, evaluation and checkpoints included, across resumes. */
  seconds: number;
}

export type TrainEvent =
  | {
    kind: 'start'; runDir: string; dataset: string; arch: string; params: number; threads: number | undefined;
    trainSamples: number; valSamples: number; epochs: number; batchesPerEpoch: number;
    /** Where a resumed run continues; absent for a new run. */
    resumedAt?: { epoch: number; batch: number; step: number };
  }
  | {
    /** `epoch` counts from 0; `batch` is the batches of it done, this one included (1…batchesPerEpoch). */
    kind: 'step'; epoch: number; epochs: number; batch: number; batchesPerEpoch: number; step: number; totalSteps: number;
    /** Running means over the epoch so far. */
    loss: number; accuracy: number; lr: number;
    /** Recent throughput, and the estimated time left for the remaining steps at that rate. */
    samplesPerSecond: number; etaSeconds: number;
  }
  | { kind: 'evaluate'; split: 'val' | 'test' }
  | { kind: 'epoch'; record: EpochRecord; epochs: number }
  | { kind: 'checkpoint'; path: string; epoch: number; batch: number; step: number }
  /** The run is over, finished or not (sent before the result or the error). */
  | { kind: 'end' };

export interface ProgressPrinterOptions {
  /** Default `process.stderr` (stdout is for results, e.g. `--json`). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Redraw a bar in place (default: whether the stream is a terminal). */
  tty?: boolean;
  /** Seconds between plain progress lines when not on a terminal (default 10). */
  intervalSeconds?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/** Terminal redraws at most this often: more is invisible and costs time. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

/**
 * A progress callback that prints to a stream.
 *
 * @example
 * await train(config, { out: 'runs/fashion', onProgress: createProgressPrinter() });
 */
export function createProgressPrinter(options: ProgressPrinterOptions = {}): (event: TrainEvent) => void {
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
  return (event) => {
    switch (event.kind) {
      case 'start': {
        const resumed = event.resumedAt === undefined ? '' : `; resuming at epoch ${event.resumedAt.epoch + 1}, batch ${event.resumedAt.batch} (step ${event.resumedAt.step})`;
        line(`training ${event.arch} (${event.params.toLocaleString('en-US')} params) on ${event.dataset}: ${event.trainSamples} train / ${event.valSamples} val images, ` +
          `${event.epochs} epochs × ${event.batchesPerEpoch} batches, ${event.threads ?? 'default'} threads → ${event.runDir}${resumed}`);
        return;
      }
      case 'step': {
        const t = now();
        const finalStep = event.batch === event.batchesPerEpoch;
        if (tty) {
          if (t - last < REDRAW_MS && !finalStep) return;
          last = t;
          const width = Math.max(0, Math.min(BAR_WIDTH, (stream.columns ?? 100) - 80));
          const filled = Math.round((width * event.batch) / event.batchesPerEpoch);
          const bar = width === 0 ? '' : ` [${'='.repeat(filled)}${' '.repeat(width - filled)}]`;
          stream.write(`\r\x1b[2Kepoch ${event.epoch + 1}/${event.epochs}${bar} ${event.batch}/${event.batchesPerEpoch}  ${stepFigures(event)}`);
          barShown = true;
        } else if (t - last >= intervalMs) {
          // The first step prints at once, so a log shows early that training runs.
          last = t;
          line(`epoch ${event.epoch + 1}/${event.epochs} batch ${event.batch}/${event.batchesPerEpoch}: ${stepFigures(event)}, lr ${event.lr.toPrecision(3)}`);
        }
        return;
      }
      case 'evaluate':
        if (tty) {
          stream.write(`\r\x1b[2Kevaluating on ${event.split}…`);
          barShown = true;
        }
        return;
      case 'epoch': {
        const r = event.record;
        line(`epoch ${r.epoch}/${event.epochs}: train loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}, ` +
          `val loss ${r.valLoss.toFixed(4)} acc ${pct(r.valAccuracy)}` +
          `${r.exitValAccuracy === undefined ? '' : ` (exits ${r.exitValAccuracy.map(pct).join(' ')})`}, ${Math.round(r.samplesPerSecond)} samples/s, ${formatDuration(r.seconds)} so far`);
        last = -Infinity;
        return;
      }
      case 'checkpoint':
        return; // frequent and uneventful; the run folder shows them
      case 'end':
        if (barShown) stream.write('\r\x1b[2K');
        barShown = false;
        return;
    }
  };
}

function stepFigures(e: Extract<TrainEvent, { kind: 'step' }>): string {
  return `loss ${e.loss.toFixed(4)} acc ${pct(e.accuracy)}  ${Math.round(e.samplesPerSecond)} samples/s  ETA ${formatDuration(e.etaSeconds)}`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** `1h02m`, `12m31s`, `45s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
