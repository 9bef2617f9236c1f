// buildBackbone: shapes through ONNX Runtime for several configs, blocks as cut points, cost
// figures, parameter bookkeeping, seeded initialisation statistics, and typed errors for bad
// specs. Numerical equality with PyTorch is in twin.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { BACKBONE_METADATA_KEY, backboneKinds, buildBackbone, type Backbone, type BackboneSpec } from '../../src/nn/index.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import { encodeModel } from '../../src/onnx/model-io.ts';
import { inferShapesStatic } from '../../src/onnx/shapes/index.ts';
import { findCutPoints } from '../../src/onnx/surgery/cut-points.ts';
import { tensorToArray } from '../../src/onnx/tensor-data.ts';
import { validateModel } from '../../src/onnx/validate.ts';
import { runModelWithIntermediates } from '../../src/runtime/intermediates.ts';
import { float32Tensor } from '../../src/runtime/tensor.ts';

/** A spec and the block output dims `[C, H, W]` worked out by hand. */
const SHAPE_CASES: { spec: BackboneSpec; blocks: [number, number, number][]; classes: number }[] = [
  // Defaults: widths 16, 32, 64 at 28, 14, 7.
  { spec: { kind: 'resnet' }, classes: 10, blocks: [[16, 28, 28], [16, 28, 28], [32, 14, 14], [32, 14, 14], [64, 7, 7], [64, 7, 7]] },
  // Stride-2 3×3 convs with padding 1 take ⌈side/2⌉: 15 → 8 → 4 → 2, 9 → 5 → 3 → 2.
  { spec: { kind: 'resnet', blocksPerStage: [1, 1, 2, 1], width: 3, classes: 4, inputShape: [3, 15, 9] }, classes: 4, blocks: [[3, 15, 9], [6, 8, 5], [12, 4, 3], [12, 4, 3], [24, 2, 2]] },
  { spec: { kind: 'resnet', blocksPerStage: [1], width: 8, inputShape: [1, 1, 1] }, classes: 10, blocks: [[8, 1, 1]] },
  // A stride-2 stem: widths 32, 64, 128 at 14, 7, 4.
  { spec: { kind: 'resnet', width: 32, stemStride: 2 }, classes: 10, blocks: [[32, 14, 14], [32, 14, 14], [64, 7, 7], [64, 7, 7], [128, 4, 4], [128, 4, 4]] },
  { spec: { kind: 'cnn' }, classes: 10, blocks: [[32, 14, 14], [64, 7, 7]] },
  // 2×2 pools floor: 28 → 14 → 7 → 3.
  { spec: { kind: 'cnn', channels: [8, 8, 16], classes: 2 }, classes: 2, blocks: [[8, 14, 14], [8, 7, 7], [16, 3, 3]] },
  { spec: { kind: 'cnn', channels: [5], inputShape: [2, 2, 3] }, classes: 10, blocks: [[5, 1, 1]] },
];

describe('buildBackbone: graph and shapes', () => {
  for (const { spec, blocks, classes } of SHAPE_CASES) {
    it(`${JSON.stringify(spec)} runs in ORT with the expected shapes`, async () => {
      const backbone = buildBackbone(spec);
      assert.deepEqual(validateModel(backbone.model).warnings, []);
      const [c, h, w] = backbone.spec.inputShape;
      const graph = backbone.model.graph!;
      assert.deepEqual(graph.input.map((v) => v.name), ['image']);
      assert.deepEqual(graph.output.map((v) => v.name), ['logits']);
      const shapes = inferShapesStatic(backbone.model).shapes;
      assert.deepEqual(shapes.get('image')!.dims, ['N', c, h, w]);
      assert.deepEqual(shapes.get('logits')!.dims, ['N', classes]);
      assert.deepEqual(backbone.blocks.map((b) => shapes.get(b)!.dims), blocks.map((d) => ['N', ...d]));

      const batch = 3;
      const image = float32Tensor(Float32Array.from({ length: batch * c * h * w }, (_, i) => Math.sin(i)), [batch, c, h, w]);
      const out = await runModelWithIntermediates(backbone.model, { image }, ['logits', ...backbone.blocks]);
      assert.deepEqual(out.logits!.dims, [batch, classes]);
      assert.ok((out.logits!.data as Float32Array).every(Number.isFinite));
      backbone.blocks.forEach((b, k) => assert.deepEqual(out[b]!.dims, [batch, ...blocks[k]!]));
    });
  }

  it('BatchNorm is in inference form and every initializer is described once', () => {
    const backbone = buildBackbone({ kind: 'resnet', blocksPerStage: [1, 1] });
    const graph = backbone.model.graph!;
    for (const n of graph.node.filter((n) => n.opType === 'BatchNormalization')) {
      assert.equal(n.output.length, 1, `${n.name} has only the inference output`);
      assert.ok(!n.attribute.some((a) => a.name === 'training_mode'));
    }
    assert.deepEqual(backbone.params.map((p) => p.name), graph.initializer.map((t) => t.name));
    for (const p of backbone.params) assert.deepEqual(p.dims, graph.initializer.find((t) => t.name === p.name)!.dims.map(Number));
    // The layout as torch's state_dict: stem, stage 0 identity block, stage 1 block with a projection shortcut, fc.
    assert.deepEqual(backbone.params.filter((p) => p.role === 'weight').map((p) => `${p.name} ${p.dims.join('x')}`), [
      'stem.conv.weight 16x1x3x3',
      'stages.0.0.conv1.weight 16x16x3x3', 'stages.0.0.conv2.weight 16x16x3x3',
      'stages.1.0.conv1.weight 32x16x3x3', 'stages.1.0.conv2.weight 32x32x3x3', 'stages.1.0.shortcut.conv.weight 32x16x1x1',
      'fc.weight 10x32',
    ]);
    assert.deepEqual(backbone.params.filter((p) => p.name.startsWith('stem.bn')).map((p) => [p.name, p.role, p.trainable]), [
      ['stem.bn.weight', 'bn-scale', true], ['stem.bn.bias', 'bn-bias', true],
      ['stem.bn.running_mean', 'bn-mean', false], ['stem.bn.running_var', 'bn-var', false],
    ]);
  });
});

describe('blocks are cut points, with growing cost', () => {
  for (const spec of [{ kind: 'resnet' }, { kind: 'resnet', blocksPerStage: [3, 1] }, { kind: 'cnn', channels: [4, 8, 16] }] as BackboneSpec[]) {
    it(JSON.stringify(spec), () => {
      const backbone = buildBackbone(spec);
      const cuts = findCutPoints(backbone.model);
      const positions = backbone.blocks.map((b) => cuts.indexOf(b));
      assert.ok(positions.every((p) => p >= 0), `blocks ${backbone.blocks.join(', ')} all in ${cuts.join(', ')}`);
      assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
      const cost = analyzeCost(backbone.model);
      const reach = backbone.blocks.map((b) => cost.cumulativeFlops(b));
      reach.forEach((f, k) => assert.ok(k === 0 ? f > 0 : f > reach[k - 1]!));
      assert.ok(reach.at(-1)! < cost.totalFlops);
    });
  }
});

describe('cost of the defaults (analyzeCost)', () => {
  const report = (b: Backbone) => analyzeCost(b.model);

  it('resnet: ≈ 175k params, ≈ 40 MFLOPs per sample, nearly all in convs', () => {
    const cost = report(buildBackbone({ kind: 'resnet' }));
    assert.deepEqual(cost.warnings, []);
    assert.equal(cost.totalParams, 174_970);
    // Conv MACs by hand: stem 784·16·9; stage 0: 4 × 784·16·16·9; stages 1 and 2 each: one
    // 3×3 conv from half the width, a 1×1 projection, three 3×3 convs at full width, at a quarter
    // of the positions for double the width: 196·32·(16·9 + 16 + 3·32·9) = 49·64·(32·9 + 32 + 3·64·9).
    const macs = 784 * 16 * 9 + 4 * 784 * 16 * 16 * 9 + 2 * 196 * 32 * (16 * 9 + 16 + 3 * 32 * 9);
    assert.equal(cost.flopsByOpType.Conv, 2 * macs);
    assert.ok(cost.totalFlops > 40e6 && cost.totalFlops < 41e6, `${cost.totalFlops}`);
  });

  it('cnn: ≈ 50k params, ≈ 8 MFLOPs per sample', () => {
    const cost = report(buildBackbone({ kind: 'cnn' }));
    assert.deepEqual(cost.warnings, []);
    assert.equal(cost.totalParams, 32 * 9 + 32 + 64 * 32 * 9 + 64 + 3136 * 10 + 10);
    assert.equal(cost.flopsByOpType.Conv, 2 * (784 * 32 * 9 + 196 * 64 * 32 * 9));
  });
});

describe('seeded initialisation', () => {
  const values = (b: Backbone, name: string): Float32Array =>
    tensorToArray(b.model.graph!.initializer.find((t) => t.name === name)!).data as Float32Array;
  const std = (v: Float32Array): number => Math.sqrt(v.reduce((a, x) => a + x * x, 0) / v.length);

  it('is reproducible: same spec, same bytes; the spec round-trips through JSON and the model metadata', () => {
    const a = buildBackbone({ kind: 'resnet', blocksPerStage: [1, 1], seed: 3 });
    const b = buildBackbone(JSON.parse(JSON.stringify(a.spec)) as BackboneSpec);
    assert.deepEqual(encodeModel(a.model), encodeModel(b.model));
    const meta = a.model.metadataProps.find((p) => p.key === BACKBONE_METADATA_KEY);
    assert.deepEqual(JSON.parse(meta!.value), a.spec);
    const c = buildBackbone({ kind: 'resnet', blocksPerStage: [1, 1], seed: 4 });
    assert.notDeepEqual(values(a, 'stem.conv.weight'), values(c, 'stem.conv.weight'));
  });

  it("resnet: convs N(0, 2/fan_out) (torchvision), BN 1/0/0/1, fc U(±1/√fan_in) (PyTorch's Linear)", () => {
    const b = buildBackbone({ kind: 'resnet' });
    const w = values(b, 'stages.2.1.conv2.weight'); // 36864 draws, fan_out 64·9
    assert.ok(Math.abs(std(w) / Math.sqrt(2 / 576) - 1) < 0.02, `std ${std(w)}`);
    assert.ok(Math.abs(w.reduce((a, x) => a + x, 0) / w.length) < 0.002);
    assert.ok(w.some((x) => Math.abs(x) > 3 * Math.sqrt(2 / 576)), 'normal, not uniform: has tails');
    assert.ok(values(b, 'stages.1.0.bn2.weight').every((x) => x === 1));
    assert.ok(values(b, 'stages.1.0.shortcut.bn.running_var').every((x) => x === 1));
    assert.ok(values(b, 'stages.1.0.bn2.bias').every((x) => x === 0));
    assert.ok(values(b, 'stages.1.0.bn2.running_mean').every((x) => x === 0));
    const bound = 1 / Math.sqrt(64);
    for (const name of ['fc.weight', 'fc.bias']) assert.ok(values(b, name).every((x) => Math.abs(x) <= bound), name);
    assert.ok(Math.max(...values(b, 'fc.weight').map(Math.abs)) > 0.95 * bound);
  });

  it("cnn: convs and fc U(±1/√fan_in), weights and biases (PyTorch's defaults)", () => {
    const b = buildBackbone({ kind: 'cnn' });
    for (const [layer, fanIn] of [['stages.0.conv', 9], ['stages.1.conv', 32 * 9], ['fc', 3136]] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      const w = values(b, `${layer}.weight`);
      assert.ok(w.every((x) => Math.abs(x) <= bound), layer);
      // Uniform on ±bound has std bound/√3 (checked where there are enough draws: 18432 and 31360).
      if (w.length > 10_000) assert.ok(Math.abs(std(w) / (bound / Math.sqrt(3)) - 1) < 0.02, `${layer} std ${std(w)}`);
      assert.ok(values(b, `${layer}.bias`).every((x) => Math.abs(x) <= bound), `${layer}.bias`);
    }
  });
});

describe('bad specs give EXW_USAGE with a hint', () => {
  const cases: [string, unknown, RegExp][] = [
    ['unknown kind lists the registered ones', { kind: 'vgg' }, /unknown backbone kind "vgg"; registered kinds: "resnet", "cnn"/],
    ['no kind', { width: 16 }, /no "kind"/],
    ['not an object', 'resnet', /must be an object/],
    ['null', null, /must be an object/],
    ['width 0', { kind: 'resnet', width: 0 }, /width: .*\(got 0\)/],
    ['negative width', { kind: 'resnet', width: -3 }, /width: .*\(got -3\)/],
    ['fractional width', { kind: 'resnet', width: 1.5 }, /width: .*\(got 1.5\)/],
    ['a misspelt field is not ignored', { kind: 'resnet', widht: 32 }, /widht/],
    ['no stages', { kind: 'resnet', blocksPerStage: [] }, /blocksPerStage/],
    ['an empty stage', { kind: 'resnet', blocksPerStage: [2, 0, 2] }, /blocksPerStage\.1: .*\(got 0\)/],
    ['one class', { kind: 'cnn', classes: 1 }, /classes: .*\(got 1\)/],
    ['a seed out of range', { kind: 'cnn', seed: -1 }, /seed/],
    ['inputShape of rank 2', { kind: 'cnn', inputShape: [28, 28] }, /inputShape/],
    ['resnet input too small for its stride-2 stages', { kind: 'resnet', blocksPerStage: [1, 1, 1, 1], inputShape: [1, 7, 28] },
      /inputShape: 4 stages halve the image 3 times, which needs sides of at least 8 pixels, not 7/],
    ['resnet input too small for its stride-2 stem and stages', { kind: 'resnet', blocksPerStage: [1, 1, 1], stemStride: 2, inputShape: [1, 7, 28] },
      /inputShape: the stem and 3 stages halve the image 3 times, which needs sides of at least 8 pixels, not 7/],
    ['a stem stride other than 1 or 2', { kind: 'resnet', stemStride: 3 }, /stemStride/],
    ['cnn input too small for its pools', { kind: 'cnn', channels: [8, 8, 8], inputShape: [1, 28, 7] }, /inputShape: 3 max-pool stages need image sides of at least 8 pixels, not 7/],
    ['cnn channels wrong type', { kind: 'cnn', channels: 32 }, /channels/],
  ];
  for (const [what, spec, message] of cases) {
    it(what, () => {
      assert.throws(() => buildBackbone(spec as BackboneSpec), (e: unknown) => {
        assert.ok(isExitwiseError(e, 'EXW_USAGE'), String(e));
        assert.match(e.message, message);
        assert.ok(e.hint !== undefined && e.hint.includes('"kind":"'), `hint shows a valid spec: ${e.hint}`);
        return true;
      });
    });
  }

  it('lists every problem at once', () => {
    assert.throws(() => buildBackbone({ kind: 'resnet', width: 0, classes: 0 }), /width: .*; classes: /);
  });

  it('backboneKinds names the registry', () => {
    assert.deepEqual(backboneKinds(), ['resnet', 'cnn']);
  });
});
