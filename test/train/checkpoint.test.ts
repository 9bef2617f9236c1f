/**
 * Checkpoints: an exact round trip of a real model's training state; corrupt, truncated,
 * wrong-version and wrong-model files refused with EXW_CHECKPOINT; a kill at each stage of a save,
 * simulated and real (SIGKILL of a writing process), leaves a loadable checkpoint.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { loadModel } from '../../src/onnx/model-io.ts';
import { LATEST_POINTER, latestCheckpointPath, loadCheckpoint, restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';
import { encodeCheckpoint, type TrainingCheckpoint } from '../../src/train/checkpoint-format.ts';
import { createOptimizer } from '../../src/train/optimizers/index.ts';
import { ParamStore } from '../../src/train/params.ts';
import { rng } from '../support/graph.ts';

const model = loadModel(new URL('../onnx/fixtures/tiny-cnn.onnx', import.meta.url).pathname);
const BUFFERS = ['bn.running_mean', 'bn.running_var'];
const TRAINABLE = model.graph!.initializer.map((t) => t.name).filter((n) => !BUFFERS.includes(n));
const root = mkdtempSync(join(tmpdir(), 'exitwise-checkpoint-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const newFolder = () => join(root, `run-${folders++}`);

/** A store and an AdamW optimizer after `steps` steps of seeded random gradients, and the checkpoint of that moment. */
function trainedState(steps: number, seed = 1) {
  const store = ParamStore.fromModel(model, { trainable: TRAINABLE, buffers: BUFFERS });
  const optimizer = createOptimizer({ kind: 'adamw' }, store);
  const random = rng(seed);
  for (let s = 0; s < steps; s++) {
    optimizer.step(new Map(store.params().map((e) => [e.name, Float32Array.from(e.value, () => random() - 0.5)])), 1e-3);
    store.set('bn.running_mean', Float32Array.from({ length: 8 }, () => random()));
  }
  const checkpoint: TrainingCheckpoint = {
    ...store.snapshot(), optimizer: optimizer.state(), schedulerStep: steps, epoch: 3, batchInEpoch: 17,
    rngState: { seed: 42, stream: [1, 2] }, metrics: [{ epoch: 0, loss: 2.3, acc: 0.11 }, { epoch: 1, loss: 0.5, acc: null }],
    config: { optimizer: { kind: 'adamw' }, lr: 1e-3 },
  };
  return { store, optimizer, checkpoint };
}

const rejects = (fn: () => unknown, message: RegExp, code = 'EXW_CHECKPOINT') =>
  assert.throws(fn, (e: unknown) => isExitwiseError(e) && e.code === code && message.test(e.message) && e.hint !== undefined);

describe('checkpoint round trip', () => {
  it('gives back every value bit for bit, in a compact file', () => {
    const { checkpoint } = trainedState(3);
    const dir = newFolder();
    const path = saveCheckpoint(dir, checkpoint);
    assert.equal(path, join(dir, 'checkpoint-000000003.exwckpt'));
    assert.equal(latestCheckpointPath(dir), path);
    const loaded = loadCheckpoint(dir);
    const { path: p, exitwiseVersion, createdAt, ...rest } = loaded;
    assert.deepEqual(rest, checkpoint);
    assert.equal(p, path);
    assert.match(exitwiseVersion, /^\d+\.\d+\.\d+/);
    assert.ok(!Number.isNaN(Date.parse(createdAt)));
    assert.deepEqual(loadCheckpoint(path).params, checkpoint.params, 'a file path loads too');
    // Params + buffers + two Adam slots, 4 bytes each, plus a header of a few KB.
    const elements = checkpoint.params.reduce((n, t) => n + t.value.length, 0);
    const size = readFileSync(path).byteLength;
    assert.ok(size > 12 * elements && size < 12 * elements + 8000, `${size} bytes for ${elements} parameters`);
  });

  it('restores into a new store and optimizer, which then continue exactly as the originals', () => {
    const { store, optimizer, checkpoint } = trainedState(4);
    const dir = newFolder();
    saveCheckpoint(dir, checkpoint);
    const fresh = ParamStore.fromModel(model, { trainable: TRAINABLE, buffers: BUFFERS });
    const freshOptimizer = createOptimizer({ kind: 'adamw' }, fresh);
    restoreCheckpoint(loadCheckpoint(dir), fresh, freshOptimizer);
    assert.equal(freshOptimizer.stepCount, 4);
    const grads = new Map(store.params().map((e) => [e.name, Float32Array.from(e.value, (v) => Math.sin(v))]));
    optimizer.step(grads, 1e-3);
    freshOptimizer.step(grads, 1e-3);
    assert.deepEqual(fresh.snapshot(), store.snapshot());
  });

  it('refuses a checkpoint of another model or another optimizer', () => {
    const { checkpoint } = trainedState(1);
    const dir = newFolder();
    saveCheckpoint(dir, checkpoint);
    const loaded = loadCheckpoint(dir);
    const fewer = ParamStore.fromModel(model, { trainable: TRAINABLE.filter((n) => n !== 'fc2.weight'), buffers: BUFFERS });
    rejects(() => restoreCheckpoint(loaded, fewer, createOptimizer({ kind: 'adamw' }, fewer)), /unexpected: fc2\.weight/);
    const reshaped = new ParamStore(ParamStore.fromModel(model, { trainable: TRAINABLE, buffers: BUFFERS }).entries()
      .map((e) => (e.name === 'fc2.weight' ? { ...e, dims: [32, 10] } : e)));
    rejects(() => restoreCheckpoint(loaded, reshaped, createOptimizer({ kind: 'adamw' }, reshaped)), /"fc2\.weight" has shape \[10, 32\] in the checkpoint and \[32, 10\] in the model/);
    const same = ParamStore.fromModel(model, { trainable: TRAINABLE, buffers: BUFFERS });
    rejects(() => restoreCheckpoint(loaded, same, createOptimizer({ kind: 'sgd', momentum: 0.9 }, same)), /adamw state; the optimizer is sgd/);
  });

  it('refuses to write what it could not read back', () => {
    const { checkpoint } = trainedState(1);
    rejects(() => saveCheckpoint(newFolder(), { ...checkpoint, epoch: -1 }), /epoch/, 'EXW_USAGE');
    rejects(() => saveCheckpoint(newFolder(), { ...checkpoint, batchInEpoch: 1.5 }), /batchInEpoch/, 'EXW_USAGE');
  });
});

describe('damaged checkpoints', () => {
  const { checkpoint } = trainedState(2);
  const good = encodeCheckpoint(checkpoint);
  const write = (bytes: Uint8Array) => {
    const path = join(newFolder() + '.exwckpt');
    writeFileSync(path, bytes);
    return path;
  };
  const edited = (edit: (b: Uint8Array) => void) => {
    const b = good.slice();
    edit(b);
    return write(b);
  };

  it('a flipped bit in the tensors or the header: checksum mismatch', () => {
    rejects(() => loadCheckpoint(edited((b) => { b[b.length - 1000]! ^= 1; })), /is corrupt: its SHA-256 checksum does not match/);
    rejects(() => loadCheckpoint(edited((b) => { b[30]! ^= 0x20; })), /is corrupt/);
  });

  it('cut short, at any length: truncated', () => {
    for (const keep of [good.length - 1, Math.floor(good.length / 2), 100, 30]) {
      rejects(() => loadCheckpoint(write(good.subarray(0, keep))), /is truncated/);
    }
    rejects(() => loadCheckpoint(write(new Uint8Array(0))), /not an exitwise checkpoint/);
  });

  it('bytes past the end, another format version, other magic', () => {
    rejects(() => loadCheckpoint(write(new Uint8Array([...good, 0]))), /1 bytes past its end/);
    rejects(() => loadCheckpoint(edited((b) => new DataView(b.buffer).setUint32(8, 2, true))), /format version 2; this exitwise \(.*\) reads version 1/);
    rejects(() => loadCheckpoint(write(new TextEncoder().encode('{"not": "a checkpoint"}'.padEnd(200)))), /bad magic bytes/);
  });

  it('no checkpoint, a missing file, a broken pointer: each says what to do', () => {
    rejects(() => loadCheckpoint(join(root, 'nowhere')), /does not exist/);
    const empty = newFolder();
    saveCheckpoint(empty, checkpoint);
    rmSync(join(empty, LATEST_POINTER));
    rejects(() => loadCheckpoint(empty), /holds no latest\.json/);
    assert.throws(() => loadCheckpoint(empty), (e: unknown) => isExitwiseError(e) && /checkpoint-000000002\.exwckpt/.test(e.hint!), 'the hint lists the files');
    const dangling = newFolder();
    saveCheckpoint(dangling, checkpoint);
    rmSync(join(dangling, 'checkpoint-000000002.exwckpt'));
    rejects(() => loadCheckpoint(dangling), /names checkpoint-000000002\.exwckpt, which is missing/);
    writeFileSync(join(dangling, LATEST_POINTER), '{"latest": "../../etc/passwd"}');
    rejects(() => loadCheckpoint(dangling), /not a valid checkpoint pointer/);
  });
});

describe('kills during a save', () => {
  const at = (step: number) => ({ ...trainedState(1).checkpoint, schedulerStep: step });

  it('at every stage, the folder loads as the last completed save', () => {
    const dir = newFolder();
    saveCheckpoint(dir, at(10));
    const next = encodeCheckpoint(at(20));
    // Killed while writing the new file: a partial temporary file.
    writeFileSync(join(dir, `.checkpoint-000000020.exwckpt.99999.${Date.now()}.tmp`), next.subarray(0, 5000));
    assert.equal(loadCheckpoint(dir).schedulerStep, 10);
    // Killed after the rename, before the pointer moved: the new file is whole but not yet pointed to.
    writeFileSync(join(dir, 'checkpoint-000000020.exwckpt'), next);
    writeFileSync(join(dir, `.latest.json.99999.${Date.now()}.tmp`), '{"form');
    assert.equal(loadCheckpoint(dir).schedulerStep, 10);
    // The next save points past both and clears the leftovers; it keeps the last completed save, not the orphan.
    saveCheckpoint(dir, at(30));
    assert.equal(loadCheckpoint(dir).schedulerStep, 30);
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint-000000010.exwckpt', 'checkpoint-000000030.exwckpt', LATEST_POINTER]);
  });

  it('keeps the last `keep` saves, the latest included', () => {
    const dir = newFolder();
    for (const step of [1, 2, 3, 4]) saveCheckpoint(dir, at(step), { keep: 3 });
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.exwckpt')), ['checkpoint-000000002.exwckpt', 'checkpoint-000000003.exwckpt', 'checkpoint-000000004.exwckpt']);
    saveCheckpoint(dir, at(5), { keep: 1 });
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint-000000005.exwckpt', LATEST_POINTER]);
    rejects(() => saveCheckpoint(dir, at(6), { keep: 0 }), /keep 0/, 'EXW_USAGE');
  });

  it('SIGKILL of a process saving 8 MB checkpoints in a loop, mid-write and at set moments: each restart resumes from a whole checkpoint', async () => {
    const dir = newFolder();
    mkdirSync(dir);
    const writer = new URL('./checkpoint-writer.ts', import.meta.url).pathname;
    let [lastLoaded, midWrite] = [0, 0];
    // 'write': killed as soon as a temporary file appears (inside writeFileAtomic); a number: that many ms after a save.
    for (const moment of ['write', 0, 'write', 37] as const) {
      const lastPrinted = await killWriter(writer, dir, moment);
      if (readdirSync(dir).some((f) => f.endsWith('.tmp'))) midWrite++;
      const loaded = loadCheckpoint(dir);
      // The pointer may have moved just before the kill, after the last line was printed.
      assert.ok(loaded.schedulerStep === lastPrinted || loaded.schedulerStep === lastPrinted + 1, `loaded ${loaded.schedulerStep}, last printed ${lastPrinted}`);
      assert.ok(loaded.schedulerStep > lastLoaded, 'progress survives restarts');
      assert.ok(loaded.params[0]!.value.every((v) => v === loaded.schedulerStep), 'the values are those of one save');
      assert.deepEqual([...loaded.buffers[0]!.value], [loaded.schedulerStep, -loaded.schedulerStep]);
      lastLoaded = loaded.schedulerStep;
    }
    assert.ok(midWrite >= 1, 'at least one kill landed while a checkpoint file was half written');
  });
});

/**
 * Runs the writer on `dir` until it has printed two saves, then SIGKILLs it at `moment`; resolves
 * with the last step it printed.
 */
function killWriter(writer: string, dir: string, moment: 'write' | number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let [out, printed, armed] = ['', 0, false];
    const watcher = watch(dir, (_event, name) => {
      if (armed && moment === 'write' && name?.endsWith('.tmp') === true) child.kill('SIGKILL');
    });
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n').filter((l) => l.startsWith('saved '));
      printed = Number(lines.at(-1)?.slice(6) ?? 0);
      if (lines.length >= 2 && !armed) {
        armed = true;
        if (moment !== 'write') setTimeout(() => child.kill('SIGKILL'), moment);
      }
    });
    child.on('exit', (_code, signal) => {
      watcher.close();
      if (signal === 'SIGKILL') resolve(printed);
      else reject(new Error(`the writer exited without being killed: ${out}`));
    });
  });
}
