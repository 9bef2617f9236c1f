import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode } from 'fast-png';
import { bundleSplitData } from '../../src/bundle/data.ts';
import { saveMultiExitBundle } from '../../src/bundle/from-model.ts';
import { loadBundle } from '../../src/bundle/io.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { float32Tensor } from '../../src/runtime/tensor.ts';
import { type PersonaliseReport, PersonaliseReportSchema } from '../../src/schemas/personalise.ts';
import { inputBatch } from '../../src/train/heads-only/features.ts';
import { trainHeadsOnly } from '../../src/train/heads-only/heads-only.ts';
import { initializers } from '../train/heads-only/support.ts';
import { loadMnist, mnistData, multiExitClassifier, NORMALIZE } from '../train/heads-only/support.ts';
import { exitwise, runSegments } from './attach-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-cli-personalise-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const original = join(tmp, 'digits.exitwise');
let mnist: Dataset;

before(async () => {
  // A bundle with briefly trained exits (one epoch on 1000 digits of all classes), calibrated and with a policy.
  mnist = await loadMnist();
  const { multi } = multiExitClassifier();
  const trained = await trainHeadsOnly(multi, { train: mnistData(mnist, 0, 1000), val: mnistData(mnist, 1000, 1200) }, { epochs: 1, batchSize: 32, lr: 1e-2 }, { threads: 1 });
  saveMultiExitBundle(original, trained.multiExit, {
    classes: mnist.classes, preprocessing: { scale: 1 / 255, mean: [NORMALIZE.mean], std: [NORMALIZE.std], layout: 'NCHW' },
    temperatures: [1.5, 1.3, 1.1], policy: { kind: 'max-softmax', thresholds: [0.9, 0.9] },
    provenance: { dataset: 'mnist', strategy: 'exits-only', split: { valFraction: 0.1, seed: 0, limit: 1200 } },
  });
});

describe('exitwise personalise on a simulated user', () => {
  const out = join(tmp, 'digits-357.exitwise');
  let report: PersonaliseReport;
  const manifestBefore = () => readFileSync(join(original, 'manifest.json'), 'utf8');
  let untouched: string;

  before(async () => {
    untouched = manifestBefore();
    const r = await exitwise('personalise', original, '--dataset', 'mnist', '--classes', '3,5,7', '--limit', '800', '--epochs', '2', '--batch', '32', '--lr', '0.01',
      '--threads', '1', '--out', out, '--json', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    report = PersonaliseReportSchema.parse(JSON.parse(r.stdout));
  });

  it('retrains the early exits to agree with the final exit on the user\'s classes, held-out and test images alike', () => {
    assert.deepEqual(report.user, { source: 'dataset', dataset: 'mnist', classes: [3, 5, 7], path: null, images: 800, trainImages: 640, valImages: 160 });
    assert.equal(report.training.targets, 'pseudo');
    assert.equal(report.testImages, 1010 + 892 + 1028); // MNIST test images of 3, 5 and 7
    const [e0, e1, final] = report.exits;
    for (const e of [e0!, e1!]) {
      assert.ok(e.userVal.after.agreement > e.userVal.before.agreement, `exit ${e.index} user val agreement ${JSON.stringify(e.userVal)}`);
      assert.ok(e.test!.after.accuracy! > e.test!.before.accuracy!, `exit ${e.index} test accuracy ${JSON.stringify(e.test)}`);
      assert.equal(e.history.length, 2);
    }
    // The final exit is the same model before and after.
    assert.deepEqual(final!.userVal.before, final!.userVal.after);
    assert.deepEqual(final!.test!.before, final!.test!.after);
    assert.equal(final!.userVal.after.agreement, 1);
    assert.ok(final!.test!.after.accuracy! > 0.9);
  });

  it('writes a new bundle: backbone and final exit bit-exact, exits recalibrated, no stale policy; the original unchanged', async () => {
    assert.equal(manifestBefore(), untouched);
    const [a, b] = [loadBundle(original), loadBundle(out)];
    assert.deepEqual([b.manifest.provenance.strategy, b.manifest.provenance.dataset], ['personalised', 'mnist']);
    assert.deepEqual(b.manifest.provenance.split, a.manifest.provenance.split);
    assert.equal(b.manifest.policy, undefined);
    assert.deepEqual(b.manifest.exits.map((e) => e.temperature), [1, 1, 1.1]);
    assert.deepEqual(b.manifest.exits.map((e) => e.cumulativeFlops), a.manifest.exits.map((e) => e.cumulativeFlops));
    b.stages.forEach((stage, k) => assert.deepEqual(initializers(stage), initializers(a.stages[k]!), `stage ${k}`));
    const test = bundleSplitData(a.manifest, mnist, 'test');
    const x = float32Tensor(inputBatch(test, test.indices.subarray(0, 50)), [50, 1, 28, 28]);
    const [before, after] = [await runSegments(a, x), await runSegments(b, x)];
    assert.deepEqual(after.at(-1), before.at(-1));
    assert.notDeepEqual(after[0], before[0]);
  });

  it('prints a before/after table without --json', async () => {
    const r = await exitwise('personalise', original, '--dataset', 'mnist', '--classes', '3,5,7', '--limit', '100', '--epochs', '1', '--threads', '1', '--out', join(tmp, 'table.exitwise'), '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^personalised .* on a simulated user: mnist classes 3, 5, 7 \(80 train \/ 20 held out; 2930 test images of those classes\)/);
    assert.match(r.stdout, /exit +FLOPs +of full +agrees with final \(user val\) +accuracy \(user val\) +accuracy \(test, user classes\)/);
    assert.match(r.stdout, /2 \(final\) .* 100\.0% +100\.0% → 100\.0%/);
  });
});

describe('exitwise personalise on a user\'s own images', () => {
  it('reads a folder of PNGs (unlabelled) and an IDX file alike', async () => {
    const folder = join(tmp, 'photos');
    mkdirSync(join(folder, 'more'), { recursive: true });
    for (let i = 0; i < 60; i++) {
      const pixels = mnist.train.images.subarray((2000 + i) * 784, (2001 + i) * 784);
      writeFileSync(join(folder, i < 30 ? '' : 'more', `digit-${String(i).padStart(2, '0')}.png`), encode({ width: 28, height: 28, data: pixels, channels: 1, depth: 8 }));
    }
    const r = await exitwise('personalise', original, '--data', folder, '--epochs', '1', '--threads', '1', '--out', join(tmp, 'photos.exitwise'), '--json', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    const png = PersonaliseReportSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(png.user, { source: 'images', dataset: null, classes: null, path: folder, images: 60, trainImages: 48, valImages: 12 });
    assert.equal(png.testImages, null);
    assert.ok(png.exits.every((e) => e.userVal.before.accuracy === null && e.test === null));
    assert.equal(loadBundle(join(tmp, 'photos.exitwise')).manifest.provenance.dataset, 'user:photos');

    // The same 60 images as one IDX file give the same personalised exits.
    const idx = join(tmp, 'photos.idx');
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 60, 0, 0, 0, 28, 0, 0, 0, 28]);
    writeFileSync(idx, Buffer.concat([header, Buffer.from(mnist.train.images.subarray(2000 * 784, 2060 * 784))]));
    const fromIdx = await exitwise('personalise', original, '--data', idx, '--epochs', '1', '--threads', '1', '--out', join(tmp, 'idx.exitwise'), '--json', '--quiet');
    assert.equal(fromIdx.status, 0, fromIdx.stderr);
    assert.deepEqual(PersonaliseReportSchema.parse(JSON.parse(fromIdx.stdout)).exits.map((e) => e.userVal), png.exits.map((e) => e.userVal));
  });
});

describe('exitwise personalise refuses', () => {
  const error = async (args: string[], code: string, pattern: RegExp) => {
    const r = await exitwise('personalise', ...args, '--json', '--quiet');
    const e = JSON.parse(r.stdout).error as { code: string; message: string };
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
  };

  it('to overwrite the original, or to guess what the user has', async () => {
    await error([original, '--dataset', 'mnist', '--classes', '3', '--out', original], 'EXW_USAGE', /--out is the bundle being personalised/);
    await error([original, '--dataset', 'mnist', '--out', join(tmp, 'x.exitwise')], 'EXW_USAGE', /--dataset needs --classes/);
    await error([original, '--out', join(tmp, 'x.exitwise')], 'EXW_USAGE', /either --data .* or --dataset/);
    await error([original, '--dataset', 'mnist', '--classes', '3,11', '--out', join(tmp, 'x.exitwise')], 'EXW_USAGE', /"11" is not a class of mnist/);
    await error([original, '--dataset', 'mnist', '--classes', '3,3', '--out', join(tmp, 'x.exitwise')], 'EXW_USAGE', /lists a class twice/);
  });

  it('images that do not fit the bundle', async () => {
    const folder = join(tmp, 'wide');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.png'), encode({ width: 32, height: 28, data: new Uint8Array(32 * 28), channels: 1, depth: 8 }));
    await error([original, '--data', folder, '--out', join(tmp, 'x.exitwise')], 'EXW_DATA', /a\.png is 32×28; the model takes 28×28 images/);
    await error([original, '--data', join(tmp, 'nowhere'), '--out', join(tmp, 'x.exitwise')], 'EXW_DATA', /cannot read/);
  });
});
