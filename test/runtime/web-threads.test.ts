// A file of its own: the wasm thread pool is fixed per process by the first web session.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { createSession } from '../../src/runtime/session.ts';
import { loadCase, maxAbsDiff } from './fixtures.ts';

it('web: the first session fixes a 2-thread wasm pool that later sessions share', async () => {
  const c = loadCase('test_conv_with_strides_padding');
  const first = await createSession(c.model, { backend: 'web', threads: 2 });
  const ort = (await import('onnxruntime-web')) as unknown as { env: { wasm: { numThreads: number } } };
  assert.equal(ort.env.wasm.numThreads, 2);
  const { y } = await first.run(c.feeds);
  assert.equal(maxAbsDiff(y!, c.expected.y!), 0);
  await assert.rejects(createSession(c.model, { backend: 'web', threads: 1 }), (e) => isExitwiseError(e, 'EXW_RUNTIME') && /already runs with 2/.test(e.message));
  for (const threads of [2, undefined]) {
    const again = await createSession(c.model, { backend: 'web', ...(threads === undefined ? {} : { threads }) });
    assert.equal(maxAbsDiff((await again.run(c.feeds)).y!, c.expected.y!), 0);
    await again.release();
  }
  await first.release();
});
