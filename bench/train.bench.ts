/**
 * Training throughput, exitwise against PyTorch CPU: samples/s of one training step of the
 * default ResNet-style backbone (src/nn, BatchNorm in training mode) at batch 128, at 1 and 2
 * threads. An exitwise step is what the trainer runs (src/train/classifier-training.ts): the ORT
 * training graph (forward + backward), the SGD-with-momentum update and the BatchNorm statistics
 * copy in TypeScript. A PyTorch step is zero_grad, forward, cross-entropy, backward, SGD step on
 * the PyTorch twin of the same backbone (bench/torch_models.py), in a child process of
 * bench/torch_train_bench.py. Data is random and in memory: the loader costs ≈ 1% of a step
 * (bench/data-loader.ts).
 *
 * The machine is shared, so the engines take turns: ROUNDS rounds of {exitwise t1, PyTorch t1,
 * exitwise t2, PyTorch t2} (the order of the pair alternating between rounds), each a burst of
 * STEPS timed steps after WARMUP untimed ones; the figures are medians over the rounds of each
 * burst's median step.
 *
 * Usage: npm run bench:train [-- --json] [--rounds 3] [--steps 10] [--threads 1,2] [--no-torch]
 *   --json prints {"results": [{"threads": 1, "exitwise": <samples/s>, "pytorch": <samples/s>|null,
 *   "ratio": <exitwise/pytorch>|null}, …]} and nothing else on stdout.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBackbone } from '../src/nn/registry.ts';
import { ClassifierTraining } from '../src/train/classifier-training.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1,2' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const BATCH = 128;
const [ROUNDS, STEPS, WARMUP] = [Number(args.rounds), Number(args.steps), Number(args.warmup)];
const THREADS = args.threads.split(',').map(Number);
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_train_bench.py', import.meta.url));
/** The step both engines take: SGD with momentum at a small constant rate (the rate does not change the cost). */
const OPTIMIZER = { kind: 'sgd', momentum: 0.9 } as const;
const LR = 0.01;

const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const backbone = buildBackbone({ kind: 'resnet' });
const [c, h, w] = backbone.spec.inputShape;
const x = Float32Array.from({ length: BATCH * c * h * w }, () => Math.random());
const y = BigInt64Array.from({ length: BATCH }, (_, i) => BigInt(i % backbone.spec.classes));

function torchAvailable(): boolean {
  if (args['no-torch']) return false;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status === 0) return true;
  log(`PyTorch not found (${PYTHON} cannot import torch): apt-get install python3-torch. Reporting exitwise only.`);
  return false;
}

/** Median samples/s of one burst of PyTorch steps, in a fresh child process. */
function torchBurst(threads: number): number {
  const run = spawnSync(PYTHON, [TORCH_SCRIPT, '--threads', String(threads), '--batch', String(BATCH), '--steps', String(STEPS),
    '--warmup', String(WARMUP), '--spec', JSON.stringify(backbone.spec)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${TORCH_SCRIPT} failed (status ${run.status}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { samplesPerSecond: number }).samplesPerSecond;
}

/** Median samples/s of one burst of exitwise steps. */
async function exitwiseBurst(training: ClassifierTraining): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const t0 = performance.now();
    await training.step(x, y, BATCH, backbone.spec.inputShape);
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  return (BATCH / median(times)) * 1000;
}

const withTorch = torchAvailable();
const trainings = new Map<number, ClassifierTraining>();
for (const threads of THREADS) {
  trainings.set(threads, await ClassifierTraining.create(
    { model: backbone.model, input: backbone.input, logits: backbone.logits, trainable: backbone.params.filter((p) => p.trainable).map((p) => p.name) },
    { optimizer: OPTIMIZER, schedule: { kind: 'constant', lr: LR }, threads },
  ));
}
log(`${backbone.spec.kind} ${JSON.stringify(backbone.spec)}: ${backbone.paramCount} params; batch ${BATCH}; ${ROUNDS} rounds × ${STEPS} steps (+${WARMUP} warmup) per engine and thread count`);
const rates = new Map(THREADS.map((t) => [t, { exitwise: [] as number[], pytorch: [] as number[] }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const threads of THREADS) {
    const rate = rates.get(threads)!;
    const ours = async () => rate.exitwise.push(await exitwiseBurst(trainings.get(threads)!));
    const theirs = () => withTorch && rate.pytorch.push(torchBurst(threads));
    // Alternate who goes first, so that a change of load hits both engines alike over the rounds.
    if (r % 2 === 0) { await ours(); theirs(); } else { theirs(); await ours(); }
    const torchFigure = withTorch ? `, PyTorch ${Math.round(rate.pytorch.at(-1)!)}` : '';
    log(`round ${r + 1}, ${threads} thread(s): exitwise ${Math.round(rate.exitwise.at(-1)!)}${torchFigure} samples/s`);
  }
}
for (const t of trainings.values()) await t.release();

const results = THREADS.map((threads) => {
  const rate = rates.get(threads)!;
  const exitwise = Math.round(median(rate.exitwise));
  const pytorch = withTorch ? Math.round(median(rate.pytorch)) : null;
  return { threads, exitwise, pytorch, ratio: pytorch === null ? null : Number((exitwise / pytorch).toFixed(3)) };
});
if (args.json) process.stdout.write(`${JSON.stringify({ results }, null, 2)}\n`);
else for (const r of results) log(`${r.threads} thread(s): exitwise ${r.exitwise} samples/s` + (r.pytorch === null ? '' : `, PyTorch ${r.pytorch} samples/s, ratio ${r.ratio}`));
