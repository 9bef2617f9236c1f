// Locating Fashion-MNIST: the lookup order, the error naming every option, and the verified
// download, served from 127.0.0.1 (never the real internet).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_FILES, fashionMnist } from '../../src/data/datasets/fashion-mnist.ts';
import { IDX_FILE_NAMES, locateFirst } from '../../src/data/locate.ts';
import { loadDataset } from '../../src/data/registry.ts';

const tmp = mkdtempSync(join(tmpdir(), 'exw-locate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const fresh = (name: string): string => {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const hash = (algorithm: string, bytes: Uint8Array): string => createHash(algorithm).update(bytes).digest('hex');

/**
 * The canonical Zalando `.gz` files, rebuilt from Debian's copies: Debian's packaging rewrote only
 * the gzip header (dropped the file name, reset the time), so restoring the original header gives
 * back the original bytes. Their MD5s are the ones Zalando publishes, which checks the SHA-256
 * constants pinned in the code against an independent source.
 */
const ORIGINAL_MTIME: Record<string, number> = {
  'train-images-idx3-ubyte': 1504176606,
  'train-labels-idx1-ubyte': 1504176606,
  't10k-images-idx3-ubyte': 1504176627,
  't10k-labels-idx1-ubyte': 1504176627,
};
const ZALANDO_MD5: Record<string, string> = {
  'train-images-idx3-ubyte': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  'train-labels-idx1-ubyte': '25c81989df183df01b3e8a0aad5dffbe',
  't10k-images-idx3-ubyte': 'bef4ecab320f06d8554ea6380940ec79',
  't10k-labels-idx1-ubyte': 'bb300cfdad3c16e7a12a480ee83cd310',
};
function canonicalGzip(base: string): Buffer {
  const debian = readFileSync(join(DEBIAN_FASHION_MNIST_DIR, `${base}.gz`));
  assert.equal(debian[3], 0, 'Debian header has no optional fields: the deflate stream starts at byte 10');
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0, 0x00, 0x03]);
  header.writeUInt32LE(ORIGINAL_MTIME[base]!, 4);
  return Buffer.concat([header, Buffer.from(`${base}\0`, 'latin1'), debian.subarray(10)]);
}

/** Serves `files` by name; other paths get 404; `/stall/…` accepts and never answers. */
function serve(files: Map<string, Uint8Array>): Promise<{ server: Server; baseUrl: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url!);
    if (request.url!.startsWith('/stall/')) return; // never answers
    const body = files.get(request.url!.slice(1));
    if (body === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, baseUrl: `http://127.0.0.1:${port}/`, requests });
    }),
  );
}

describe('Fashion-MNIST canonical checksums', () => {
  it('pins the SHA-256 and size of the files whose MD5s Zalando publishes', () => {
    for (const [key, base] of Object.entries(IDX_FILE_NAMES) as [keyof typeof IDX_FILE_NAMES, string][]) {
      const bytes = canonicalGzip(base);
      assert.equal(hash('md5', bytes), ZALANDO_MD5[base], base);
      assert.equal(hash('sha256', bytes), FASHION_MNIST_FILES[key].sha256, base);
      assert.equal(bytes.length, FASHION_MNIST_FILES[key].bytes, base);
    }
  });
});

describe('locating fashion-mnist', () => {
  let http: Awaited<ReturnType<typeof serve>>;
  const canonical = new Map<string, Uint8Array>();
  before(async () => {
    for (const base of Object.values(IDX_FILE_NAMES)) canonical.set(`${base}.gz`, canonicalGzip(base));
    http = await serve(canonical);
  });
  after(() => {
    http.server.closeAllConnections();
    http.server.close();
  });

  it('names every option, and why each failed, when none has the files', async () => {
    const empty = fresh('empty-data-home');
    const options = {
      env: { EXITWISE_DATA: empty },
      systemDir: join(tmp, 'no-such-system-dir'),
      download: { baseUrl: `${http.baseUrl}missing/` },
    };
    await assert.rejects(loadDataset('fashion-mnist', options), (e: unknown) => {
      assert.ok(isExitwiseError(e, 'EXW_DATA'));
      assert.equal(e.exitStatus, 66);
      const lines = e.message.split('\n');
      assert.match(lines[0]!, /dataset fashion-mnist not found/);
      assert.match(lines[1]!, /1\. --data DIR: not given/);
      assert.match(lines[2]!, /2\. \$EXITWISE_DATA\/fashion-mnist: .*empty-data-home\/fashion-mnist is not a folder/);
      assert.match(lines[3]!, /3\. .*no-such-system-dir \(Debian package dataset-fashion-mnist\): .* is not a folder/);
      assert.match(lines[4]!, /4\. download from http:\/\/127\.0\.0\.1:\d+\/missing\/ .*HTTP 404/);
      assert.equal(lines.length, 5);
      for (const remedy of ['--data DIR', 'EXITWISE_DATA', 'apt install dataset-fashion-mnist', 'network access']) {
        assert.ok(e.hint!.includes(remedy), remedy);
      }
      return true;
    });
    assert.deepEqual(readdirSync(empty), [], 'a failed download writes nothing');
  });

  it('lists the download cache when EXITWISE_DATA is unset, and reports a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const cache = fresh('xdg-cache');
    const options = { env: { XDG_CACHE_HOME: cache }, systemDir: join(tmp, 'none'), download: { baseUrl: `http://127.0.0.1:${port}/` } };
    await assert.rejects(loadDataset('fashion-mnist', options), (e: unknown) => {
      assert.ok(isExitwiseError(e, 'EXW_DATA'));
      assert.match(e.message, /2\. \$EXITWISE_DATA\/fashion-mnist: EXITWISE_DATA is not set/);
      assert.match(e.message, /4\. .*xdg-cache\/exitwise\/fashion-mnist \(earlier download\)/);
      assert.match(e.message, /5\. download .*ECONNREFUSED/);
      return true;
    });
  });

  it('prefers $EXITWISE_DATA/fashion-mnist to the Debian folder', async () => {
    const home = fresh('data-home');
    mkdirSync(join(home, 'fashion-mnist'));
    for (const base of Object.values(IDX_FILE_NAMES)) {
      symlinkSync(join(DEBIAN_FASHION_MNIST_DIR, `${base}.gz`), join(home, 'fashion-mnist', `${base}.gz`));
    }
    const files = await locateFirst('fashion-mnist', fashionMnist.sources({ env: { EXITWISE_DATA: home }, download: false }));
    assert.equal(files.trainImages, join(home, 'fashion-mnist', 'train-images-idx3-ubyte.gz'));
  });

  it('downloads, verifies and caches the canonical files, then finds them without the network', async () => {
    const cache = fresh('download-cache');
    const options = { env: { XDG_CACHE_HOME: cache }, systemDir: join(tmp, 'none'), download: { baseUrl: http.baseUrl } };
    const before = http.requests.length;
    const data = await loadDataset('fashion-mnist', options);
    const dir = join(cache, 'exitwise', 'fashion-mnist');
    assert.equal(data.source, dir);
    assert.equal(http.requests.length - before, 4);
    assert.deepEqual(readdirSync(dir).sort(), [...canonical.keys()].sort(), 'no temporary files left');
    for (const [name, bytes] of canonical) assert.ok(readFileSync(join(dir, name)).equals(bytes), name);
    assert.equal(data.train.count, 60000);
    // Second time: found in the cache, no request.
    const files = await locateFirst('fashion-mnist', fashionMnist.sources({ ...options, download: { baseUrl: `${http.baseUrl}missing/` } }));
    assert.equal(files.testLabels, join(dir, 't10k-labels-idx1-ubyte.gz'));
    assert.equal(http.requests.length - before, 4);
  });

  it('refuses a file whose SHA-256 does not match, and writes nothing', async () => {
    const tampered = new Map(canonical);
    const labels = Buffer.from(canonical.get('t10k-labels-idx1-ubyte.gz')!);
    labels[100] = labels[100]! ^ 1;
    tampered.set('t10k-labels-idx1-ubyte.gz', labels);
    const bad = await serve(tampered);
    try {
      const home = fresh('tampered-home');
      const options = { env: { EXITWISE_DATA: home }, systemDir: join(tmp, 'none'), download: { baseUrl: bad.baseUrl } };
      await assert.rejects(loadDataset('fashion-mnist', options), (e: unknown) =>
        isExitwiseError(e, 'EXW_DATA') && /t10k-labels-idx1-ubyte\.gz failed: SHA-256 mismatch: got [0-9a-f]{64}, expected 67da17c7/.test(e.message),
      );
      assert.ok(!existsSync(join(home, 'fashion-mnist', 't10k-labels-idx1-ubyte.gz')));
    } finally {
      bad.server.closeAllConnections();
      bad.server.close();
    }
  });

  it('gives up on a server that stalls, after the stall timeout', async () => {
    const home = fresh('stall-home');
    const options = { env: { EXITWISE_DATA: home }, systemDir: join(tmp, 'none'), download: { baseUrl: `${http.baseUrl}stall/`, stallTimeoutMs: 200 } };
    const started = performance.now();
    await assert.rejects(loadDataset('fashion-mnist', options), (e: unknown) =>
      isExitwiseError(e, 'EXW_DATA') && /no data received for 200 ms/.test(e.message),
    );
    assert.ok(performance.now() - started < 5000);
  });
});
