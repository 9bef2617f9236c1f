import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { encode } from 'fast-png';
import { exitwiseInProcess as exitwise } from '../support/cli.ts';
import { AdaptiveRuntime } from '../../src/runtime/adaptive/index.ts';
import type { AdaptiveResult } from '../../src/runtime/adaptive/types.ts';
import { type RunReport, RunReportSchema } from '../../src/schemas/run.ts';
import { mnistSample } from '../support/mnist.ts';
import { makeTestBundle, type TestBundle } from '../runtime/adaptive/support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-cli-run-'));
const COUNT = 12;
let tb: TestBundle;
/** What the API answers on the same images, with the bundle's default policy. */
let expected: AdaptiveResult;
/** MNIST digits as 8-bit pixels `[COUNT, 28, 28]`. */
const pixels = Uint8Array.from(mnistSample(COUNT).images, (v) => Math.round(v * 255));
const digit = (i: number): Uint8Array => pixels.subarray(i * 784, (i + 1) * 784);
const file = (name: string, bytes: Uint8Array): string => {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
};
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

before(async () => {
  // A policy in the manifest that stops some digits early: the CLI must pick it up.
  tb = await makeTestBundle(tmp, { count: 96, policy: { kind: 'max-softmax', thresholds: [0.5, 0.5, 0.45] } });
  const runtime = await AdaptiveRuntime.open(tb.dir, { threads: 1 });
  expected = await runtime.run(tb.images.subarray(0, COUNT * 784), COUNT);
  await runtime.release();
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function assertAnswers(report: RunReport, indices: number[]): void {
  assert.equal(report.results.length, indices.length);
  report.results.forEach((r, j) => {
    const i = indices[j]!;
    assert.equal(r.prediction, expected.prediction[i], `input ${j} (digit ${i})`);
    assert.equal(r.class, `digit ${expected.prediction[i]}`);
    assert.equal(r.exit, expected.exitIndex[i]);
    assert.ok(Math.abs(r.confidence - expected.confidence[i]!) < 1e-6);
    assert.equal(r.flops, expected.flops[i]);
  });
}

describe('exitwise run', () => {
  it('answers PNG digits (gray, 16-bit, RGB, RGBA) and IDX arrays (plain, gzipped) like the API', async () => {
    const gray = file('d0.png', encode({ width: 28, height: 28, data: digit(0), channels: 1, depth: 8 }));
    const deep = file('d1.png', encode({ width: 28, height: 28, data: Uint16Array.from(digit(1), (v) => v * 257), channels: 1, depth: 16 }));
    const rgb = file('d2.png', encode({ width: 28, height: 28, data: Uint8Array.from({ length: 784 * 3 }, (_, p) => digit(2)[Math.floor(p / 3)]!), channels: 3, depth: 8 }));
    const rgba = file('d3.png', encode({ width: 28, height: 28, data: Uint8Array.from({ length: 784 * 4 }, (_, p) => (p % 4 === 3 ? 255 : digit(3)[Math.floor(p / 4)]!)), channels: 4, depth: 8 }));
    const array = file('rest.idx', idx([4, 28, 28], pixels.subarray(4 * 784, 8 * 784)));
    const zipped = file('more-idx3-ubyte.gz', gzipSync(idx([4, 28, 28], pixels.subarray(8 * 784, 12 * 784))));
    const r = await exitwise('run', tb.dir, gray, deep, rgb, rgba, array, zipped, '--threads', '1', '--batch', '5', '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = RunReportSchema.parse(JSON.parse(r.stdout));
    assertAnswers(report, Array.from({ length: COUNT }, (_, i) => i));
    assert.deepEqual(report.results.map((x) => x.index), [null, null, null, null, 0, 1, 2, 3, 0, 1, 2, 3]);
    assert.equal(report.policy.kind, 'max-softmax');
    assert.ok(report.summary.exitCounts.filter((n) => n > 0).length >= 2, `digits leave at several exits: ${report.summary.exitCounts}`);
    assert.equal(report.summary.exitCounts.reduce((a, b) => a + b, 0), COUNT);
    const { stages, exits } = tb.bundle.manifest;
    assert.equal(report.fullFlops, stages.reduce((s, x) => s + x.flops, 0) + exits.at(-1)!.flops);
  });

  it('prints a table and a summary without --json; --limit and --policy apply', async () => {
    const array = file('all.idx', idx([COUNT, 28, 28], pixels));
    const text = await exitwise('run', tb.dir, array, '--limit', '3', '--threads', '1');
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /all\.idx#2 +digit \d/);
    assert.match(text.stdout, /3 inputs \(max-softmax policy, node\): mean .* FLOPs/);
    const policy = file('late.json', new TextEncoder().encode(JSON.stringify({ kind: 'entropy', thresholds: [null, null, null] })));
    const late = await exitwise('run', tb.dir, array, '--policy', policy, '--json');
    assert.equal(late.status, 0, late.stderr);
    const report = RunReportSchema.parse(JSON.parse(late.stdout));
    assert.ok(report.results.every((x) => x.exit === 3));
    assert.equal(report.policy.kind, 'entropy');
  });

  it('refuses bad files with typed errors and exit statuses', async () => {
    const small = file('small.png', encode({ width: 20, height: 20, data: new Uint8Array(400), channels: 1, depth: 8 }));
    const cases: [string[], number, RegExp][] = [
      [[small], 64, /EXW_USAGE: .*small\.png is 20×20 pixels; the bundle takes 28×28/],
      [[file('notes.txt', new TextEncoder().encode('hello'))], 64, /EXW_USAGE: .*neither a PNG nor an IDX/],
      [[file('cut.png', encode({ width: 28, height: 28, data: digit(0), channels: 1, depth: 8 }).subarray(0, 60))], 66, /EXW_DATA: .*damaged PNG/],
      [[file('cut.idx', idx([2, 28, 28], pixels.subarray(0, 900)))], 66, /EXW_DATA: .*truncated/],
      [[file('labels.idx', idx([5], new Uint8Array(5)))], 64, /EXW_USAGE: .*not images/],
      [[join(tmp, 'missing.png')], 74, /EXW_IO: cannot read/],
      [[small, '--policy', file('bad.json', new TextEncoder().encode('{"kind": "max-softmax", "thresholds": [2]}'))], 65, /EXW_POLICY/],
    ];
    for (const [args, status, pattern] of cases) {
      const r = await exitwise('run', tb.dir, ...args);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /hint: /);
    }
    const missing = await exitwise('run', join(tmp, 'none.exitwise'), small, '--json');
    assert.equal(missing.status, 65);
    assert.equal(JSON.parse(missing.stdout).error.code, 'EXW_BUNDLE');
  });
});
