/**
 * Training-step throughput of the generated training graph on ORT against PyTorch 1.13 CPU, on
 * src/nn's ResNet-14 with BatchNormalization (bench/resnet-bn.ts; batch 128, 1×28×28) and its
 * PyTorch twin (bench/torch_models.py).
 * One exitwise step = one run of the training graph (forward + backward) and a plain SGD update
 * of the weights in TypeScript; one PyTorch step = zero_grad, forward, backward, SGD step.
 *
 * The machine is shared, so absolute figures move: both engines run in alternating bursts of
 * STEPS measured steps (PyTorch in a child process of bench/torch_training_step.py --serve), and
 * each round reports the ratio exitwise/PyTorch of the median samples/s of its two bursts. Each
 * burst starts with SETTLE unmeasured steps: PyTorch's first steps after a change of thread
 * count are up to 2× slow.
 *
 * Usage: npx tsx bench/training-step.ts [--rounds 5] [--steps 10] [--threads 1,2]
 *          [--opt all|extended|basic|disabled] [--no-spin] [--no-torch] [--profile]
 *   --no-spin  ORT's intra-op threads sleep instead of spinning between parallel sections (on a
 *              loaded machine 2 threads then lose less; on an idle one it costs a few percent).
 *   --profile  writes ORT's profile of one burst per thread count and prints time per op type.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { buildTrainingGraph } from '../src/autodiff/training-graph.ts';
import { encodeModel } from '../src/onnx/model-io.ts';
import { tensorToArray } from '../src/onnx/tensor-data.ts';
import { resnetBn } from './resnet-bn.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1,2' },
    opt: { type: 'string', default: 'all' },
    'no-torch': { type: 'boolean', default: false },
    'no-spin': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const [BATCH, WARMUP, SETTLE, LR] = [128, 3, 2, 0.01];
const [ROUNDS, STEPS] = [Number(args.rounds), Number(args.steps)];
const THREADS = args.threads.split(',').map(Number);

const { model, trainable, loss, input, spec } = resnetBn();
const training = buildTrainingGraph(model, { loss, trainable });
const bytes = encodeModel(training.model);
const params = new Map(model.graph!.initializer
  .filter((t) => training.parameterInputs.includes(t.name))
  .map((t) => { const v = tensorToArray(t); return [t.name, new ort.Tensor('float32', Float32Array.from(v.data as Float32Array), v.dims) as ort.Tensor]; }));
const data = {
  [input]: new ort.Tensor('float32', Float32Array.from({ length: BATCH * 784 }, () => Math.random()), [BATCH, 1, 28, 28]),
  labels: new ort.Tensor('int64', BigInt64Array.from({ length: BATCH }, (_, i) => BigInt(i % 10)), [BATCH]),
};

/** One exitwise step: run the graph, SGD on the weights, running statistics taken over. */
async function ortStep(session: ort.InferenceSession): Promise<number> {
  const t0 = performance.now();
  const out = await session.run({ ...data, ...Object.fromEntries(params) });
  for (const [p, g] of training.gradientNames) {
    const w = params.get(p)!.data as Float32Array;
    const d = out[g]!.data as Float32Array;
    for (let i = 0; i < w.length; i++) w[i]! -= LR * d[i]!;
  }
  for (const [s, u] of training.stateUpdates) params.set(s, out[u]!);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rate = (ms: number) => Math.round((BATCH / ms) * 1000);

async function openSession(threads: number, profile: boolean): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: args.opt as 'all', enableProfiling: profile, profileFilePrefix: join(tmpdir(), `exitwise-train-${threads}t`),
    ...(args['no-spin'] ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  });
}

/** Time per op type over a profile file, descending, per step. */
function summarizeProfile(file: string, steps: number): string {
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat?: string; name: string; dur: number; args?: { op_name?: string } }[];
  const byOp = new Map<string, { ms: number; nodes: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const key = `${e.name.startsWith('grad/') ? 'bwd' : 'fwd'} ${e.args?.op_name}`;
    const s = byOp.get(key) ?? { ms: 0, nodes: 0 };
    byOp.set(key, { ms: s.ms + e.dur / 1000 / steps, nodes: s.nodes + 1 / steps });
  }
  const rows = [...byOp].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, v]) => s + v.ms, 0);
  return [`  kernels ${total.toFixed(1)} ms/step`, ...rows.slice(0, 20).map(([k, v]) => `  ${k.padEnd(28)} ${v.ms.toFixed(2).padStart(8)} ms  ${Math.round(v.nodes)} nodes`)].join('\n');
}

if (args.profile) {
  for (const threads of THREADS) {
    const session = await openSession(threads, true);
    for (let i = 0; i < WARMUP + STEPS; i++) await ortStep(session);
    session.endProfiling(); // writes <prefix>_<date>.json; the node binding does not return the name
    await session.release();
    const file = join(tmpdir(), readdirSync(tmpdir()).filter((f) => f.startsWith(`exitwise-train-${threads}t`)).sort().pop()!);
    console.log(`ORT profile, ${threads} thread(s), ${WARMUP + STEPS} steps:\n${summarizeProfile(file, WARMUP + STEPS)}`);
    unlinkSync(file);
  }
  process.exit(0);
}

const torch = args['no-torch'] ? undefined : spawn('/usr/bin/python3', [new URL('./torch_training_step.py', import.meta.url).pathname, '--serve', JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
const torchLines = torch === undefined ? undefined : createInterface({ input: torch.stdout! })[Symbol.asyncIterator]();
async function torchSteps(threads: number, count: number): Promise<number[]> {
  torch!.stdin!.write(`${threads} ${count}\n`);
  return JSON.parse((await torchLines!.next()).value as string) as number[];
}

const sessions = new Map<number, ort.InferenceSession>();
for (const threads of THREADS) {
  const session = await openSession(threads, false);
  for (let i = 0; i < WARMUP; i++) await ortStep(session);
  if (torch !== undefined) await torchSteps(threads, WARMUP);
  sessions.set(threads, session);
}
console.log(`training graph: ${training.model.graph!.node.length} nodes; batch ${BATCH}; ${ROUNDS} rounds × ${STEPS} steps per engine`);
const ratios = new Map<number, number[]>(THREADS.map((t) => [t, []]));
const ortRates = new Map<number, number[]>(THREADS.map((t) => [t, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const threads of THREADS) {
    const ortBurst = async () => { const ts: number[] = []; for (let i = 0; i < SETTLE + STEPS; i++) ts.push(await ortStep(sessions.get(threads)!)); return median(ts.slice(SETTLE)); };
    const torchBurst = async () => median((await torchSteps(threads, SETTLE + STEPS)).slice(SETTLE));
    // Alternate which engine goes first, so a load change hits both sides alike over the rounds.
    let ortMs: number;
    let torchMs: number | undefined;
    if (torch === undefined) ortMs = await ortBurst();
    else if (r % 2 === 0) { ortMs = await ortBurst(); torchMs = await torchBurst(); }
    else { torchMs = await torchBurst(); ortMs = await ortBurst(); }
    ortRates.get(threads)!.push(rate(ortMs));
    const line = `round ${r + 1}, ${threads} thread(s): exitwise ${rate(ortMs)} samples/s (${ortMs.toFixed(1)} ms)`;
    if (torchMs === undefined) console.log(line);
    else {
      ratios.get(threads)!.push(torchMs / ortMs);
      console.log(`${line}, PyTorch ${rate(torchMs)} samples/s (${torchMs.toFixed(1)} ms), ratio ${(torchMs / ortMs).toFixed(2)}`);
    }
  }
}
for (const threads of THREADS) {
  const rs = ratios.get(threads)!;
  const summary = rs.length === 0 ? '' : `, ratio exitwise/PyTorch median ${median(rs).toFixed(2)} (min ${Math.min(...rs).toFixed(2)}, max ${Math.max(...rs).toFixed(2)})`;
  console.log(`${threads} thread(s): exitwise median ${median(ortRates.get(threads)!)} samples/s${summary}`);
}
for (const s of sessions.values()) await s.release();
torch?.stdin!.end();
