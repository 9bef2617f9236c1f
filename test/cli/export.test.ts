import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { saveBundle } from '../../src/bundle/io.ts';
import { exportSubnet } from '../../src/bundle/subnet.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import { encodeModel, loadModel } from '../../src/onnx/model-io.ts';
import { ExportReportSchema } from '../../src/schemas/export.ts';
import { exitwiseInProcess, tinyBundle } from '../bundle/subnet-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-cli-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const { bundle } = tinyBundle();
const dir = join(tmp, 'tiny.exitwise');
saveBundle(dir, bundle);

describe('exitwise export', () => {
  it('--json writes exportSubnet\'s model and reports its cost next to the full model\'s', async () => {
    const out = join(tmp, 'exit1.onnx');
    const r = await exitwiseInProcess('export', dir, '--subnet', '1', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = ExportReportSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(encodeModel(loadModel(out)), encodeModel(exportSubnet(bundle, 1)));
    const [subnet, full] = [analyzeCost(exportSubnet(bundle, 1)), analyzeCost(exportSubnet(bundle, 2))];
    assert.deepEqual(report, {
      bundle: dir, out, exit: 1, exits: 3, input: 'image', output: 'logits',
      subnet: { params: subnet.totalParams, flops: subnet.totalFlops }, full: { params: full.totalParams, flops: full.totalFlops },
      flopsFraction: subnet.totalFlops / full.totalFlops,
    });
    assert.ok(report.flopsFraction > 0.2 && report.flopsFraction < 0.9, `${report.flopsFraction}`);
  });

  it('prints a short summary without --json; the last exit is the full model', async () => {
    const out = join(tmp, 'full.onnx');
    const r = await exitwiseInProcess('export', dir, '--subnet', '2', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*full\.onnx: the full model of .*tiny\.exitwise \(input "image", output "logits"\)\n {2}params +[\d.]+k? +of [\d.]+k? \(100\.0%\)\n {2}FLOPs +[\d.]+M +of [\d.]+M per sample \(100\.0%\)\n$/);
  });

  it('refuses an exit the bundle does not have, listing the valid ones, and writes nothing', async () => {
    const out = join(tmp, 'never.onnx');
    const r = await exitwiseInProcess('export', dir, '--subnet', '3', '--out', out, '--json');
    assert.equal(r.status, 64);
    assert.deepEqual(JSON.parse(r.stdout).error, { code: 'EXW_USAGE', message: 'exit 3 does not exist: the bundle has exits 0..2', hint: 'Pick K in 0, 1, 2 (2 is the full model).' });
    assert.ok(!existsSync(out));
    const bad = await exitwiseInProcess('export', dir, '--subnet', 'one', '--out', out);
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /error EXW_USAGE: option '--subnet <K>' argument 'one' is invalid\. expected an integer ≥ 0\./);
    const missing = await exitwiseInProcess('export', dir, '--out', out);
    assert.equal(missing.status, 64);
    assert.match(missing.stderr, /required option '--subnet <K>' not specified/);
  });

  it('refuses a folder that is not a bundle', async () => {
    const r = await exitwiseInProcess('export', tmp, '--subnet', '0', '--out', join(tmp, 'x.onnx'));
    assert.equal(r.status, 65);
    assert.match(r.stderr, /error EXW_BUNDLE: .* holds no manifest\.json/);
  });
});
