import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadBundle } from '../../src/bundle/io.ts';
import { runDemo } from '../../src/demo/run-demo.ts';

describe('runDemo (a small run of npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'exitwise-demo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains, tunes on val, evaluates and benchmarks on test, and writes a tuned bundle and a report', async () => {
    const steps: string[] = [];
    const result = await runDemo({ out: join(dir, 'run'), epochs: 1, limit: 3000, benchLimit: 64, benchRounds: 1, threads: 1, onStep: (s) => steps.push(s.title) });
    assert.equal(steps.length, 5);
    const { manifest } = loadBundle(result.bundle);
    assert.ok(manifest.policy !== undefined, 'the tuned policy is written into the bundle');
    assert.deepEqual(manifest.exits.map((e) => e.temperature), result.tuning.temperatures);
    // Tuned for a 0.5 pp drop on val: the val figures say so.
    assert.ok(result.tuning.val!.dropPp <= 0.5 + 1e-9);
    const adaptive = result.test.adaptive!;
    assert.equal(adaptive.samples, 10_000, 'evaluated on the whole test split');
    assert.equal(adaptive.exitCounts.reduce((a, b) => a + b, 0), 10_000);
    assert.ok(adaptive.flopsFraction > 0 && adaptive.flopsFraction < 1.06);
    assert.deepEqual(result.bench.batches.map((b) => b.batch), [1, 64]);
    for (const b of result.bench.batches) assert.equal(b.exitHistogram.reduce((x, y) => x + y, 0), 64);
    const html = readFileSync(result.report, 'utf8');
    assert.ok(html.includes('<svg') && !/<script\s+src=/.test(html));
    assert.ok(existsSync(join(dir, 'run', 'run.json')));
  });
});
