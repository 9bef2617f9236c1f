/** The progress printer: a bar redrawn in place on a terminal, plain periodic lines elsewhere. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgressPrinter, formatDuration, type TrainEvent } from '../../src/train/progress.ts';

/** A stream that records what is written, and a clock the test moves. */
function capture(tty: boolean) {
  const writes: string[] = [];
  let ms = 0;
  const stream = { isTTY: tty, columns: 120, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WritableStream;
  const print = createProgressPrinter({ stream, intervalSeconds: 10, now: () => ms });
  return { writes, print, advance: (seconds: number) => (ms += seconds * 1000) };
}

const step = (batch: number): TrainEvent => ({
  kind: 'step', epoch: 0, epochs: 3, batch, batchesPerEpoch: 100, step: batch, totalSteps: 300,
  loss: 0.5, accuracy: 0.875, lr: 0.1, samplesPerSecond: 640, etaSeconds: 754,
});
const epoch: TrainEvent = {
  kind: 'epoch', epochs: 3,
  record: { epoch: 1, step: 100, lr: 0.09, trainLoss: 0.5, trainAccuracy: 0.875, valLoss: 0.4, valAccuracy: 0.9, samplesPerSecond: 640, seconds: 75 },
};

describe('progress printer', () => {
  it('writes a plain line at the first step, then every 10 s, and one per epoch, when not on a terminal', () => {
    const { writes, print, advance } = capture(false);
    for (let b = 1; b <= 100; b++) {
      print(step(b));
      advance(0.25);
    }
    print({ kind: 'evaluate', split: 'val' });
    print(epoch);
    assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r')), 'no carriage returns in a log');
    assert.equal(writes.length, 3 + 1, 'steps 1, 41, 81 (every 40 × 0.25 s) and the epoch');
    assert.equal(writes[0], 'epoch 1/3 batch 1/100: loss 0.5000 acc 87.50%  640 samples/s  ETA 12m34s, lr 0.100\n');
    assert.match(writes[1]!, /^epoch 1\/3 batch 41\/100/);
    assert.equal(writes.at(-1), 'epoch 1/3: train loss 0.5000 acc 87.50%, val loss 0.4000 acc 90.00%, 640 samples/s, 1m15s so far\n');
  });

  it('redraws one line in place on a terminal, at most every 100 ms, and ends it before an epoch line', () => {
    const { writes, print, advance } = capture(true);
    for (let b = 1; b <= 100; b++) {
      print(step(b));
      advance(0.02);
    }
    print(epoch);
    const redraws = writes.filter((w) => w.startsWith('\r\x1b[2Kepoch 1/3 ['));
    assert.ok(redraws.length >= 20 && redraws.length <= 22, `${redraws.length} redraws over 2 s`);
    assert.ok(redraws.every((w) => !w.endsWith('\n')));
    assert.match(redraws.at(-1)!, /\[={24}\] 100\/100 {2}loss 0\.5000 acc 87\.50% {2}640 samples\/s {2}ETA 12m34s$/, 'the last batch always shows');
    assert.equal(writes.at(-2), '\r\x1b[2K', 'the bar is cleared');
    assert.match(writes.at(-1)!, /^epoch 1\/3: train loss/);
    print({ kind: 'evaluate', split: 'test' });
    print({ kind: 'end' });
    assert.deepEqual(writes.slice(-2), ['\r\x1b[2Kevaluating on test…', '\r\x1b[2K'], 'the status line is cleared at the end, before the result');
    const count = writes.length;
    print({ kind: 'end' });
    assert.equal(writes.length, count, 'nothing more to clear');
  });

  it('formats durations', () => {
    assert.deepEqual([45, 754, 3720, Infinity].map(formatDuration), ['45s', '12m34s', '1h02m', '?']);
  });
});
