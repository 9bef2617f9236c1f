import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import { type BackendKind, createSession } from '../../src/runtime/session.ts';
import { float32Tensor, int64Tensor, type TensorLike } from '../../src/runtime/tensor.ts';
import { loadCase, maxAbsDiff, mlpModel, mlpReference, TESTDATA } from './fixtures.ts';

/** Cases from ONNX's own node tests, with one int64 input (Gather indices) among them. */
const CASES = [
  'test_conv_with_strides_padding', 'test_conv_with_autopad_same', 'test_convtranspose_pads',
  'test_maxpool_2d_pads', 'test_averagepool_2d_default', 'test_batchnorm_example', 'test_gemm_all_attributes',
  'test_matmul_4d', 'test_softmax_example', 'test_gather_0', 'test_reshape_reordered_all_dims', 'test_sigmoid',
];
const BACKENDS: BackendKind[] = ['node', 'web'];
const X = [1, 2, 3, 4, -1, 0.5, 2, -3];

/** ONNX's node-test tolerance: rtol 1e-3, atol 1e-7 (atol widened for float32 sums). */
function assertClose(actual: TensorLike, expected: TensorLike, what: string): void {
  assert.equal(actual.type, expected.type, `${what}: type`);
  assert.deepEqual([...actual.dims], [...expected.dims], `${what}: dims`);
  for (let i = 0; i < expected.data.length; i++) {
    const a = Number(actual.data[i]);
    const e = Number(expected.data[i]);
    assert.ok(Math.abs(a - e) <= 1e-5 + 1e-3 * Math.abs(e), `${what}[${i}]: ${a} vs ${e}`);
  }
}

async function rejectsWith(promise: Promise<unknown>, code: Parameters<typeof isExitwiseError>[1], pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e) => {
    assert.ok(isExitwiseError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(e.hint, 'an error carries a hint');
    return true;
  });
}

describe('conformance: libonnx-testdata cases on both backends', () => {
  for (const name of CASES) {
    it(name, async () => {
      const c = loadCase(name);
      const results: Record<string, Record<string, TensorLike>> = {};
      for (const backend of BACKENDS) {
        const session = await createSession(c.model, { backend });
        results[backend] = await session.run(c.feeds);
        await session.release();
        for (const [out, expected] of Object.entries(c.expected)) assertClose(results[backend][out]!, expected, `${backend} ${out}`);
      }
      for (const out of Object.keys(c.expected)) assert.ok(maxAbsDiff(results.node![out]!, results.web![out]!) <= 1e-4, `node vs web ${out}`);
    });
  }
});

for (const backend of BACKENDS) {
  describe(`session on ${backend}`, () => {
    it('runs a hand-computed MLP from a ModelProto, bytes and a path alike', async () => {
      const expected = mlpReference(X).y;
      for (const model of [mlpModel(), encodeModel(mlpModel()), `${TESTDATA}/test_relu/model.onnx`]) {
        const session = await createSession(model, { backend, optimizationLevel: 'basic' });
        if (typeof model === 'string') {
          assert.deepEqual(session.inputNames, ['x']);
          await session.release();
          continue;
        }
        assert.equal(session.backend, backend);
        assert.deepEqual([session.inputNames, session.outputNames], [['x'], ['y']]);
        const { y } = await session.run({ x: float32Tensor(X, [2, 4]) });
        assert.deepEqual([...y!.dims], [2, 3]);
        assert.deepEqual(Array.from(y!.data as Float32Array), expected);
        await session.release();
      }
    });

    it('gives the same outputs at every optimization level', async () => {
      const x = float32Tensor(Array.from({ length: 40 }, (_, i) => Math.sin(i)), [10, 4]);
      const expected = mlpReference(x.data).y;
      for (const optimizationLevel of ['disabled', 'basic', 'extended', 'all'] as const) {
        const session = await createSession(mlpModel(), { backend, optimizationLevel });
        const { y } = await session.run({ x });
        Array.from(y!.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5));
        await session.release();
      }
    });

    it('writes into pre-allocated outputs and returns them, run after run', async () => {
      const session = await createSession(mlpModel(), { backend });
      const first = await session.run({ x: float32Tensor(X, [2, 4]) });
      const buffer = first.y!.data;
      for (const scale of [2, -1, 0.25]) {
        const x = float32Tensor(X.map((v) => v * scale), [2, 4]);
        const fresh = await session.run({ x });
        const reused = await session.run({ x }, { into: first });
        assert.equal(reused.y, first.y, 'the pre-allocated tensor object comes back');
        assert.equal(reused.y!.data, buffer, 'its buffer is reused');
        assert.deepEqual(Array.from(buffer as Float32Array), Array.from(fresh.y!.data as Float32Array));
        assert.deepEqual(Array.from(buffer as Float32Array), mlpReference(x.data).y.map(Math.fround));
      }
      const wrong = { y: float32Tensor(new Float32Array(9), [3, 3]) };
      await rejectsWith(session.run({ x: float32Tensor(X, [2, 4]) }, { into: wrong }), 'EXW_RUNTIME', /y/);
      await rejectsWith(session.run({ x: float32Tensor(X, [2, 4]) }, { outputs: [], into: first }), 'EXW_RUNTIME', /not among the fetched/);
      await session.release();
    });

    it('turns bad feeds into EXW_RUNTIME with ORT\'s message', async () => {
      const session = await createSession(mlpModel(), { backend });
      const x = float32Tensor(X, [2, 4]);
      await rejectsWith(session.run({ input: x }), 'EXW_RUNTIME', /unknown input\(s\) "input"; missing input\(s\) "x"/);
      await rejectsWith(session.run({}), 'EXW_RUNTIME', /missing input\(s\) "x"/);
      await rejectsWith(session.run({ x }, { outputs: ['z'] }), 'EXW_RUNTIME', /unknown output\(s\) "z"/);
      await rejectsWith(session.run({ x: float32Tensor(X, [8]) }), 'EXW_RUNTIME', /Invalid rank for input: x/);
      await rejectsWith(session.run({ x: float32Tensor(X, [4, 2]) }), 'EXW_RUNTIME', /invalid dimensions for input: x/);
      await rejectsWith(session.run({ x: int64Tensor(X.map(Math.round), [2, 4]) }), 'EXW_RUNTIME', /type/i);
      await assert.rejects(session.run({ x: { type: 'float32', dims: [2, 4], data: new Float32Array(7) } }), (e) => isExitwiseError(e, 'EXW_TENSOR_DATA'));
      // The session is still usable after refused runs.
      const { y } = await session.run({ x });
      assert.deepEqual(Array.from(y!.data as Float32Array), mlpReference(X).y);
      await session.release();
    });

    it('types the failures of session creation', async () => {
      for (const bytes of [new Uint8Array([7, 1, 2, 3, 4, 5, 6]), new Uint8Array(0), new Uint8Array([0x08, 0x07])]) {
        await rejectsWith(createSession(bytes, { backend }), 'EXW_MODEL_DECODE', /cannot parse/);
      }
      const unknownOp = mlpModel();
      unknownOp.graph!.node[2]!.opType = 'NoSuchOp';
      await rejectsWith(createSession(unknownOp, { backend }), 'EXW_RUNTIME', /NoSuchOp/);
      await rejectsWith(createSession(mlpModel(), { backend, threads: 0 }), 'EXW_RUNTIME', /positive integer/);
      await assert.rejects(createSession('/nonexistent/model.onnx', { backend }), (e) => isExitwiseError(e, 'EXW_IO'));
    });

    it('releases idempotently and refuses to run afterwards', async () => {
      const session = await createSession(mlpModel(), { backend });
      const pending = session.run({ x: float32Tensor(X, [2, 4]) });
      await Promise.all([session.release(), session.release()]);
      assert.deepEqual(Array.from((await pending).y!.data as Float32Array), mlpReference(X).y, 'in-flight runs finish');
      await session.release();
      await rejectsWith(session.run({ x: float32Tensor(X, [2, 4]) }), 'EXW_RUNTIME', /released/);
    });

    it('answers overlapping runs correctly', async () => {
      const session = await createSession(mlpModel(), { backend });
      const inputs = Array.from({ length: 16 }, (_, k) => X.map((v) => v * (k - 7.5)));
      const results = await Promise.all(inputs.map((x) => session.run({ x: float32Tensor(x, [2, 4]) })));
      results.forEach((r, k) => assert.deepEqual(Array.from(r.y!.data as Float32Array), mlpReference(inputs[k]!).y.map(Math.fround)));
      await session.release();
    });
  });
}

it('node: accepts a per-session thread count', async () => {
  const x = float32Tensor(X, [2, 4]);
  for (const threads of [1, 2]) {
    const session = await createSession(mlpModel(), { backend: 'node', threads });
    assert.deepEqual(Array.from((await session.run({ x })).y!.data as Float32Array), mlpReference(X).y);
    await session.release();
  }
});
