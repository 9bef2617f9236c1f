import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleSplitData } from '../../src/bundle/data.ts';
import { type Bundle, loadBundle } from '../../src/bundle/io.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { float32Tensor } from '../../src/runtime/tensor.ts';
import { inputBatch } from '../../src/train/heads-only/features.ts';
import { type AttachReport, AttachReportSchema } from '../../src/schemas/attach.ts';
import { exitwise, FIXTURE, FIXTURE_PREPROCESSING, FIXTURE_REF, runSegments } from './attach-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-cli-attach-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** PyTorch's logits on the first MNIST test images (scripts/fixtures/make-torch-classifier.py). */
const reference = JSON.parse(readFileSync(FIXTURE_REF, 'utf8')) as { images: number; logits: { dims: number[]; data: number[] }; predictions: number[] };

describe('exitwise attach on a PyTorch-trained classifier', () => {
  const out = join(tmp, 'torch.exitwise');
  let report: AttachReport;
  let bundle: Bundle;
  let mnist: Dataset;

  before(async () => {
    // Two exits with 8-channel conv heads (the default 5% budget would leave this 4.8 MFLOPs model only 4-channel ones).
    const r = await exitwise('attach', FIXTURE, '--dataset', 'mnist', ...FIXTURE_PREPROCESSING, '--at', '0.45,0.75', '--head', '{"kind":"conv-pool-linear","channels":8}',
      '--budget', '0.2', '--limit', '3000', '--epochs', '2', '--batch', '32', '--lr', '0.01', '--threads', '1', '--out', out, '--json', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    report = AttachReportSchema.parse(JSON.parse(r.stdout));
    bundle = loadBundle(out);
    mnist = await loadDataset('mnist');
  });

  it('reports every exit, its head and what training made of it', () => {
    assert.equal(report.exits.length, 3);
    assert.deepEqual(report.exits.map((e) => e.tensor), ['/blocks/blocks.0/Relu_1_output_0', '/blocks/blocks.1/Relu_1_output_0', '/Flatten_output_0']);
    assert.deepEqual(report.exits.map((e) => e.head?.kind ?? null), ['conv-pool-linear', 'conv-pool-linear', null]);
    assert.deepEqual([report.training.trainImages, report.training.valImages, report.training.epochs, report.training.targets], [2700, 300, 2, 'labels']);
    // Chance is 10%; the final exit is the PyTorch model (≈ 95%).
    assert.ok(report.exits[0]!.valAccuracy > 0.25 && report.exits[1]!.valAccuracy > 0.6, JSON.stringify(report.exits.map((e) => e.valAccuracy)));
    assert.ok(report.exits[2]!.valAccuracy > 0.9);
    assert.ok(report.exits.every((e, k) => k === 2 ? e.history.length === 0 : e.history.length === 2));
    assert.ok(report.exits[0]!.flopsFraction < report.exits[1]!.flopsFraction && report.exits[2]!.flopsFraction === 1);
    assert.ok(report.heads.withinBudget && report.heads.flopsFraction <= 0.2);
  });

  it('records the preprocessing, split and strategy in the manifest', () => {
    const m = bundle.manifest;
    assert.deepEqual(m.input.preprocessing, { scale: 1 / 255, mean: [0.1307], std: [0.3081], layout: 'NCHW' });
    assert.deepEqual(m.provenance.split, { valFraction: 0.1, seed: 0, limit: 3000 });
    assert.deepEqual([m.provenance.dataset, m.provenance.strategy], ['mnist', 'exits-only']);
    assert.deepEqual(m.task.classes, mnist.classes);
  });

  it('its final exit, run through the segments, reproduces PyTorch\'s predictions', async () => {
    const test = bundleSplitData(bundle.manifest, mnist, 'test');
    const rows = test.indices.subarray(0, reference.images);
    const logits = await runSegments(bundle, float32Tensor(inputBatch(test, rows), [rows.length, ...test.inputDims]));
    const final = logits.at(-1)!;
    let worst = 0;
    for (let i = 0; i < reference.logits.data.length; i++) worst = Math.max(worst, Math.abs(final[i]! - reference.logits.data[i]!));
    assert.ok(worst < 1e-4, `final logits differ from PyTorch's by up to ${worst}`);
    for (let n = 0; n < reference.images; n++) {
      const row = Array.from(final.subarray(n * 10, n * 10 + 10));
      assert.equal(row.indexOf(Math.max(...row)), reference.predictions[n], `image ${n}`);
    }
    // The early exits answer too, mostly right on these easy digits.
    const right = (k: number) => reference.predictions.filter((p, n) => {
      const row = Array.from(logits[k]!.subarray(n * 10, n * 10 + 10));
      return row.indexOf(Math.max(...row)) === p;
    }).length;
    assert.ok(right(1) > reference.images / 2, `exit 1 agrees with PyTorch on ${right(1)}/${reference.images}`);
  });
});
