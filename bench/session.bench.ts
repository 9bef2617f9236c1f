/**
 * Session overheads and conv throughput, node vs web (wasm in Node), at 1 and 2 threads.
 * The wasm thread pool is fixed per process, so each configuration runs in a child process.
 *
 * Usage: node --import tsx bench/session.bench.ts            (all configurations, a table)
 *        node --import tsx bench/session.bench.ts web 2      (one configuration, a JSON line)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { arrayToTensor, DataType } from '../src/onnx/tensor-data.ts';
import { type ModelProto, ModelProtoSchema } from '../src/onnx/proto/onnx_pb.ts';
import { type BackendKind, createSession, type Session } from '../src/runtime/session.ts';
import { float32Tensor, type TensorLike } from '../src/runtime/tensor.ts';

const BATCH = 32;
const SIDE = 28; // MNIST-sized feature maps
const CHANNELS = 32;

/** A seeded uniform(−a, a) generator, so every configuration runs the same weights. */
function uniform(n: number, a: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32 * 2 - 1) * a);
}

/** x[B, 1, 28, 28] → 3 × (Conv 3×3 pad 1 → Relu) with 32 channels → y[B, 32, 28, 28]. */
function convModel(): { model: ModelProto; flopsPerImage: number } {
  const node = [];
  const initializer = [];
  let input = 'x';
  let flops = 0;
  for (let l = 0; l < 3; l++) {
    const cin = l === 0 ? 1 : CHANNELS;
    initializer.push(arrayToTensor(`w${l}`, DataType.FLOAT, [CHANNELS, cin, 3, 3], uniform(CHANNELS * cin * 9, 1 / Math.sqrt(cin * 9), l + 1)));
    initializer.push(arrayToTensor(`b${l}`, DataType.FLOAT, [CHANNELS], new Float32Array(CHANNELS)));
    const pads = { name: 'pads', type: 7, ints: [1n, 1n, 1n, 1n] };
    node.push({ opType: 'Conv', input: [input, `w${l}`, `b${l}`], output: [`c${l}`], attribute: [pads] });
    node.push({ opType: 'Relu', input: [`c${l}`], output: [l === 2 ? 'y' : `r${l}`] });
    input = `r${l}`;
    flops += 2 * CHANNELS * cin * 9 * SIDE * SIDE;
  }
  const info = (name: string, c: number) => ({
    name,
    type: { value: { case: 'tensorType' as const, value: { elemType: DataType.FLOAT, shape: { dim: [
      { value: { case: 'dimParam' as const, value: 'N' } },
      ...[c, SIDE, SIDE].map((d) => ({ value: { case: 'dimValue' as const, value: BigInt(d) } })),
    ] } } } },
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: { name: 'convs', input: [info('x', 1)], output: [info('y', CHANNELS)], initializer, node },
  });
  return { model, flopsPerImage: flops };
}

/** y = x + 1 on a [1, 4] tensor: run() cost is all overhead. */
function tinyModel(): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'tiny',
      input: [{ name: 'x', type: { value: { case: 'tensorType', value: { elemType: DataType.FLOAT, shape: { dim: [{ value: { case: 'dimValue', value: 1n } }, { value: { case: 'dimValue', value: 4n } }] } } } } }],
      output: [{ name: 'y' }],
      initializer: [arrayToTensor('one', DataType.FLOAT, [], new Float32Array([1]))],
      node: [{ opType: 'Add', input: ['x', 'one'], output: ['y'] }],
    },
  });
}

/**
 * Median milliseconds per call over `seconds` of calls, after `warmup` calls. The median, not
 * the mean: the 2 shared cores of our machines make a few calls very slow.
 */
async function timePerCall(call: () => Promise<unknown>, seconds: number, warmup = 5): Promise<number> {
  for (let i = 0; i < warmup; i++) await call();
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function measure(backend: BackendKind, threads: number): Promise<Record<string, number | string>> {
  const tiny = tinyModel();
  let t0 = performance.now();
  const first: Session = await createSession(tiny, { backend, threads });
  const firstCreateMs = performance.now() - t0;
  t0 = performance.now();
  const second = await createSession(tiny, { backend, threads });
  const createMs = performance.now() - t0;
  const x = float32Tensor([1, 2, 3, 4], [1, 4]);
  const tinyRunMs = await timePerCall(() => second.run({ x }), 1, 100);
  await Promise.all([first.release(), second.release()]);

  const { model, flopsPerImage } = convModel();
  const conv = await createSession(model, { backend, threads });
  const input = float32Tensor(uniform(BATCH * SIDE * SIDE, 1, 7), [BATCH, 1, SIDE, SIDE]);
  const convMs = await timePerCall(() => conv.run({ x: input }), 3);
  const into: Record<string, TensorLike> = await conv.run({ x: input });
  const convIntoMs = await timePerCall(() => conv.run({ x: input }, { into }), 3);
  await conv.release();
  // Threads alive in this process: shows whether the wasm pool really started workers.
  const osThreads = readdirSync('/proc/self/task').length;
  const gflops = (flopsPerImage * BATCH) / (convMs * 1e6);
  return {
    backend, threads,
    firstCreateMs: +firstCreateMs.toFixed(1), createMs: +createMs.toFixed(2), tinyRunMs: +tinyRunMs.toFixed(4),
    convBatchMs: +convMs.toFixed(2), convIntoMs: +convIntoMs.toFixed(2),
    imagesPerS: Math.round((BATCH * 1000) / convMs), gflops: +gflops.toFixed(1), osThreads,
  };
}

const [backendArg, threadsArg] = process.argv.slice(2);
if (backendArg !== undefined) {
  console.log(JSON.stringify(await measure(backendArg as BackendKind, Number(threadsArg ?? 1))));
} else {
  const rows = [];
  for (const backend of ['node', 'web']) {
    for (const threads of [1, 2]) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), backend, String(threads)], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`${backend}/${threads} failed: ${child.stderr}`);
      rows.push(JSON.parse(child.stdout.trim().split('\n').at(-1)!));
    }
  }
  console.log(`conv graph: 3 × Conv3×3(32 ch) + Relu on [${BATCH}, 1, ${SIDE}, ${SIDE}]`);
  console.table(rows);
}
