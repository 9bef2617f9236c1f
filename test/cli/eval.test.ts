import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collectExitOutputs } from '../../src/analysis/collect.ts';
import { evaluateOutputs } from '../../src/analysis/evaluate.ts';
import { bundleSplitData } from '../../src/bundle/data.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { EvalReportSchema } from '../../src/schemas/eval.ts';
import { runCli, tinyBundle } from '../analysis/support.ts';

const root = mkdtempSync(join(tmpdir(), 'exw-cli-eval-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'tiny.exitwise');
const { manifest } = tinyBundle(dir);

describe('exitwise eval', () => {
  it('--json prints the figures of every exit, the oracle and overthinking, as evaluateOutputs computes them', async () => {
    const r = await runCli('eval', dir, '--split', 'val', '--limit', '200', '--threads', '1', '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = EvalReportSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual([report.dataset, report.split, report.samples, report.exits.length], ['mnist', 'val', 200, 3]);
    assert.equal(r.stderr, '', 'one batch in a log: no progress line');
    const val = bundleSplitData(manifest, await loadDataset('mnist'), 'val');
    const indices = val.indices.subarray(0, 200);
    const { outputs, labels } = await collectExitOutputs(dir, { ...val, indices, count: 200 }, { threads: 1 });
    const expected = evaluateOutputs(manifest, outputs, labels);
    const { bundle: _b, dataset: _d, split: _s, seconds: _t, ...figures } = report;
    assert.deepEqual(figures, JSON.parse(JSON.stringify(expected)));
    assert.equal(report.adaptive, null);
    assert.deepEqual(report.exits.map((e) => e.cumulativeFlops), manifest.exits.map((e) => e.cumulativeFlops));
  });

  it('prints a table by default (the dataset defaults to the bundle\'s own)', async () => {
    const r = await runCli('eval', dir, '--limit', '100', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /on mnist test \(100 samples\); full model [\d.]+[kM] FLOPs\/sample/);
    assert.match(r.stdout, /exit +accuracy +FLOPs +of full +ECE raw → calibrated +T\n/);
    assert.match(r.stdout, /2 \(final\) /);
    assert.match(r.stdout, /oracle accuracy +[\d.]+%/);
    assert.match(r.stdout, /overthinking +wasteful [\d.]+% .*destructive [\d.]+%/);
    assert.match(r.stdout, /policy +none in the bundle/);
  });

  it('gives typed errors for a missing bundle, an unknown dataset or split', async () => {
    const missing = await runCli('eval', join(root, 'nope.exitwise'), '--json');
    assert.equal(missing.status, 65);
    assert.equal(JSON.parse(missing.stdout).error.code, 'EXW_BUNDLE');
    const dataset = await runCli('eval', dir, '--dataset', 'cifar');
    assert.equal(dataset.status, 64);
    assert.match(dataset.stderr, /unknown dataset "cifar"/);
    const split = await runCli('eval', dir, '--split', 'holdout');
    assert.equal(split.status, 64);
    assert.match(split.stderr, /Allowed choices are train, val, test/);
  });
});
