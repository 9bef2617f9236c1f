import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InspectReportSchema } from '../../src/schemas/inspect.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const example = join(root, 'examples/resnet-mnist.onnx');

function exitwise(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/exitwise.js'), ...args], { encoding: 'utf8', cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('inspect --json on the PyTorch-exported example matches the published schema and the model', () => {
  const r = exitwise('inspect', example, '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = InspectReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(report.inputs, [{ name: 'image', dataType: 'float32', shape: ['batch', 1, 28, 28] }]);
  assert.deepEqual(report.outputs, [{ name: 'logits', dataType: 'float32', shape: ['batch', 10] }]);
  assert.ok(Number.isInteger(report.params) && report.params > 100_000);
  // 15 convolutions dominate: a hand count of the stem conv alone is 2·16·9·28·28 = 225,792 FLOPs.
  assert.ok(report.flops > 225_792 * 10);
  assert.equal(report.opHistogram.Conv, 15);
  // Cut points: strictly between inputs and outputs, in graph order, cost never decreasing.
  const names = new Set([...report.inputs, ...report.outputs].map((t) => t.name));
  assert.ok(report.cutPoints.length >= 6, 'one cut point per residual block at least');
  for (const [i, c] of report.cutPoints.entries()) {
    assert.ok(!names.has(c.tensor));
    if (i > 0) assert.ok(c.flopsFraction >= report.cutPoints[i - 1]!.flopsFraction);
  }
  assert.ok(report.cutPoints[0]!.flopsFraction < 0.05);
});

test('inspect prints a readable report without --json', () => {
  const r = exitwise('inspect', example);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /input {2}image: float32 \[batch, 1, 28, 28\]/);
  assert.match(r.stdout, /candidate cut points/);
});

test('inspect on a missing file or garbage exits with the error class status and a code', () => {
  const missing = exitwise('inspect', '/nonexistent/model.onnx');
  assert.equal(missing.status, 74);
  assert.match(missing.stderr, /error EXW_IO: .*nonexistent/);
  assert.match(missing.stderr, /hint: /);

  const dir = mkdtempSync(join(tmpdir(), 'exw-cli-'));
  const garbage = join(dir, 'garbage.onnx');
  writeFileSync(garbage, Buffer.from('this is not a protobuf at all \xff\xff\xff\xff'));
  const bad = exitwise('inspect', garbage, '--json');
  assert.equal(bad.status, 65);
  assert.equal(JSON.parse(bad.stdout).error.code, 'EXW_MODEL_DECODE');
});

test('usage errors and --help', () => {
  const help = exitwise('inspect', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--json/);
  const usage = exitwise('inspect');
  assert.equal(usage.status, 64);
  assert.match(usage.stderr, /EXW_USAGE/);
  const unknown = exitwise('frobnicate');
  assert.equal(unknown.status, 64);
});
