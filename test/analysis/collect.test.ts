import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectExitOutputs } from '../../src/analysis/collect.ts';
import { bundleSplitData, type BundleData } from '../../src/bundle/data.ts';
import { loadBundle } from '../../src/bundle/io.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { isExitwiseError } from '../../src/errors.ts';
import type { MultiExitModel } from '../../src/exits/attach.ts';
import { createSession } from '../../src/runtime/session.ts';
import type { BundleManifest } from '../../src/schemas/bundle.ts';
import { tinyBundle } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'exw-collect-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The first `n` samples of a split. */
function head(data: BundleData, n: number): BundleData {
  const indices = data.indices.subarray(0, n);
  return { ...data, indices, count: n };
}

/** The reference: the unsplit multi-exit model as ONE ORT session, on inputs preprocessed here by the formula (not the loader). */
async function reference(multi: MultiExitModel, data: BundleData, mean: number, std: number): Promise<Float32Array[]> {
  const pixels = 28 * 28;
  const x = new Float32Array(data.indices.length * pixels);
  data.indices.forEach((s, i) => {
    for (let p = 0; p < pixels; p++) x[i * pixels + p] = (data.images[s * pixels + p]! / 255 - mean) / std;
  });
  const session = await createSession(multi.model, { threads: 1 });
  try {
    const out = await session.run({ image: { type: 'float32', dims: [data.indices.length, 1, 28, 28], data: x } });
    return multi.exitLogits.map((name) => out[name]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('collectExitOutputs', () => {
  const dir = join(root, 'tiny.exitwise');
  let multi: MultiExitModel;
  let manifest: BundleManifest;
  let val: BundleData;

  before(async () => {
    ({ multi, manifest } = tinyBundle(dir));
    val = bundleSplitData(manifest, await loadDataset('mnist'), 'val');
  });

  it('returns every exit\'s raw logits in sample order, equal to the unsplit multi-exit model within 1e-5 (batches that do not divide the split)', async () => {
    const data = head(val, 300);
    const seen: number[] = [];
    const { outputs, labels } = await collectExitOutputs(dir, data, { threads: 1, batchSize: 128, onProgress: (done, total) => { assert.equal(total, 300); seen.push(done); } });
    assert.deepEqual(seen, [128, 256, 300]);
    assert.equal(outputs.logits.length, 3);
    assert.deepEqual([outputs.samples, outputs.classes], [300, 10]);
    assert.deepEqual(Array.from(labels), Array.from(data.indices, (i) => data.labels[i]!));
    const expected = await reference(multi, data, 0.1307, 0.3081);
    outputs.logits.forEach((l, k) => assert.ok(maxDiff(l, expected[k]!) < 1e-5, `exit ${k}: ${maxDiff(l, expected[k]!)}`));
  });

  it('reads a bundle in memory the same as its folder', async () => {
    const data = head(val, 60);
    const fromDir = await collectExitOutputs(dir, data, { threads: 1 });
    const fromMemory = await collectExitOutputs(loadBundle(dir), data, { threads: 1, batchSize: 25 });
    fromDir.outputs.logits.forEach((l, k) => assert.ok(maxDiff(l, fromMemory.outputs.logits[k]!) < 1e-6));
  });

  it('refuses a bad batch size and a folder that is no bundle', async () => {
    await assert.rejects(collectExitOutputs(dir, val, { batchSize: 0 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    await assert.rejects(collectExitOutputs(root, val), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE') && /holds no manifest\.json/.test(e.message));
  });
});
