import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode } from 'fast-png';
import { saveMultiExitBundle } from '../../../src/bundle/from-model.ts';
import { loadBundle } from '../../../src/bundle/io.ts';
import type { Dataset } from '../../../src/data/dataset.ts';
import { isExitwiseError } from '../../../src/errors.ts';
import { float32Tensor } from '../../../src/runtime/tensor.ts';
import { exitLogitsOn } from '../../../src/train/heads-only/evaluate.ts';
import { multiExitFromBundle } from '../../../src/train/heads-only/from-bundle.ts';
import { readUserImages } from '../../../src/train/heads-only/user-images.ts';
import { runSegments } from '../../cli/attach-support.ts';
import { inputsOf, loadMnist, mnistData, multiExitClassifier } from './support.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-heads-bundle-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('a bundle back as one multi-exit model', () => {
  let dataset: Dataset;
  before(async () => {
    dataset = await loadMnist();
  });

  it('computes every exit exactly as the bundle\'s chained segments and the model it was cut from', async () => {
    const { multi } = multiExitClassifier(5);
    const dir = join(tmp, 'digits.exitwise');
    saveMultiExitBundle(dir, multi, { classes: dataset.classes, provenance: { dataset: 'mnist', strategy: 'exits-only' } });
    const bundle = loadBundle(dir);
    const back = multiExitFromBundle(bundle);
    assert.deepEqual(back.exitTensors, multi.exitTensors);
    assert.deepEqual(back.exitLogits, multi.exitLogits);
    const data = mnistData(dataset, 0, 40);
    const [fromBack, fromMulti] = [await exitLogitsOn(back, data, { threads: 1 }), await exitLogitsOn(multi, data, { threads: 1 })];
    const chained = await runSegments(bundle, float32Tensor(inputsOf(data), [40, 1, 28, 28]));
    fromBack.forEach((logits, k) => {
      assert.deepEqual(logits, fromMulti[k], `exit ${k} vs the multi-exit model`);
      const worst = logits.reduce((m, v, i) => Math.max(m, Math.abs(v - chained[k]![i]!)), 0);
      assert.ok(worst < 1e-5, `exit ${k} vs the chained segments: ${worst}`);
    });
  });
});

describe('a user\'s images', () => {
  const gray = Uint8Array.from([0, 50, 100, 150, 200, 250]); // 3 wide × 2 high
  const png = (name: string, image: Parameters<typeof encode>[0]): string => {
    const dir = join(tmp, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.png'), encode(image));
    return dir;
  };
  const oneChannel = { inputDims: [1, 2, 3], layout: 'NCHW' } as const;

  it('grey, 16-bit, colour and palette PNGs become the model\'s grey pixels', () => {
    assert.deepEqual(readUserImages(png('gray', { width: 3, height: 2, data: gray, channels: 1, depth: 8 }), oneChannel).images, gray);
    const deep = Uint16Array.from(gray, (v) => v * 257);
    assert.deepEqual(readUserImages(png('deep', { width: 3, height: 2, data: deep, channels: 1, depth: 16 }), oneChannel).images, gray);
    const rgba = new Uint8Array(24);
    gray.forEach((v, p) => rgba.set([v, 255 - v, 0, 7], p * 4));
    const expected = Uint8Array.from(gray, (v) => Math.round(0.299 * v + 0.587 * (255 - v)));
    assert.deepEqual(readUserImages(png('rgba', { width: 3, height: 2, data: rgba, channels: 4, depth: 8 }), oneChannel).images, expected);
    const indexed = { width: 3, height: 2, data: Uint8Array.from([0, 1, 1, 0, 1, 0]), channels: 1, depth: 8 as const, palette: [[10, 10, 10], [200, 200, 200]] };
    assert.deepEqual(readUserImages(png('palette', indexed), oneChannel).images, Uint8Array.from([10, 200, 200, 10, 200, 10]));
  });

  it('grey images fill every channel, in the model\'s layout', () => {
    const dir = png('gray3', { width: 3, height: 2, data: gray, channels: 1, depth: 8 });
    assert.deepEqual(readUserImages(dir, { inputDims: [3, 2, 3], layout: 'NCHW' }).images, Uint8Array.from([...gray, ...gray, ...gray]));
    assert.deepEqual(readUserImages(dir, { inputDims: [2, 3, 3], layout: 'NHWC' }).images, Uint8Array.from([...gray].flatMap((v) => [v, v, v])));
  });

  it('refuses sizes that do not fit, packed bit depths, and folders without images', () => {
    const refused = (path: string, pattern: RegExp) => assert.throws(() => readUserImages(path, oneChannel), (e: unknown) => isExitwiseError(e, 'EXW_DATA') && pattern.test(e.message));
    refused(png('tall', { width: 2, height: 3, data: gray, channels: 1, depth: 8 }), /is 2×3; the model takes 3×2 images/);
    refused(png('bits', { width: 3, height: 2, data: Uint8Array.from([0b10100000, 0b01000000]), channels: 1, depth: 1 }), /1-bit pixels/);
    mkdirSync(join(tmp, 'empty'));
    refused(join(tmp, 'empty'), /holds no \.png images/);
    const idx = join(tmp, 'wrong.idx');
    writeFileSync(idx, Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6]));
    refused(idx, /holds \[1, 3, 2\] images; the model takes 2×3/);
  });
});
