/**
 * How fast early exit could be on this machine with a runtime that cost nothing: each exit's
 * subnet (stages 0..k and head k as one plain graph, `exportSubnet`) timed like the plain model,
 * weighted by how many test inputs the bundle's policy sends to each exit. The ratio of that
 * "time-ideal" speedup to the FLOPs-ideal one is the efficiency no runtime can beat here: early
 * layers that run slower per FLOP than late ones (few channels, full resolution) cap it below 1.
 *
 * Usage: node --import tsx bench/exit-time-bound.ts BUNDLE [--threads T] [--limit N]
 */
import { parseArgs } from 'node:util';
import { loadBundle } from '../src/bundle/io.ts';
import { exportSubnet, SUBNET_OUTPUT } from '../src/bundle/subnet.ts';
import { loadBundleSplit } from '../src/cli/commands/eval.ts';
import { formatTable } from '../src/cli/output.ts';
import { AdaptiveRuntime } from '../src/runtime/adaptive/index.ts';
import { prepareInputs } from '../src/runtime/bench/index.ts';
import { openBenchSession } from '../src/runtime/bench/sessions.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { threads: { type: 'string', default: '1' }, limit: { type: 'string', default: '2000' } } });
const dir = positionals[0];
if (dir === undefined) throw new Error('usage: bench/exit-time-bound.ts BUNDLE [--threads T] [--limit N]');
const threads = Number(values.threads);
const bundle = loadBundle(dir);
const { manifest } = bundle;
const K = manifest.exits.length;
const { data } = await loadBundleSplit(dir, { quiet: true }, 'test');
const inputs = prepareInputs(data, Number(values.limit));
const size = inputs.data.length / inputs.count;

const runtime = await AdaptiveRuntime.open(bundle, { threads });
const { exitIndex, flops } = await runtime.run(inputs.data, inputs.count);
await runtime.release();
const share = Array.from({ length: K }, (_, k) => exitIndex.filter((e) => e === k).length / inputs.count);
const fullFlops = manifest.stages.reduce((s, st) => s + st.flops, 0) + manifest.exits[K - 1]!.flops;
const flopsIdeal = fullFlops / (flops.reduce((a, f) => a + f, 0) / inputs.count);

const sessions = await Promise.all(Array.from({ length: K }, (_, k) => openBenchSession(exportSubnet(bundle, k), { threads, spinning: true })));
const rows: (string | number)[][] = [];
for (const batch of [1, 64]) {
  const times: number[][] = sessions.map(() => []);
  for (let round = 0; round < 5; round++) {
    for (const [k, session] of sessions.entries()) {
      const start = performance.now();
      for (let i = 0; i + batch <= inputs.count; i += batch) {
        await session.run({ [manifest.input.name]: { type: 'float32', dims: [batch, ...inputs.inputDims], data: inputs.data.subarray(i * size, (i + batch) * size) } }, [SUBNET_OUTPUT]);
      }
      times[k]!.push((performance.now() - start) / (Math.floor(inputs.count / batch) * batch));
    }
  }
  const ms = times.map((t) => t.sort((a, b) => a - b)[2]!);
  const full = ms[K - 1]!;
  const expected = ms.reduce((s, t, k) => s + share[k]! * t, 0);
  const timeIdeal = full / expected;
  rows.push([batch, ms.map((t) => (t / full).toFixed(3)).join(' / '), manifest.exits.map((e) => (e.cumulativeFlops / fullFlops).toFixed(3)).join(' / '), `${timeIdeal.toFixed(2)}×`, `${flopsIdeal.toFixed(2)}×`, (timeIdeal / flopsIdeal).toFixed(2)]);
}
await Promise.all(sessions.map((s) => s.release()));
console.log(`${dir}, threads ${threads}, ${inputs.count} test inputs; exits ${share.map((s) => `${(100 * s).toFixed(1)}%`).join(' / ')}`);
console.log(formatTable(['batch', 'subnet time / full', 'subnet FLOPs / full', 'time-ideal', 'FLOPs-ideal', 'efficiency bound'], rows));
