import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { latencyCosts, profileBundle, profileName, storedProfile } from '../../src/analysis/profile.ts';
import { updateManifest } from '../../src/bundle/io.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { LatencyProfileSchema } from '../../src/schemas/profile.ts';
import { tinyBundle } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'exw-profile-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'tiny.exitwise');
const { manifest } = tinyBundle(dir);

describe('profileBundle', () => {
  it('measures every stage and exit in ms per sample, stores and reads back as a manifest profile', async () => {
    const profile = await profileBundle(dir, { threads: 1, batch: 4, warmup: 1, repeats: 5 });
    assert.deepEqual(LatencyProfileSchema.parse(profile), profile);
    assert.deepEqual([profile.kind, profile.backend, profile.threads, profile.batch, profile.repeats], ['latency', 'node', 1, 4, 5]);
    assert.equal(profile.stageMs.length, manifest.stages.length);
    assert.equal(profile.exitMs.length, manifest.exits.length);
    // Each run of a real segment takes some time, and far less than a second per sample.
    assert.ok([...profile.stageMs, ...profile.exitMs].every((ms) => ms > 0 && ms < 1000), JSON.stringify(profile));
    const costs = latencyCosts(profile);
    assert.ok(Math.abs(costs[2]! - [...profile.stageMs, ...profile.exitMs].reduce((a, b) => a + b, 0)) < 1e-9);
    const name = profileName(profile);
    assert.equal(name, 'cpu-1t-b4');
    const m = updateManifest(dir, (x) => ({ ...x, profiles: { [name]: profile } }));
    assert.deepEqual(storedProfile(m, name), profile);
    assert.equal(storedProfile(m, 'cpu-2t-b1'), undefined);
  });

  it('refuses bad options and stored profiles that do not fit the bundle', async () => {
    await assert.rejects(profileBundle(dir, { repeats: 0 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /repeats 0/.test(e.message));
    const bad = { ...manifest, profiles: { 'cpu-1t-b1': { kind: 'latency', stageMs: [1] } } };
    assert.throws(() => storedProfile(bad, 'cpu-1t-b1'), (e: unknown) => isExitwiseError(e, 'EXW_BUNDLE') && /not a latency profile of its 3 stages/.test(e.message));
  });
});
