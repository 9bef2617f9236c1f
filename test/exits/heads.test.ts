import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { DEFAULT_HEAD_BUDGET, headCost, planHeads } from '../../src/exits/heads/plan.ts';
import { buildHead, HEAD_TEMPLATES, type HeadConfig, headTemplate, parseHeadConfig } from '../../src/exits/heads/registry.ts';
import { placeExits } from '../../src/exits/placement.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import { GraphBuilder } from '../../src/onnx/builder/index.ts';
import type { Dim } from '../../src/onnx/shapes/types.ts';
import { tensorToArray } from '../../src/onnx/tensor-data.ts';
import { validateModel } from '../../src/onnx/validate.ts';
import { float32Tensor } from '../../src/runtime/tensor.ts';
import { randomValues, rng } from '../support/graph.ts';
import { resnetMnist, run } from './support.ts';

const CLASSES = 10;
const options = { classes: CLASSES, prefix: 'exit1/', seed: 5, opset: 17 };
const image: Dim[] = ['N', 16, 14, 14];
const vector: Dim[] = ['N', 24];

/** The head configs under test: every kind, default and explicit options. */
const CASES: { config: HeadConfig; feature: Dim[] }[] = [
  { config: { kind: 'pool-linear' }, feature: image },
  { config: { kind: 'pool-linear' }, feature: vector },
  { config: { kind: 'conv-pool-linear' }, feature: image },
  { config: { kind: 'conv-pool-linear', channels: 8, stride: 1 }, feature: image },
  { config: { kind: 'mlp' }, feature: image },
  { config: { kind: 'mlp', hidden: 32 }, feature: vector },
];

/** Params and FLOPs by hand, per the cost model's conventions (2·MACs; one FLOP per output element of pooling, BN, ReLU). */
function expectedCost(config: HeadConfig, feature: Dim[]): { params: number; flops: number } {
  const c = feature[1] as number;
  const pool = feature.length === 4 ? c : 0;
  if (config.kind === 'pool-linear') return { params: c * CLASSES + CLASSES, flops: pool + 2 * c * CLASSES };
  if (config.kind === 'mlp') {
    const h = config.hidden ?? c;
    return { params: c * h + h + h * CLASSES + CLASSES, flops: pool + 2 * c * h + h + 2 * h * CLASSES };
  }
  const [out, s] = [config.channels ?? c, config.stride ?? 2];
  const side = Math.floor((14 + 2 - 3) / s) + 1;
  const elements = out * side * side;
  return { params: out * c * 9 + 2 * out + out * CLASSES + CLASSES, flops: 2 * elements * c * 9 + 2 * elements + out + 2 * out * CLASSES };
}

describe('exit head templates', () => {
  for (const { config, feature } of CASES) {
    it(`${JSON.stringify(config)} on [${feature.join(', ')}] builds a valid head with the expected cost and names`, () => {
      const head = buildHead(config, { name: 'feat', dims: feature }, options);
      validateModel(head);
      const graph = head.graph!;
      assert.deepEqual(graph.input.map((v) => v.name), ['feat']);
      assert.deepEqual(graph.output.map((v) => v.name), ['exit1/logits']);
      for (const name of [...graph.node.flatMap((n) => [n.name, ...n.output]), ...graph.initializer.map((t) => t.name)]) {
        assert.ok(name.startsWith('exit1/'), `${name} is prefixed`);
      }
      const { totalParams, totalFlops } = analyzeCost(head);
      assert.deepEqual({ params: totalParams, flops: totalFlops }, expectedCost(config, feature));
      const cost = headCost(head, { totalFlops: 2 * totalFlops, totalParams: 4 * totalParams });
      assert.deepEqual([cost.flopsFraction, cost.paramsFraction], [0.5, 0.25]);
    });

    it(`${JSON.stringify(config)} round-trips through JSON once resolved, and is reproducible from its seed`, () => {
      const resolved = headTemplate(config.kind).resolve(config, feature);
      assert.deepEqual(parseHeadConfig(JSON.parse(JSON.stringify(resolved))), resolved);
      const again = buildHead(resolved, { name: 'feat', dims: feature }, options);
      assert.deepEqual(encodeModel(again), encodeModel(buildHead(config, { name: 'feat', dims: feature }, options)));
      const other = buildHead(config, { name: 'feat', dims: feature }, { ...options, seed: 6 });
      assert.notDeepEqual(encodeModel(other), encodeModel(again));
    });
  }

  it('pool-linear computes W · mean_hw(x) + b (checked in float64)', async () => {
    const head = buildHead({ kind: 'pool-linear' }, { name: 'feat', dims: [2, 16, 14, 14] }, options);
    const weights = new Map(head.graph!.initializer.map((t) => [t.name, tensorToArray(t).data as Float32Array]));
    const [w, b] = [weights.get('exit1/fc/weight')!, weights.get('exit1/fc/bias')!];
    const x = Float32Array.from(randomValues(rng(3), 2 * 16 * 196));
    const { 'exit1/logits': logits } = await run(head, { feat: float32Tensor(x, [2, 16, 14, 14]) });
    for (let n = 0; n < 2; n++) {
      const mean = Array.from({ length: 16 }, (_, c) => x.subarray((n * 16 + c) * 196, (n * 16 + c + 1) * 196).reduce((s, v) => s + v, 0) / 196);
      for (let k = 0; k < CLASSES; k++) {
        const expected = b[k]! + mean.reduce((s, m, c) => s + m * w[k * 16 + c]!, 0);
        assert.ok(Math.abs((logits!.data as Float32Array)[n * CLASSES + k]! - expected) < 1e-5);
      }
    }
  });

  it('refuses unknown kinds, unknown fields and features a kind cannot read, with typed errors', () => {
    assert.deepEqual(Object.keys(HEAD_TEMPLATES).sort(), ['conv-pool-linear', 'mlp', 'pool-linear']);
    assert.throws(() => parseHeadConfig({ kind: 'transformer' }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /conv-pool-linear, mlp/.test(e.hint!));
    assert.throws(() => parseHeadConfig({ kind: 'conv-pool-linear', channels: -3 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /channels:/.test(e.message));
    assert.throws(() => parseHeadConfig({ kind: 'mlp', width: 3 }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && /width/.test(e.message));
    assert.throws(() => buildHead({ kind: 'conv-pool-linear' }, { name: 'v', dims: vector }, options), (e: unknown) => isExitwiseError(e, 'EXW_BUILD') && /\[N, C, H, W\]/.test(e.message));
    assert.throws(() => buildHead({ kind: 'pool-linear' }, { name: 'v', dims: ['N', 3, 8] }, options), (e: unknown) => isExitwiseError(e, 'EXW_BUILD'));
  });
});

describe('planHeads', () => {
  const model = resnetMnist();
  const total = analyzeCost(model);
  const placements = placeExits(model, { by: 'fractions', fractions: [0.25, 0.5, 0.75] });
  const measured = (heads: { config: HeadConfig }[]): number => heads.reduce((s, h, k) =>
    s + analyzeCost(buildHead(h.config, { name: placements[k]!.tensor, dims: placements[k]!.shape }, { ...options, seed: 0, opset: 13 })).totalFlops, 0);

  it('keeps the default conv heads within 5% of the backbone FLOPs by halving the widest, and says so', () => {
    const plan = planHeads({ model }, placements);
    assert.equal(plan.budget, DEFAULT_HEAD_BUDGET);
    assert.ok(plan.withinBudget && plan.total.flopsFraction <= 0.05);
    assert.ok(Math.abs(plan.total.flops - measured(plan.heads)) < 1e-6);
    assert.ok(Math.abs(plan.total.flopsFraction - plan.total.flops / total.totalFlops) < 1e-12);
    assert.ok(plan.heads.every((h) => h.config.kind === 'conv-pool-linear'));
    assert.ok(plan.adjustments.length > 0 && plan.adjustments.every((a) => /channels \d+, stride 2 → conv-pool-linear channels \d+/.test(a)));
    // Unconstrained, the same heads cost more than the budget: the plan did shrink them.
    const free = planHeads({ model }, placements, { budget: Infinity });
    assert.deepEqual(free.adjustments, []);
    assert.ok(free.total.flopsFraction > 0.05);
    assert.deepEqual(free.heads.map((h) => h.config), placements.map((p) => ({ kind: 'conv-pool-linear', channels: p.shape[1], stride: 2 })));
  });

  it('falls back to pool-linear when even narrow heads do not fit, and reports a budget it cannot meet', () => {
    const tight = planHeads({ model }, placements, { budget: 0.001 });
    assert.ok(tight.heads.every((h) => h.config.kind === 'pool-linear'));
    assert.ok(tight.withinBudget, 'three pool-linear heads cost < 0.1%');
    const impossible = planHeads({ model }, placements, { budget: 1e-6 });
    assert.equal(impossible.withinBudget, false);
    assert.match(impossible.adjustments.at(-1)!, /already pool-linear/);
    for (const budget of [-0.1, Number.NaN]) assert.throws(() => planHeads({ model }, placements, { budget }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
  });

  it('takes per-exit configs, uses pool-linear where a uniform kind cannot read a feature, and checks counts', () => {
    const perExit: HeadConfig[] = [{ kind: 'mlp', hidden: 16 }, { kind: 'pool-linear' }, { kind: 'conv-pool-linear', channels: 8 }];
    const plan = planHeads({ model }, placements, { heads: perExit, budget: Infinity });
    assert.deepEqual(plan.heads.map((h) => h.config), [{ kind: 'mlp', hidden: 16 }, { kind: 'pool-linear' }, { kind: 'conv-pool-linear', channels: 8, stride: 2 }]);
    assert.throws(() => planHeads({ model }, placements, { heads: perExit.slice(1) }), (e: unknown) => isExitwiseError(e, 'EXW_USAGE'));
    // A backbone of [N, D] features: a conv head cannot read them.
    const b = new GraphBuilder();
    let h = b.flatten(b.input('x', 'float32', ['N', 1, 28, 28]), 1, { name: 'flat' });
    for (const [k, width] of [[0, 32], [1, 16]] as const) {
      h = b.relu(b.gemm(h, b.initializer(`w${k}`, Float32Array.from(randomValues(rng(k), width * (h.dims[1] as number))), [width, h.dims[1] as number]), undefined, { transB: true }), { name: `hidden${k}` });
    }
    b.output(b.gemm(h, b.initializer('w2', new Float32Array(10 * 16), [10, 16]), undefined, { transB: true }), 'logits');
    const mlpBackbone = b.build();
    const vectors = placeExits(mlpBackbone, { by: 'tensors', tensors: ['hidden0'] });
    const fallback = planHeads({ model: mlpBackbone }, vectors, { budget: Infinity });
    assert.deepEqual(fallback.heads.map((x) => x.config), [{ kind: 'pool-linear' }]);
    assert.match(fallback.adjustments[0]!, /exit 0: pool-linear instead of conv-pool-linear/);
    assert.throws(() => planHeads({ model: mlpBackbone }, vectors, { heads: [{ kind: 'conv-pool-linear' }] }), (e: unknown) => isExitwiseError(e, 'EXW_BUILD'));
  });
});
