/**
 * Per-step cost of the TypeScript side of training: optimizer updates, gradient clipping, and
 * checkpoint save/load, at the size of the default ResNet-14 (≈ 175k parameters) and of a larger
 * 2M-parameter model. Compare with one training step of the graph (bench/training-step.ts).
 *
 * Usage: node --import tsx bench/optimizer.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.ts';
import { clipGradients } from '../src/train/clip.ts';
import { createOptimizer } from '../src/train/optimizers/index.ts';
import type { OptimizerConfig } from '../src/train/optimizers/types.ts';
import { ParamStore } from '../src/train/params.ts';

/** A store of 3×3 conv kernels of 1024 channels each ([1024, 9]), the remainder in one 1-D tensor. */
function store(total: number): ParamStore {
  const entries = Array.from({ length: Math.floor(total / 9216) }, (_, i) => ({ name: `conv${i}.weight`, dims: [1024, 9] }));
  if (total % 9216 !== 0) entries.push({ name: 'rest', dims: [total % 9216] });
  return new ParamStore(entries.map(({ name, dims }) => ({
    name, dims, value: new Float32Array(dims[0]! * (dims[1] ?? 1)).fill(0.01), trainable: true, decay: dims.length > 1,
  })));
}

function time(label: string, repeats: number, fn: () => void): void {
  fn(); // warm up the JIT
  const t = performance.now();
  for (let i = 0; i < repeats; i++) fn();
  const ms = (performance.now() - t) / repeats;
  process.stdout.write(`${label.padEnd(44)} ${ms.toFixed(3).padStart(8)} ms\n`);
}

for (const size of [175_000, 2_000_000]) {
  process.stdout.write(`\n${(size / 1000).toFixed(0)}k parameters\n`);
  const configs: OptimizerConfig[] = [{ kind: 'sgd' }, { kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 }, { kind: 'adamw' }];
  for (const config of configs) {
    const s = store(size);
    const grads = new Map(s.params().map((e) => [e.name, new Float32Array(e.value.length).fill(0.001)]));
    const optimizer = createOptimizer(config, s);
    time(`step ${JSON.stringify(config)}`.slice(0, 44), 50, () => optimizer.step(grads, 0.01));
  }
  const s = store(size);
  const grads = new Map(s.params().map((e) => [e.name, new Float32Array(e.value.length).fill(0.001)]));
  time('clip by norm', 50, () => clipGradients(grads, { kind: 'norm', max: 1 }));
  const optimizer = createOptimizer({ kind: 'adamw' }, s);
  optimizer.step(grads, 0.01);
  const dir = mkdtempSync(join(tmpdir(), 'exitwise-bench-'));
  let step = 0;
  const checkpoint = () => ({ ...s.snapshot(), optimizer: optimizer.state(), schedulerStep: step++, epoch: 0, batchInEpoch: 0, rngState: null, metrics: [], config: {} });
  time('save checkpoint (AdamW: 3× the parameters)', 5, () => saveCheckpoint(dir, checkpoint()));
  time('load checkpoint', 5, () => loadCheckpoint(dir));
  rmSync(dir, { recursive: true, force: true });
}
