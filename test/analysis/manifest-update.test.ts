import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tuneBundlePolicy, writeTuning } from '../../src/analysis/tune-bundle.ts';
import { loadBundle, readManifest, updateManifest } from '../../src/bundle/io.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { policyFromJson } from '../../src/exits/policies/registry.ts';
import { fashionExits } from '../exits/exit-data.ts';
import { tinyBundle } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'exw-update-'));
after(() => rmSync(root, { recursive: true, force: true }));
// Four exits, like the recorded Fashion-MNIST network, so its outputs can stand in for this bundle's.
const dir = join(root, 'tiny.exitwise');
const { manifest } = tinyBundle(dir, { exits: 3 });

describe('updateManifest', () => {
  it('rewrites manifest.json only, validated, leaving no temporary files', () => {
    const models = readFileSync(join(dir, manifest.stages[0]!.file));
    const next = updateManifest(dir, (m) => ({ ...m, policy: { kind: 'max-softmax', exits: 4, thresholds: [0.9, 0.9, null] } }));
    assert.deepEqual(readManifest(dir), next);
    assert.deepEqual(next.policy, { kind: 'max-softmax', exits: 4, thresholds: [0.9, 0.9, null] });
    assert.deepEqual(readFileSync(join(dir, manifest.stages[0]!.file)), models);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), []);
  });

  it('refuses invalid manifests and changes to fields tied to the models, and leaves the file as it was', () => {
    const before = readFileSync(join(dir, 'manifest.json'), 'utf8');
    assert.throws(() => updateManifest(dir, (m) => ({ ...m, exits: m.exits.map((e) => ({ ...e, temperature: -1 })) })), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE') && /exits\.0\.temperature/.test(e.message));
    assert.throws(() => updateManifest(dir, (m) => ({ ...m, exits: m.exits.map((e) => ({ ...e, cumulativeFlops: 1 })) })), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE') && /tied to the model files/.test(e.message));
    assert.throws(() => updateManifest(dir, (m) => ({ ...m, stages: m.stages.map((s) => ({ ...s, file: `x/${s.index}.onnx` })) })), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE'));
    assert.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), before);
  });
});

describe('writeTuning', () => {
  const { val } = fashionExits();

  it('writes the temperatures and the tuned policy; the bundle loads and restores exactly that policy', () => {
    const tuning = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'accuracy-drop', maxDropPp: 1 }, policy: 'entropy' });
    writeTuning(dir, tuning);
    const loaded = loadBundle(dir).manifest;
    assert.deepEqual(loaded.policy, tuning.policy);
    assert.deepEqual(loaded.exits.map((e) => e.temperature), tuning.temperatures);
    assert.deepEqual(policyFromJson(loaded.policy, { exits: 4 }).toJSON(), tuning.policy);
  });

  it('refuses an infeasible tuning', () => {
    const tuning = tuneBundlePolicy(manifest, val.outputs, val.labels, { target: { kind: 'flops-budget', flops: 1 } });
    assert.equal(tuning.feasible, true);
    assert.throws(() => writeTuning(dir, { ...tuning, feasible: false, reason: 'too strict' }), (e: unknown) => isExitwiseError(e, 'EXW_POLICY') && /too strict/.test(e.message));
  });
});
