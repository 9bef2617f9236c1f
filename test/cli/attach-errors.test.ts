import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildBackbone } from '../../src/nn/registry.ts';
import { saveModel } from '../../src/onnx/model-io.ts';
import { exitwise, FIXTURE, FIXTURE_PREPROCESSING } from './attach-support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-cli-attach-errors-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A model built here and saved, with one spec field changed from what MNIST needs. */
function savedCnn(name: string, spec: { classes?: number; inputShape?: [number, number, number] }): string {
  const path = join(tmp, `${name}.onnx`);
  saveModel(path, buildBackbone({ kind: 'cnn', channels: [4, 8], ...spec }).model);
  return path;
}

/** Runs attach, which must fail before training with `code`, exit status `status`; returns its JSON error. */
async function fails(args: string[], code: string, status: number): Promise<{ code: string; message: string; hint?: string }> {
  const out = join(tmp, `never-${Math.random().toString(36).slice(2)}.exitwise`);
  const r = await exitwise('attach', ...args, '--out', ...(args.includes('--out') ? [] : [out]), '--json', '--quiet');
  assert.equal(r.status, status, r.stderr);
  const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string } };
  assert.equal(error.code, code, error.message);
  assert.ok(!existsSync(out), 'nothing is written');
  return error;
}

describe('exitwise attach refuses what cannot work, before training', () => {
  it('a model whose classes or input size do not match the dataset', async () => {
    const classes = await fails([savedCnn('five', { classes: 5 }), '--dataset', 'mnist'], 'EXW_USAGE', 64);
    assert.match(classes.message, /the model outputs 5 classes; mnist has 10/);
    const size = await fails([savedCnn('big', { inputShape: [1, 32, 32] }), '--dataset', 'mnist'], 'EXW_USAGE', 64);
    assert.match(size.message, /takes \[N, 1, 32, 32\] inputs; mnist has 1×28×28 images/);
    const layout = await fails([FIXTURE, '--dataset', 'mnist', '--layout', 'NHWC'], 'EXW_USAGE', 64);
    assert.match(layout.message, /\[N, 28, 28, 1\] in NHWC/);
  });

  it('an --at tensor that is not an exit position, naming the nearest ones', async () => {
    const inside = await fails([FIXTURE, '--dataset', 'mnist', '--at', '/blocks/blocks.1/conv1/Conv_output_0'], 'EXW_SURGERY', 65);
    assert.match(inside.message, /not an exit position: other tensors bypass it/);
    assert.match(inside.hint!, /nearest exit positions in FLOPs: \/blocks\/blocks\.\d\/.*\(\d+\.\d%\)/);
    const unknown = await fails([FIXTURE, '--dataset', 'mnist', '--at', 'no-such-tensor'], 'EXW_SURGERY', 65);
    assert.match(unknown.message, /"no-such-tensor" is not computed by the backbone/);
  });

  it('preprocessing that does not fit the input: a --mean per channel of a one-channel model, a zero --std', async () => {
    const mean = await fails([FIXTURE, '--dataset', 'mnist', '--mean', '0.1,0.2,0.3'], 'EXW_USAGE', 64);
    assert.match(mean.message, /--mean has 3 values; the model input has 1 channel/);
    const std = await fails([FIXTURE, '--dataset', 'mnist', ...FIXTURE_PREPROCESSING.slice(0, 2), '--std', '0'], 'EXW_USAGE', 64);
    assert.match(std.message, /--std 0 has a value that is not positive/);
    await fails([FIXTURE, '--dataset', 'mnist', '--scale', 'x'], 'EXW_USAGE', 64);
  });

  it('an existing --out, an unknown dataset or head, several outputs without --logits', async () => {
    const existing = join(tmp, 'existing.exitwise');
    mkdirSync(existing);
    const r = await exitwise('attach', FIXTURE, '--dataset', 'mnist', '--out', existing, '--json');
    assert.equal(r.status, 74);
    assert.match(JSON.parse(r.stdout).error.message, /already exists/);
    assert.match((await fails([FIXTURE, '--dataset', 'cifar'], 'EXW_USAGE', 64)).message, /unknown dataset "cifar"/);
    assert.match((await fails([FIXTURE, '--dataset', 'mnist', '--head', 'transformer'], 'EXW_USAGE', 64)).message, /unknown exit head kind "transformer"/);
    assert.match((await fails([FIXTURE, '--dataset', 'mnist', '--logits', 'scores'], 'EXW_BUILD', 65)).message, /"scores" is not an output/);
  });
});
