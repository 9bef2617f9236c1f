/**
 * The adaptive runtime's own cost: `run()` with nothing exiting against one session on the whole
 * model, on an untrained ResNet-14 (the default backbone, 40.6 MFLOPs) with three exits. Figures
 * are wall-clock and CPU time per call of this process (user + system): with one intra-op thread
 * ORT computes on the calling thread, so CPU time is the work done, not inflated by waiting for a
 * core on a shared machine. Interleaved rounds, median of rounds.
 *
 * Usage: node --import tsx bench/adaptive-overhead.ts [--rounds 5] [--batch 1,64] [--threads 1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { saveMultiExitBundle } from '../src/bundle/from-model.ts';
import { loadBundle } from '../src/bundle/io.ts';
import { formatTable } from '../src/cli/output.ts';
import { attachExits } from '../src/exits/attach.ts';
import { planHeads } from '../src/exits/heads/plan.ts';
import { placeExits } from '../src/exits/placement.ts';
import { policyFromJson } from '../src/exits/policies/registry.ts';
import { buildBackbone } from '../src/nn/index.ts';
import { AdaptiveRuntime } from '../src/runtime/adaptive/index.ts';
import { createSession } from '../src/runtime/session.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '1,64' }, threads: { type: 'string', default: '1' } } });
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const batches = values.batch.split(',').map(Number);

const backbone = buildBackbone({ kind: 'resnet' });
const placements = placeExits(backbone.model, { by: 'fractions', fractions: [0.25, 0.5, 0.75] });
const plan = planHeads({ model: backbone.model }, placements);
const multi = attachExits({ model: backbone.model }, placements, plan.heads.map((h) => h.config));
const root = mkdtempSync(join(tmpdir(), 'exitwise-overhead-'));
const dir = join(root, 'resnet14.exitwise');
saveMultiExitBundle(dir, multi, { classes: Array.from({ length: 10 }, (_, i) => String(i)), provenance: { dataset: 'none', strategy: 'untrained' } });
const bundle = loadBundle(dir);
const K = bundle.manifest.exits.length;

// Thresholds of 1 stop nothing (an untrained net is never that sure); null also skips the heads.
const noExit = policyFromJson({ kind: 'max-softmax', exits: K, thresholds: new Array(K - 1).fill(1) });
const skipHeads = policyFromJson({ kind: 'max-softmax', exits: K, thresholds: new Array(K - 1).fill(null) });
const plain = await createSession(backbone.model, { threads });
const fused = await AdaptiveRuntime.open(bundle, { threads, policy: noExit });
const separate = await AdaptiveRuntime.open(bundle, { threads, policy: noExit, fuse: false });
const publicApi = await AdaptiveRuntime.open(bundle, { threads, policy: noExit, directCalls: false });

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const rows: (string | number)[][] = [];
for (const batch of batches) {
  const input = Float32Array.from({ length: batch * 784 }, (_, i) => Math.sin(i) * 0.5);
  const calls = Math.max(20, Math.round(400 / batch));
  const variants: Record<string, () => Promise<unknown>> = {
    'plain model (1 session)': () => plain.run({ image: { type: 'float32', dims: [batch, 1, 28, 28], data: input } }),
    'run(), nothing exits': () => fused.run(input, batch),
    'run(), nothing exits, unfused': () => separate.run(input, batch),
    'run(), nothing exits, public ORT API': () => publicApi.run(input, batch),
    'run(), early heads skipped': () => fused.run(input, batch, { policy: skipHeads }),
  };
  const cpu: Record<string, number[]> = {};
  const wall: Record<string, number[]> = {};
  for (const f of Object.values(variants)) for (let i = 0; i < 10; i++) await f();
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(variants)) {
      const start = cpuMs();
      const started = performance.now();
      for (let i = 0; i < calls; i++) await f();
      (wall[name] ??= []).push((performance.now() - started) / calls);
      (cpu[name] ??= []).push((cpuMs() - start) / calls);
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const [baseCpu, baseWall] = [med(cpu['plain model (1 session)']!), med(wall['plain model (1 session)']!)];
  for (const name of Object.keys(cpu)) {
    const [c, w] = [med(cpu[name]!), med(wall[name]!)];
    rows.push([batch, name, c.toFixed(3), (c / baseCpu).toFixed(3), w.toFixed(3), (w / baseWall).toFixed(3)]);
  }
}
process.stdout.write(`threads ${threads}, median of ${rounds} rounds\n${formatTable(['batch', 'variant', 'CPU ms/call', 'vs plain', 'wall ms/call', 'vs plain'], rows)}\n`);
await Promise.all([plain.release(), fused.release(), separate.release(), publicApi.release()]);
rmSync(root, { recursive: true, force: true });
