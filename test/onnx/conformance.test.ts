/**
 * Conformance of exitwise's model IO against ONNX's own test data (Debian libonnx-testdata) and
 * ONNX Runtime. Every model must decode, re-encode and decode to the same message with stable
 * bytes; every model ORT can run must give ONNX's expected outputs after our round trip unless
 * the original bytes miss them too. The tally is printed and written to
 * $EXITWISE_CONFORMANCE_JSON (default: <tmpdir>/exitwise-conformance.json).
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TensorProto_DataType } from '../../src/onnx/proto/onnx_pb.ts';
import { type Outcome, TESTDATA_ROOT, listCases, runCase } from './conformance-runner.ts';

/** Every suite with models; `real` holds only download links (data.json), no models. */
const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple', 'real'];
/** Models in Debian's libonnx-testdata 1.12: 932 node + 82 + 35 + 23. */
const EXPECTED_MODELS = 1072;
/**
 * 959 pass on ORT 1.30; the rest are ORT's own gaps (see the JSON). A floor well under that
 * catches a runner that silently stops comparing anything.
 */
const MIN_PASSED = 900;
const REPORT = process.env['EXITWISE_CONFORMANCE_JSON'] ?? join(tmpdir(), 'exitwise-conformance.json');
const haveTestdata = existsSync(TESTDATA_ROOT);
const skipWithout = haveTestdata ? false : `${TESTDATA_ROOT} missing: install Debian's libonnx-testdata`;

test('libonnx-testdata: every model round trips and runs on ORT as the original does', { skip: skipWithout }, async () => {
  const cases = listCases(SUITES);
  assert.equal(cases.length, EXPECTED_MODELS);
  const outcomes: Record<string, Outcome> = {};
  const tally = { passed: 0, skipped: 0, failed: 0, byteIdentical: 0, skippedBy: {} as Record<string, number>, failedBy: {} as Record<string, number> };
  for (const c of cases) {
    const outcome = await runCase(c);
    outcomes[c.id] = outcome;
    tally[outcome.status]++;
    if (outcome.status !== 'failed' && outcome.byteIdentical) tally.byteIdentical++;
    if (outcome.status === 'skipped') tally.skippedBy[outcome.reason] = (tally.skippedBy[outcome.reason] ?? 0) + 1;
    if (outcome.status === 'failed') tally.failedBy[outcome.reason] = (tally.failedBy[outcome.reason] ?? 0) + 1;
  }
  writeFileSync(REPORT, JSON.stringify({ total: cases.length, ...tally, outcomes }, null, 1));
  console.log(`conformance: ${cases.length} models, ${tally.passed} passed, ${tally.skipped} skipped, ${tally.failed} failed; `
    + `${tally.byteIdentical} re-encode byte-identical to the original file; details in ${REPORT}`);
  for (const [reason, n] of Object.entries(tally.skippedBy).sort((a, b) => b[1] - a[1])) console.log(`  skipped ${n}: ${reason}`);
  const failures = Object.entries(outcomes).filter(([, o]) => o.status === 'failed').map(([id, o]) => `${id}: ${JSON.stringify(o)}`);
  assert.deepEqual(failures, []);
  assert.ok(tally.passed >= MIN_PASSED, `only ${tally.passed} models passed`);
});

test('the conformance runner reports a round trip that changes a weight or an op', { skip: skipWithout }, async () => {
  const [conv] = listCases(['pytorch-converted']).filter((c) => c.id.endsWith('/test_Conv2d'));
  assert.ok(conv !== undefined);
  assert.equal((await runCase(conv)).status, 'passed');
  const scaled = await runCase(conv, {
    mutate: (model) => {
      const weight = model.graph!.initializer.find((t) => t.dataType === TensorProto_DataType.FLOAT)!;
      const values = new Float32Array(new Uint8Array(weight.rawData).buffer);
      values[0] = values[0]! * 2 + 1;
      weight.rawData = new Uint8Array(values.buffer);
    },
  });
  assert.deepEqual([scaled.status, scaled.status === 'failed' && scaled.reason], ['failed', 'round trip changed ORT results']);

  const [relu] = listCases(['node']).filter((c) => c.id.endsWith('/test_relu'));
  assert.ok(relu !== undefined);
  const swapped = await runCase(relu, { mutate: (model) => void (model.graph!.node[0]!.opType = 'Abs') });
  assert.equal(swapped.status, 'failed');
});
