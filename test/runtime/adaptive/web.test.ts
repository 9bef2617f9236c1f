// The same runtime on onnxruntime-web's wasm backend, in Node: the code path browsers take.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { ExitPolicy } from '../../../src/exits/policies/policy.ts';
import { fitPolicy } from '../../../src/exits/policies/registry.ts';
import { AdaptiveRuntime } from '../../../src/runtime/adaptive/index.ts';
import { makeTestBundle, type TestBundle, tunedThresholds } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'exitwise-adaptive-web-'));
let tb: TestBundle;
let node: AdaptiveRuntime;
let web: AdaptiveRuntime;

before(async () => {
  tb = await makeTestBundle(root);
  node = await AdaptiveRuntime.open(tb.dir, { backend: 'node', threads: 1 });
  web = await AdaptiveRuntime.open(tb.dir, { backend: 'web', threads: 1 });
});
after(async () => {
  await Promise.all([node?.release(), web?.release()]);
  rmSync(root, { recursive: true, force: true });
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

it('web gives the node backend\'s exit decisions and logits (within 1e-4) under run and budgeted', async () => {
  assert.equal(web.backend, 'web');
  const policies: ExitPolicy[] = [
    tunedThresholds(fitPolicy('max-softmax', tb.reference, tb.labels, { temperatures: [1.5, 1.2, 1.1, 1] }) as never, tb.reference, 0.3),
    fitPolicy('patience', tb.reference, tb.labels, { patience: 2 }),
  ];
  for (const policy of policies) {
    const [a, b] = [await node.run(tb.images, tb.count, { policy }), await web.run(tb.images, tb.count, { policy })];
    assert.deepEqual(b.exitIndex, a.exitIndex, policy.kind);
    assert.deepEqual(b.prediction, a.prediction, policy.kind);
    assert.ok(maxDiff(b.logits, a.logits) < 1e-4, `${policy.kind}: logits differ by ${maxDiff(b.logits, a.logits)}`);
    assert.ok(new Set(a.exitIndex).size >= 2);
    if (node.notCompiledBecause(policy) === undefined) {
      // The compiled model's one-input graph, on wasm too.
      for (let i = 0; i < 6; i++) {
        const one = await web.run(tb.images.subarray(i * 784, (i + 1) * 784), 1, { policy });
        assert.equal(one.exitIndex[0], a.exitIndex[i], `${policy.kind}: input ${i} alone on web`);
      }
    }
  }
  const { stages, exits } = tb.bundle.manifest;
  const flops = Math.round(tb.count * (stages[0]!.flops + exits[0]!.flops) + 0.3 * tb.count * exits.at(-1)!.cumulativeFlops);
  const [bn, bw] = [await node.budgeted(tb.images, tb.count, { flops }), await web.budgeted(tb.images, tb.count, { flops })];
  assert.deepEqual(bw.exitIndex, bn.exitIndex);
  assert.equal(bw.spent.flops, bn.spent.flops);
  assert.ok(bw.spent.flops <= flops);
});
