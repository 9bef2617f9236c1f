import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readManifest, updateManifest } from '../../src/bundle/io.ts';
import { ReportSummarySchema } from '../../src/schemas/report.ts';
import { runCli, tinyBundle } from '../analysis/support.ts';

const root = mkdtempSync(join(tmpdir(), 'exw-cli-report-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'tiny.exitwise');
tinyBundle(dir); // untrained, 3 exits, uncalibrated, no policy, no profile; recorded split: val = 400 images

const profile = {
  kind: 'latency', backend: 'node', threads: 1, batch: 1, stageMs: [0.05, 0.08, 0.1], exitMs: [0.01, 0.01, 0.02],
  warmup: 5, repeats: 25, cpu: 'Test CPU', measuredAt: '2025-05-01T00:00:00.000Z',
};

describe('exitwise report', () => {
  it('writes a self-contained page of an uncalibrated bundle without a policy; --no-measure leaves latency out', async () => {
    const out = join(root, 'bare.html');
    const r = await runCli('report', dir, '--out', out, '--limit', '150', '--threads', '1', '--no-measure', '--json');
    assert.equal(r.status, 0, r.stderr);
    const s = ReportSummarySchema.parse(JSON.parse(r.stdout));
    assert.deepEqual([s.out, s.bundle, s.dataset, s.split, s.samples], [out, dir, 'mnist', 'test', 150]);
    assert.deepEqual(s.charts, ['tradeoff-flops', 'reliability-0', 'reliability-1', 'reliability-2']);
    assert.deepEqual([s.policy, s.latency, s.calibration], [null, null, 'fitted-on-val']);
    const html = readFileSync(out, 'utf8');
    assert.equal(Buffer.byteLength(html), s.bytes);
    assert.match(html, /<h1>tiny<small>early-exit report<\/small><\/h1>/);
    assert.equal(html.match(/<figure class="chart"/g)?.length, 4);
    assert.doesNotMatch(r.stderr, /error|warning/);
  });

  it('reports a tuned, calibrated bundle: operating point, latency measured now (not stored in the bundle)', async () => {
    updateManifest(dir, (m) => ({
      ...m,
      exits: m.exits.map((e, k) => ({ ...e, temperature: [1.5, 1.2, 1][k]! })),
      policy: { kind: 'max-softmax', exits: 3, thresholds: [0.105, 0.11] },
    }));
    const out = join(root, 'tuned.html');
    const r = await runCli('report', dir, '--out', out, '--limit', '100', '--threads', '1', '--json');
    assert.equal(r.status, 0, r.stderr);
    const s = ReportSummarySchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(s.charts, ['exit-histogram', 'tradeoff-flops', 'tradeoff-latency', 'reliability-0', 'reliability-1', 'reliability-2']);
    assert.equal(s.calibration, 'manifest');
    assert.equal(s.policy?.kind, 'max-softmax');
    assert.ok(s.policy!.expectedMs! > 0 && s.policy!.flopsFraction > 0);
    assert.match(s.latency!, /^measured for this report \(not stored in the bundle\): .*onnxruntime-node, 1 thread, batch 1/);
    assert.match(r.stderr, /measuring latency profile cpu-1t-b1/);
    assert.doesNotMatch(r.stderr, /val: running/, 'a calibrated bundle needs no validation outputs');
    assert.equal(readManifest(dir).profiles, undefined, 'a report never changes the bundle');
    assert.ok(existsSync(out));
  });

  it('takes latency from a stored profile and prints a summary; unknown profiles and bundles are typed errors', async () => {
    updateManifest(dir, (m) => ({ ...m, profiles: { 'cpu-1t-b1': profile } }));
    const out = join(root, 'profiled.html');
    const r = await runCli('report', dir, '--out', out, '--limit', '50', '--threads', '1', '--profile', 'cpu-1t-b1', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^wrote .*profiled\.html \(\d+ kB, 6 charts\): .*tiny\.exitwise on mnist test, 50 samples\n/);
    assert.match(r.stdout, /policy: max-softmax, accuracy [\d.]+% vs [\d.]+% final at [\d.]+% of the FLOPs, [\d.]+ ms\/sample/);
    assert.match(r.stdout, /latency: profile "cpu-1t-b1" of the bundle: Test CPU, onnxruntime-node, 1 thread, batch 1, median of 25 runs, 2025-05-01/);
    assert.match(readFileSync(out, 'utf8'), /Measured: profile cpu-1t-b1 of the bundle/);

    const unknown = await runCli('report', dir, '--out', join(root, 'x.html'), '--profile', 'gpu-8t-b1', '--json');
    assert.equal(unknown.status, 64);
    assert.equal(JSON.parse(unknown.stdout).error.code, 'EXW_USAGE');
    assert.match(unknown.stderr, /no latency profile "gpu-8t-b1"[\s\S]*hint: Stored profiles: cpu-1t-b1/);
    const missing = await runCli('report', join(root, 'nope.exitwise'), '--out', join(root, 'y.html'));
    assert.equal(missing.status, 65);
    assert.match(missing.stderr, /error EXW_BUNDLE/);
    assert.ok(!existsSync(join(root, 'x.html')) && !existsSync(join(root, 'y.html')));
    const noOut = await runCli('report', dir);
    assert.equal(noOut.status, 64);
    assert.match(noOut.stderr, /--out <file>/);
  });
});
