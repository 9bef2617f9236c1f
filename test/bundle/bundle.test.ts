import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadBundle, readManifest, saveBundle } from '../../src/bundle/io.ts';
import { makeManifest } from '../../src/bundle/manifest.ts';
import { toBundleSegments } from '../../src/bundle/segments.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { attachExits } from '../../src/exits/attach.ts';
import { placeExits } from '../../src/exits/placement.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import { createSession } from '../../src/runtime/session.ts';
import type { TensorLike } from '../../src/runtime/tensor.ts';
import { BUNDLE_VERSION, type BundleManifest } from '../../src/schemas/bundle.ts';
import { VERSION } from '../../src/version.ts';
import { maxAbsDiff, mnistBatch, resnetMnist, run } from '../exits/support.ts';

const root = mkdtempSync(join(tmpdir(), 'exitwise-bundle-'));
after(() => rmSync(root, { recursive: true, force: true }));

const backbone = resnetMnist();
const placements = placeExits(backbone, { by: 'fractions', fractions: [0.3, 0.7] });
const multi = attachExits({ model: backbone }, placements, [{ kind: 'pool-linear' }, { kind: 'conv-pool-linear', channels: 8 }]);
const segments = toBundleSegments(multi);
const classes = Array.from({ length: 10 }, (_, i) => `digit ${i}`);
const manifest = makeManifest(segments, {
  classes,
  preprocessing: { scale: 1 / 255, mean: [0.1307], std: [0.3081], layout: 'NCHW' },
  temperatures: [1.5, 1.2, 1],
  policy: { kind: 'max-softmax', thresholds: [0.9, 0.8] },
  provenance: { dataset: 'mnist', strategy: 'joint', date: new Date('2025-01-02T03:04:05Z') },
});
const bundle = { manifest, stages: segments.stages.map((s) => s.model), exits: segments.exits.map((e) => e.model) };
const saved = join(root, 'resnet.exitwise');
saveBundle(saved, bundle);

/** A copy of the saved bundle with its manifest JSON edited and files changed by `edit`. */
function variant(name: string, edit: (json: Record<string, any>, dir: string) => void): string {
  const dir = join(root, `${name}.exitwise`);
  cpSync(saved, dir, { recursive: true });
  const json = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  edit(json, dir);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(json));
  return dir;
}

function rejects(dir: string, pattern: RegExp, hint?: RegExp): void {
  assert.throws(() => loadBundle(dir), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE') && pattern.test(e.message) && (hint === undefined || hint.test(e.hint ?? '')));
}

describe('bundle manifest', () => {
  it('names the task, input, every stage and exit with costs, calibration, policy and provenance', () => {
    assert.equal(manifest.format, 'exitwise-bundle');
    assert.equal(manifest.version, BUNDLE_VERSION);
    assert.deepEqual(manifest.input, { name: 'image', shape: ['batch', 1, 28, 28], dtype: 'float32', preprocessing: { scale: 1 / 255, mean: [0.1307], std: [0.3081], layout: 'NCHW' } });
    assert.deepEqual(manifest.stages.map((s) => s.file), ['stages/stage-0.onnx', 'stages/stage-1.onnx', 'stages/stage-2.onnx']);
    assert.deepEqual(manifest.exits.map((e) => [e.file, e.input, e.output, e.temperature]), [
      ['exits/exit-0.onnx', placements[0]!.tensor, 'exit0/logits', 1.5],
      ['exits/exit-1.onnx', placements[1]!.tensor, 'exit1/logits', 1.2],
      ['exits/exit-2.onnx', '/head/head.1/Flatten_output_0', 'logits', 1],
    ]);
    const total = analyzeCost(backbone).totalFlops;
    const earlyHeads = manifest.exits.slice(0, -1).reduce((n, e) => n + e.flops, 0);
    assert.ok(Math.abs(manifest.exits.at(-1)!.cumulativeFlops - (total + earlyHeads)) < 1e-6, 'the final exit costs the whole backbone plus every early head run on the way');
    for (const [k, p] of placements.entries()) {
      const e = manifest.exits[k]!;
      const heads = manifest.exits.slice(0, k + 1).reduce((n, h) => n + h.flops, 0);
      assert.ok(Math.abs(e.cumulativeFlops - (p.cumulativeFlops + heads)) < 1e-6, `exit ${k}: backbone so far plus heads 0..${k}`);
      assert.equal(e.flops, analyzeCost(segments.exits[k]!.model).totalFlops);
    }
    assert.deepEqual(manifest.provenance, { dataset: 'mnist', strategy: 'joint', date: '2025-01-02T03:04:05.000Z', exitwiseVersion: VERSION });
  });
});

describe('saveBundle / loadBundle', () => {
  it('writes the DESIGN.md layout and nothing else, and loads back the same manifest and models', () => {
    assert.deepEqual(readdirSync(saved).sort(), ['exits', 'manifest.json', 'stages']);
    assert.deepEqual(readdirSync(join(saved, 'stages')).sort(), ['stage-0.onnx', 'stage-1.onnx', 'stage-2.onnx']);
    assert.deepEqual(readdirSync(join(saved, 'exits')).sort(), ['exit-0.onnx', 'exit-1.onnx', 'exit-2.onnx']);
    assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.')), [], 'no temporary folders left');
    const loaded = loadBundle(saved);
    assert.deepEqual(loaded.manifest, manifest);
    loaded.stages.forEach((m, k) => assert.deepEqual(encodeModel(m), encodeModel(bundle.stages[k]!)));
    loaded.exits.forEach((m, k) => assert.deepEqual(encodeModel(m), encodeModel(bundle.exits[k]!)));
  });

  it('runs from the files: stage K → exit K reproduces the multi-exit model within 1e-5', async () => {
    const m = readManifest(saved);
    const { images } = mnistBatch(8, 50);
    const whole = await run(multi.model, { image: images });
    let carried: TensorLike = images;
    for (const [k, stage] of m.stages.entries()) {
      const s = await createSession(join(saved, stage.file), { threads: 1 });
      carried = (await s.run({ [stage.inputs[0]!]: carried }))[stage.outputs[0]!]!;
      await s.release();
      const exit = m.exits[k]!;
      const e = await createSession(join(saved, exit.file), { threads: 1 });
      const logits = (await e.run({ [exit.input]: carried }))[exit.output]!;
      await e.release();
      assert.ok(maxAbsDiff(logits, whole[multi.exitLogits[k]!]!) < 1e-5, `exit ${k}`);
    }
  });

  it('replaces an existing bundle only when asked, atomically', () => {
    const dir = join(root, 'again.exitwise');
    saveBundle(dir, bundle);
    assert.throws(() => saveBundle(dir, bundle), (e: unknown) => isExitwiseError(e, 'EXW_IO') && /already exists/.test(e.message));
    const changed = { ...manifest, provenance: { ...manifest.provenance, strategy: 'heads-only' } };
    saveBundle(dir, { ...bundle, manifest: changed }, { overwrite: true });
    assert.equal(readManifest(dir).provenance.strategy, 'heads-only');
    assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.')), []);
  });

  it('validates before writing anything', () => {
    const dir = join(root, 'never.exitwise');
    const wrong = { ...manifest, exits: manifest.exits.map((e, k) => (k === 1 ? { ...e, output: 'other' } : e)) };
    assert.throws(() => saveBundle(dir, { ...bundle, manifest: wrong }), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE') && /exits\/exit-1.onnx has outputs \["exit1\/logits"\]; the manifest says \["other"\]/.test(e.message));
    assert.throws(() => saveBundle(dir, { ...bundle, exits: bundle.exits.slice(1) }), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE'));
    assert.equal(existsSync(dir), false);
  });

  it('fills a left-out temperature with 1', () => {
    const dir = variant('no-temperature', (json) => { delete json.exits[0].temperature; });
    assert.equal((loadBundle(dir).manifest as BundleManifest).exits[0]!.temperature, 1);
  });
});

describe('loadBundle errors (EXW_BUNDLE)', () => {
  it('says "upgrade" for a bundle from a newer exitwise, and refuses other formats', () => {
    rejects(variant('newer', (json) => { json.version = BUNDLE_VERSION + 1; json.newField = {}; }), /newer exitwise \(bundle version 2/, /Upgrade exitwise/);
    rejects(variant('format', (json) => { json.format = 'something-else'; }), /not an exitwise bundle manifest/);
    rejects(variant('version0', (json) => { json.version = 0; }), /not a positive integer/);
  });

  it('lists every schema problem with its path', () => {
    const dir = variant('invalid', (json) => {
      delete json.provenance.dataset;
      json.stages[0].flops = -1;
      json.exits[1].file = '../outside.onnx';
      json.exits[0].temperature = 0;
    });
    assert.throws(() => loadBundle(dir), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE')
      && ['provenance.dataset', 'stages.0.flops', 'exits.1.file', 'exits.0.temperature'].every((p) => e.message.includes(`${p}:`)));
    rejects(variant('extra', (json) => { json.stages[0].typo = 1; }), /stages\.0: Unrecognized key/);
  });

  it('refuses manifests whose stages and exits do not chain', () => {
    rejects(variant('chain', (json) => { json.exits[1].input = json.stages[0].outputs[0]; }), /exit 1 reads .*but stage 1's output is/);
    rejects(variant('count', (json) => { json.exits.pop(); }), /3 stages but 2 exits/);
    rejects(variant('index', (json) => { json.stages[2].index = 5; }), /stages\[2\]\.index is 5/);
  });

  it('lists every missing file', () => {
    const dir = variant('missing', (_json, d) => {
      rmSync(join(d, 'exits/exit-1.onnx'));
      rmSync(join(d, 'stages/stage-0.onnx'));
    });
    rejects(dir, /missing 2 files its manifest names: stages\/stage-0.onnx, exits\/exit-1.onnx/);
  });

  it('refuses models whose inputs, outputs or logits width do not match the manifest', () => {
    rejects(variant('swapped', (_json, d) => { cpSync(join(d, 'exits/exit-0.onnx'), join(d, 'exits/exit-1.onnx')); }), /exits\/exit-1.onnx has inputs .* the manifest says/);
    rejects(variant('classes', (json) => { json.task.classes = ['a', 'b', 'c']; }), /outputs 10 logits but the manifest lists 3 classes/);
  });

  it('reports a missing folder, a missing manifest and broken JSON', () => {
    rejects(join(root, 'nowhere.exitwise'), /no bundle folder/);
    const empty = join(root, 'empty.exitwise');
    cpSync(join(saved, 'stages'), join(empty, 'stages'), { recursive: true });
    rejects(empty, /holds no manifest.json/);
    const broken = variant('broken', () => {});
    writeFileSync(join(broken, 'manifest.json'), '{"format": "exitwise-bundle", ');
    rejects(broken, /not valid JSON/);
  });
});
