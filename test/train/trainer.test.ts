/**
 * The trainer on real data: a short run learns MNIST, leaves a complete run folder whose model
 * gives the reported accuracy when run on its own, and a run killed with SIGKILL (twice) or
 * stopped through its AbortSignal, then resumed, ends bit for bit where the uninterrupted run
 * ends: weights, BatchNorm statistics, optimizer state, model file and metrics.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../../src/data/registry.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { loadModel } from '../../src/onnx/model-io.ts';
import { createSession } from '../../src/runtime/session.ts';
import { RunRecordSchema } from '../../src/schemas/train.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import type { EpochRecord } from '../../src/train/progress.ts';
import { resumeTraining, train, type TrainResult } from '../../src/train/trainer.ts';
import { BATCHES_PER_EPOCH, SHORT_RUN, shortRunOptions } from './trainer-fixture.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'exw-trainer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The uninterrupted run every other run is compared with. */
let reference: TrainResult;
const referenceDir = join(tmp, 'uninterrupted');
/** The plain CNN (no BatchNorm), which learns MNIST within the short run. */
let learned: TrainResult;
before(async () => {
  reference = await train(SHORT_RUN, shortRunOptions(referenceDir));
  learned = await train({ ...SHORT_RUN, arch: { kind: 'cnn' } }, shortRunOptions(join(tmp, 'cnn')));
});

/** What must not depend on interruptions: everything but wall time and throughput. */
const timeless = (history: readonly EpochRecord[]) => history.map(({ seconds: _s, samplesPerSecond: _r, ...rest }) => rest);

function assertSameEnd(dir: string, result: TrainResult): void {
  const [mine, theirs] = [loadCheckpoint(join(dir, 'checkpoints')), loadCheckpoint(join(referenceDir, 'checkpoints'))];
  assert.deepEqual(mine.params, theirs.params, 'weights');
  assert.deepEqual(mine.buffers, theirs.buffers, 'BatchNorm running statistics');
  assert.deepEqual(mine.optimizer, theirs.optimizer, 'optimizer state');
  assert.equal(mine.schedulerStep, 2 * BATCHES_PER_EPOCH);
  assert.ok(readFileSync(join(dir, 'model.onnx')).equals(readFileSync(join(referenceDir, 'model.onnx'))), 'model.onnx bytes');
  assert.deepEqual(timeless(result.history), timeless(reference.history));
  assert.equal(result.testAccuracy, reference.testAccuracy);
  assert.equal(result.testLoss, reference.testLoss);
}

describe('trainer', () => {
  it('learns: two epochs on 1800 MNIST images reach > 90% on the test split', () => {
    for (const run of [learned, reference]) {
      const [first, last] = [run.history[0]!, run.history.at(-1)!];
      assert.equal(run.history.length, 2);
      assert.ok(last.trainLoss < first.trainLoss, `train loss ${first.trainLoss} → ${last.trainLoss}`);
      assert.ok(last.valLoss < first.valLoss, `val loss ${first.valLoss} → ${last.valLoss}`);
      assert.equal(run.valAccuracy, last.valAccuracy);
    }
    assert.ok(learned.valAccuracy > 0.9, `val accuracy ${learned.valAccuracy}`);
    assert.ok(learned.testAccuracy > 0.9, `test accuracy ${learned.testAccuracy}`);
  });

  it('leaves a run folder: run.json (schema, completed, the returned metrics) and model.onnx (BatchNorm in inference mode)', () => {
    const record = RunRecordSchema.parse(JSON.parse(readFileSync(join(referenceDir, 'run.json'), 'utf8')));
    assert.equal(record.status, 'completed');
    assert.deepEqual(record.history, reference.history);
    assert.deepEqual(record.result, {
      testAccuracy: reference.testAccuracy, testLoss: reference.testLoss, valAccuracy: reference.valAccuracy,
      valLoss: reference.valLoss, epochs: 2, seconds: reference.seconds,
    });
    assert.deepEqual(record.provenance.dataset, { name: 'mnist', source: record.provenance.dataset.source, trainImages: 1800, valImages: 200, testImages: 10000 });
    assert.equal(record.provenance.sessions, 1);
    assert.deepEqual(record.config, JSON.parse(JSON.stringify(reference.config)));
    const model = loadModel(reference.model);
    const bns = model.graph!.node.filter((n) => n.opType === 'BatchNormalization');
    assert.equal(bns.length, 6, 'stem, 2 per block, 1 projection shortcut');
    for (const bn of bns) {
      assert.equal(bn.output.length, 1);
      assert.ok(!bn.attribute.some((a) => a.name === 'training_mode' && a.i !== 0n));
    }
    assert.deepEqual(model.graph!.input.map((i) => i.name), ['image'], 'weights are initializers, not inputs');
  });

  it('model.onnx, run on its own, gives the reported test accuracy', async () => {
    const data = await loadDataset('mnist');
    const { mean, std } = data.pixelStats;
    const session = await createSession(learned.model, { threads: 1 });
    let correct = 0;
    const n = data.test.count;
    for (let start = 0; start < n; start += 2000) {
      const size = Math.min(2000, n - start);
      const x = Float32Array.from(data.test.images.subarray(start * 784, (start + size) * 784), (p) => (p / 255 - mean) / std);
      const logits = (await session.run({ image: { type: 'float32', dims: [size, 1, 28, 28], data: x } })).logits!.data as Float32Array;
      for (let i = 0; i < size; i++) {
        const row = logits.subarray(i * 10, i * 10 + 10);
        if (row.indexOf(Math.max(...row)) === data.test.labels[start + i]) correct++;
      }
    }
    await session.release();
    assert.equal(correct / n, learned.testAccuracy);
  });

  it('a run killed with SIGKILL mid-epoch, twice, and resumed ends bit for bit as the uninterrupted run', () => {
    const dir = join(tmp, 'killed');
    const child = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test/train/trainer-child.ts'), dir, ...args], { cwd: root, encoding: 'utf8' });
    // Killed at step 10 (checkpoint at 8), then at step 38 = epoch 2, batch 9 (checkpoint at batch 8): work after each checkpoint is redone.
    const first = child('new', '10');
    assert.equal(first.signal, 'SIGKILL', first.stderr);
    assert.equal(loadCheckpoint(join(dir, 'checkpoints')).schedulerStep, 8);
    const second = child('resume', '38');
    assert.equal(second.signal, 'SIGKILL', second.stderr);
    const saved = loadCheckpoint(join(dir, 'checkpoints'));
    assert.deepEqual([saved.epoch, saved.batchInEpoch, saved.schedulerStep], [1, 8, BATCHES_PER_EPOCH + 8]);
    assert.equal(RunRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).status, 'running');
    const last = child('resume');
    assert.equal(last.status, 0, last.stderr);
    const record = RunRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')));
    assert.equal(record.provenance.sessions, 3);
    assertSameEnd(dir, { ...reference, history: record.history, testAccuracy: record.result!.testAccuracy, testLoss: record.result!.testLoss });
  });

  it('a run stopped through its signal saves a checkpoint, rejects with EXW_INTERRUPTED, and resumes exactly', async () => {
    const dir = join(tmp, 'stopped');
    const controller = new AbortController();
    const options = { ...shortRunOptions(dir), signal: controller.signal };
    await assert.rejects(train(SHORT_RUN, { ...options, onProgress: (e) => { if (e.kind === 'step' && e.step === 33) controller.abort(); } }), (e: unknown) => {
      assert.ok(isExitwiseError(e, 'EXW_INTERRUPTED'));
      assert.equal(e.exitStatus, 130);
      assert.match(e.message, /epoch 2\/2, batch 4\/29/);
      assert.match(e.hint!, new RegExp(`exitwise train --out ${dir} --resume`));
      return true;
    });
    assert.equal(loadCheckpoint(join(dir, 'checkpoints')).schedulerStep, 33);
    assert.equal(RunRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).status, 'interrupted');
    assertSameEnd(dir, await resumeTraining(shortRunOptions(dir)));
  });

  it('refuses a new run in a folder holding one, a resume with other settings or of nothing, and data that does not fit', async () => {
    await assert.rejects(train(SHORT_RUN, shortRunOptions(referenceDir)), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /already holds a training run/.test(e.message) && /--resume/.test(e.hint!));
    await assert.rejects(resumeTraining({ ...shortRunOptions(referenceDir), expect: { epochs: 3, schedule: { lr: 0.1 } } }),
      (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /epochs: saved 2, given 3/.test(e.message) && !/schedule/.test(e.message));
    const mnist = await loadDataset('mnist');
    const refused = async (config: object, pattern: RegExp) => assert.rejects(train({ ...SHORT_RUN, ...config }, { ...shortRunOptions(join(tmp, 'refused')), dataset: mnist }),
      (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && pattern.test(e.message));
    await refused({ arch: { kind: 'cnn', inputShape: [1, 32, 32] } }, /the model takes \[1, 32, 32\] inputs with 10 classes; mnist has \[1, 28, 28\] images/);
    await refused({ limit: 70_000 }, /limit 70000 exceeds the 60000 training images/);
    await refused({ limit: 50 }, /45 training images are fewer than one batch of 64/);
    await refused({ dataset: 'fashion-mnist' }, /trains on fashion-mnist, but the dataset given is mnist/);
    assert.equal(existsSync(join(tmp, 'refused', 'run.json')), false);
    const empty = join(tmp, 'empty');
    await assert.rejects(resumeTraining(shortRunOptions(empty)), (e: unknown) => isExitwiseError(e, 'EXW_CHECKPOINT') && /no checkpoint to resume/.test(e.message));
    assert.equal(existsSync(join(empty, 'run.json')), false);
  });
});
