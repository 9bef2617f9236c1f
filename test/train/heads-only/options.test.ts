import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Dataset } from '../../../src/data/dataset.ts';
import { isExitwiseError } from '../../../src/errors.ts';
import { pseudoLabels, trainHeadsOnly, type HeadsOnlyResult } from '../../../src/train/heads-only/heads-only.ts';
import { initializers, inputsOf, loadMnist, mnistData, multiExitClassifier, runOutput } from './support.ts';

const { backbone, multi } = multiExitClassifier();
const THREADS = { threads: 1 };
/** A quick run: few images, one epoch: for properties that do not need trained heads. */
const QUICK = { epochs: 1, batchSize: 32, lr: 1e-2 };
let dataset: Dataset;
before(async () => {
  dataset = await loadMnist();
});

describe('exits-only training options', () => {
  const small = () => ({ train: mnistData(dataset, 0, 400), val: mnistData(dataset, 400, 500) });

  it('is deterministic given the seed; another seed gives another minibatch order', async () => {
    const a = await trainHeadsOnly(multi, small(), QUICK, THREADS);
    const b = await trainHeadsOnly(multi, small(), QUICK, THREADS);
    const c = await trainHeadsOnly(multi, small(), { ...QUICK, seed: 1 }, THREADS);
    assert.deepEqual(initializers(b.multiExit.model), initializers(a.multiExit.model));
    assert.notDeepEqual(initializers(c.multiExit.model), initializers(a.multiExit.model));
  });

  it('pseudo-labels are the final exit\'s argmax; training on them is training on those labels', async () => {
    const train = mnistData(dataset, 0, 400);
    const final = await runOutput(backbone, 'logits', inputsOf(train));
    const predictions = pseudoLabels(final, 10);
    for (let i = 0; i < 400; i++) {
      const row = Array.from(final.subarray(i * 10, i * 10 + 10));
      assert.equal(predictions[i], row.indexOf(Math.max(...row)));
    }
    assert.ok(predictions.some((p, i) => p !== dataset.train.labels[i]), 'the classifier errs on some images');
    const unlabelled = { train: mnistData(dataset, 0, 400, false), val: mnistData(dataset, 400, 500, false) };
    const pseudo = await trainHeadsOnly(multi, unlabelled, QUICK, THREADS);
    assert.equal(pseudo.config.targets, 'pseudo');
    const relabelled = new Uint8Array(dataset.train.labels.length);
    predictions.forEach((p, i) => (relabelled[i] = p));
    const asLabels = await trainHeadsOnly(multi, { train: { ...unlabelled.train, labels: relabelled }, val: unlabelled.val }, QUICK, THREADS);
    assert.deepEqual(initializers(pseudo.multiExit.model), initializers(asLabels.multiExit.model));
    assert.equal(pseudo.finalValAccuracy, null);
    assert.ok(pseudo.exits.every((e) => e.valAccuracy === null && e.valAgreement === e.history.at(-1)!.valAccuracy));
  });

  it('distils from the final exit or from the next; α = 1 leaves only the cross-entropy', async () => {
    const plain = await trainHeadsOnly(multi, small(), QUICK, THREADS);
    const hardOnly = await trainHeadsOnly(multi, small(), { ...QUICK, distill: { alpha: 1 } }, THREADS);
    const losses = (r: HeadsOnlyResult) => r.exits.map((e) => e.history[0]!.loss);
    losses(hardOnly).forEach((l, k) => assert.ok(Math.abs(l - losses(plain)[k]!) < 1e-5, `exit ${k}: ${l} vs ${losses(plain)[k]}`));
    const final = await trainHeadsOnly(multi, small(), { ...QUICK, distill: { alpha: 0.5, teacher: 'final' } }, THREADS);
    const next = await trainHeadsOnly(multi, small(), { ...QUICK, distill: { alpha: 0.5, teacher: 'next' } }, THREADS);
    assert.deepEqual(next.config.distill, { alpha: 0.5, temperature: 3, teacher: 'next' });
    // The last early exit learns from the final exit either way; exit 0 from exit 1 with 'next'.
    assert.equal(next.exits[1]!.history[0]!.loss, final.exits[1]!.history[0]!.loss);
    assert.notEqual(next.exits[0]!.history[0]!.loss, final.exits[0]!.history[0]!.loss);
    assert.notEqual(final.exits[0]!.history[0]!.loss, plain.exits[0]!.history[0]!.loss);
  });

  it('stops with EXW_INTERRUPTED when aborted', async () => {
    const controller = new AbortController();
    const run = trainHeadsOnly(multi, small(), QUICK, { ...THREADS, signal: controller.signal, onProgress: (e) => e.kind === 'step' && controller.abort() });
    await assert.rejects(run, (e: unknown) => isExitwiseError(e, 'EXW_INTERRUPTED') && /while training exit 1/.test(e.message));
  });

  it('refuses training on labels without labels, bad settings, and data that does not fit the model', async () => {
    const unlabelled = { train: mnistData(dataset, 0, 10, false), val: mnistData(dataset, 10, 20, false) };
    await assert.rejects(trainHeadsOnly(multi, unlabelled, { targets: 'labels' }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /has none/.test(e.message));
    await assert.rejects(trainHeadsOnly(multi, small(), { distill: { alpha: 2 } }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /alpha 2/.test(e.message));
    await assert.rejects(trainHeadsOnly(multi, small(), { epochs: 0 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /epochs 0/.test(e.message));
    const wide = { ...mnistData(dataset, 0, 10), inputDims: [1, 28, 14] };
    await assert.rejects(trainHeadsOnly(multi, { train: wide, val: wide }, QUICK), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /\[1, 28, 14\]/.test(e.message));
  });
});
