import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadBundle, readManifest, updateManifest } from '../../src/bundle/io.ts';
import { policyFromJson } from '../../src/exits/policies/registry.ts';
import { EvalReportSchema } from '../../src/schemas/eval.ts';
import { LatencyProfileSchema } from '../../src/schemas/profile.ts';
import { TuneReportSchema } from '../../src/schemas/tune.ts';
import { runCli, tinyBundle } from '../analysis/support.ts';

const root = mkdtempSync(join(tmpdir(), 'exw-cli-tune-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'tiny.exitwise');
tinyBundle(dir);
const manifestText = (): string => readFileSync(join(dir, 'manifest.json'), 'utf8');

describe('exitwise tune', () => {
  it('--max-drop tunes on val and writes the policy and temperatures; eval on val then reproduces the tuned figures', async () => {
    const r = await runCli('tune', dir, '--max-drop', '2', '--threads', '1', '--quiet', '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = TuneReportSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual([report.split, report.val.samples, report.policy.kind, report.certification], ['val', 400, 'max-softmax', null]);
    assert.ok(report.val.dropPp <= 2 + 1e-9);
    assert.equal(report.thresholds!.length, 2);
    const loaded = loadBundle(dir).manifest;
    assert.deepEqual(loaded.policy, report.policy);
    assert.deepEqual(loaded.exits.map((e) => e.temperature), report.temperatures);
    assert.equal(policyFromJson(loaded.policy, { exits: 3 }).kind, 'max-softmax');

    const e = await runCli('eval', dir, '--split', 'val', '--threads', '1', '--quiet', '--json');
    assert.equal(e.status, 0, e.stderr);
    const evaluation = EvalReportSchema.parse(JSON.parse(e.stdout));
    const { policy, ...figures } = evaluation.adaptive!;
    assert.deepEqual(policy, report.policy);
    assert.deepEqual(figures, report.val);
    evaluation.exits.forEach((x, k) => assert.equal(x.temperature, report.temperatures[k]));
  });

  it('prints a summary without --json', async () => {
    const r = await runCli('tune', dir, '--flops-budget', '0.9', '--policy', 'entropy', '--threads', '1', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tuned entropy on mnist val \(400 samples\) for ≤ [\d.]+[kM] FLOPs\/sample \(90\.0% of the full model\), best accuracy\n {2}thresholds /);
    assert.match(r.stdout, /val accuracy +[\d.]+% adaptive vs [\d.]+% full/);
    assert.match(r.stdout, /written to +.*tiny\.exitwise\/manifest\.json/);
    assert.equal(readManifest(dir).policy?.kind, 'entropy');
  });

  it('--latency-budget measures a profile once per machine, stores it, and tunes with it', async () => {
    const r = await runCli('tune', dir, '--latency-budget', '100', '--threads', '1', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /measuring latency profile cpu-1t-b1/);
    const report = TuneReportSchema.parse(JSON.parse(r.stdout));
    assert.equal(report.profile, 'cpu-1t-b1');
    assert.ok(report.val.expectedMs! <= 100);
    const stored = LatencyProfileSchema.parse(readManifest(dir).profiles?.['cpu-1t-b1']);
    assert.deepEqual([stored.threads, stored.batch, stored.stageMs.length], [1, 1, 3]);
    const again = await runCli('tune', dir, '--latency-budget', '100', '--threads', '1', '--json');
    assert.doesNotMatch(again.stderr, /measuring/);
    assert.deepEqual(LatencyProfileSchema.parse(readManifest(dir).profiles?.['cpu-1t-b1']), stored);
    updateManifest(dir, (m) => ({ ...m, profiles: { 'cpu-1t-b1': { ...stored, cpu: 'Another CPU' } } }));
    const elsewhere = await runCli('tune', dir, '--latency-budget', '100', '--threads', '1', '--json');
    assert.equal(elsewhere.status, 0, elsewhere.stderr);
    assert.match(elsewhere.stderr, /measuring latency profile cpu-1t-b1 \(the bundle's was measured on Another CPU\)/);
    assert.equal(LatencyProfileSchema.parse(readManifest(dir).profiles?.['cpu-1t-b1']).cpu, stored.cpu);
  });

  it('a target it cannot certify or meet is EXW_POLICY, and the bundle is left unchanged', async () => {
    const before = manifestText();
    const strict = await runCli('tune', dir, '--max-drop', '0.5', '--delta', '0.01', '--threads', '1', '--quiet', '--json');
    assert.equal(strict.status, 65);
    const error = JSON.parse(strict.stdout).error;
    assert.equal(error.code, 'EXW_POLICY');
    assert.match(error.message, /cannot certify an accuracy drop ≤ 0\.5 pp with probability ≥ 0\.99: 200 certification samples cannot certify/);
    assert.match(error.message, /the bundle was not changed/);
    const budget = await runCli('tune', dir, '--flops-budget', '0.01', '--threads', '1', '--quiet');
    assert.equal(budget.status, 65);
    assert.match(budget.stderr, /below the cost of exit 0/);
    assert.equal(manifestText(), before);
  });

  it('usage errors: no target, two targets, --delta without --max-drop, an unknown policy', async () => {
    for (const [args, pattern] of [
      [[], /give exactly one target \(none given\)/],
      [['--max-drop', '1', '--flops-budget', '0.5'], /give exactly one target \(2 given\)/],
      [['--flops-budget', '0.5', '--delta', '0.1'], /--delta certifies an accuracy drop/],
      [['--max-drop', '1', '--policy', 'oracle'], /Allowed choices are max-softmax, entropy/],
      [['--max-drop', '1', '--delta', '2'], /expected a number in \(0, 1\)/],
    ] as const) {
      const r = await runCli('tune', dir, ...args);
      assert.equal(r.status, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});
