import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCountProgress } from '../../src/analysis/progress.ts';

function sink(isTTY: boolean) {
  const s = { text: '', isTTY, write(chunk: string) { s.text += chunk; return true; } };
  return s;
}

describe('createCountProgress', () => {
  it('in a log: a plain line at once, then at most one per interval, none for the end', () => {
    let t = 0;
    const stream = sink(false);
    const p = createCountProgress('val', { stream: stream as never, now: () => t, intervalSeconds: 10 });
    p.update(500, 2000);
    t = 5000;
    p.update(1000, 2000); // within the interval: silent
    t = 10_000;
    p.update(1500, 2000);
    p.update(2000, 2000);
    p.end();
    // No rate before half a second has passed: it would be noise.
    assert.equal(stream.text, 'val: 500/2000 (25%)\nval: 1500/2000 (75%), 150 samples/s, ETA 3s\n');
  });

  it('on a terminal: redraws one line in place and clears it at the end', () => {
    let t = 0;
    const stream = sink(true);
    const p = createCountProgress('test', { stream: stream as never, now: () => t });
    t = 1000;
    p.update(100, 200);
    t = 1050; // under the redraw interval: skipped
    p.update(150, 200);
    t = 2000;
    p.update(200, 200);
    p.end();
    assert.equal(stream.text, '\r\x1b[2Ktest: 100/200 (50%), 100 samples/s, ETA 1s\r\x1b[2Ktest: 200/200 (100%), 100 samples/s, ETA 0s\r\x1b[2K');
  });
});
