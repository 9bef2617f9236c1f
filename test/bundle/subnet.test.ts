import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone } from '@bufbuild/protobuf';
import type { Bundle } from '../../src/bundle/io.ts';
import { makeManifest } from '../../src/bundle/manifest.ts';
import { toBundleSegments, type BundleSegment } from '../../src/bundle/segments.ts';
import { exportSubnet, SUBNET_OUTPUT } from '../../src/bundle/subnet.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { attachExits } from '../../src/exits/attach.ts';
import { buildHead } from '../../src/exits/heads/registry.ts';
import { planHeads } from '../../src/exits/heads/plan.ts';
import { placeExits } from '../../src/exits/placement.ts';
import { analyzeCost } from '../../src/onnx/cost/index.ts';
import { type ModelProto, ModelProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { inferShapesStatic } from '../../src/onnx/shapes/index.ts';
import { splitModel } from '../../src/onnx/surgery/split.ts';
import { validateModel } from '../../src/onnx/validate.ts';
import { maxAbsDiff, mnistBatch, resnetMnist, run } from '../exits/support.ts';
import { runSegments, tinyBundle } from './subnet-support.ts';

const CLASSES = Array.from({ length: 10 }, (_, i) => String(i));
const PROVENANCE = { dataset: 'mnist', strategy: 'test', date: new Date('2025-01-01T00:00:00Z') };

/** A bundle cut from a multi-exit model by `toBundleSegments`. */
function bundleOf(model: ModelProto, count: number): Bundle {
  const placements = placeExits(model, { by: 'count', count });
  const segments = toBundleSegments(attachExits({ model }, placements, planHeads({ model }, placements).heads.map((h) => h.config)));
  const manifest = makeManifest(segments, { classes: CLASSES, provenance: PROVENANCE });
  return { manifest, stages: segments.stages.map((s) => s.model), exits: segments.exits.map((e) => e.model) };
}

/**
 * A bundle whose first cut lies inside a residual block, so stage 0 hands stage 1 the skip
 * tensor as a second output (splitModel's carry), with pool-linear heads built on their own.
 */
function carryBundle(model: ModelProto): Bundle {
  const cuts = ['stages.0.0.relu1', 'stages.1.0', 'flatten'];
  const shapes = inferShapesStatic(model).shapes;
  const split = splitModel(model, cuts, { onCrossing: 'carry', shapes });
  assert.deepEqual(split[0]!.outputs, ['stages.0.0.relu1', 'stem'], 'the skip tensor crosses the first cut');
  const segment = (m: ModelProto, inputs: string[], outputs: string[]): BundleSegment => {
    const cost = analyzeCost(m);
    return { model: m, inputs, outputs, params: cost.totalParams, flops: cost.totalFlops };
  };
  const heads = cuts.slice(0, 2).map((t, k) => {
    const dims = shapes.get(t)!.dims as (string | number)[];
    return segment(buildHead({ kind: 'pool-linear' }, { name: t, dims }, { classes: 10, prefix: `exit${k}/`, seed: k, opset: 17 }), [t], [`exit${k}/logits`]);
  });
  const tail = split.at(-1)!;
  const segments = {
    stages: split.slice(0, -1).map((s) => segment(s.model, s.inputs, s.outputs)),
    exits: [...heads, segment(tail.model, tail.inputs, tail.outputs)],
  };
  const manifest = makeManifest(segments, { classes: CLASSES, provenance: PROVENANCE });
  return { manifest, stages: segments.stages.map((s) => s.model), exits: segments.exits.map((e) => e.model) };
}

/**
 * The same bundle with every segment's private names replaced by `t0, t1, …` (tensors), `w0, …`
 * (weights) and `n0, …` (nodes), counted from 0 in each segment: every segment now clashes with
 * every other, with weights of different values under one name.
 */
function collidingNames(bundle: Bundle): Bundle {
  const rename = (model: ModelProto): ModelProto => {
    const copy = clone(ModelProtoSchema, model);
    const graph = copy.graph!;
    const keep = new Set([...graph.input, ...graph.output].map((v) => v.name));
    const names = new Map<string, string>();
    graph.initializer.forEach((t, i) => names.set(t.name, `w${i}`));
    graph.node.flatMap((n) => n.output).filter((o) => !keep.has(o)).forEach((o, i) => names.set(o, `t${i}`));
    const to = (n: string) => names.get(n) ?? n;
    graph.initializer.forEach((t) => (t.name = to(t.name)));
    graph.node.forEach((n, i) => {
      n.name = `n${i}`;
      n.input = n.input.map(to);
      n.output = n.output.map(to);
    });
    graph.valueInfo.forEach((v) => (v.name = to(v.name)));
    return copy;
  };
  return { manifest: bundle.manifest, stages: bundle.stages.map(rename), exits: bundle.exits.map(rename) };
}

const tiny = tinyBundle();
const torchResnet = resnetMnist();
const CASES: { name: string; bundle: Bundle; backbone?: ModelProto }[] = [
  { name: 'exitwise ResNet, 3 exits', bundle: tiny.bundle, backbone: tiny.backbone },
  { name: 'PyTorch-exported ResNet (weights shared between layers), 4 exits', bundle: bundleOf(torchResnet, 3), backbone: torchResnet },
  { name: 'a cut inside a residual block (stage 0 carries the skip tensor)', bundle: carryBundle(tiny.backbone), backbone: tiny.backbone },
  { name: 'segments whose tensor, weight and node names all collide', bundle: collidingNames(tiny.bundle) },
];

const { images } = mnistBatch(16);

for (const c of CASES) {
  describe(`exportSubnet: ${c.name}`, () => {
    const last = c.bundle.exits.length - 1;

    it('at every exit k, gives one valid graph whose logits equal exit k run through the segments within 1e-5', async () => {
      const chained = await runSegments(c.bundle, images);
      for (let k = 0; k <= last; k++) {
        const subnet = exportSubnet(c.bundle, k);
        validateModel(subnet);
        const graph = subnet.graph!;
        assert.deepEqual(graph.input.map((v) => v.name).filter((n) => !graph.initializer.some((t) => t.name === n)), [c.bundle.manifest.input.name]);
        assert.deepEqual(graph.output.map((v) => v.name), [SUBNET_OUTPUT]);
        const logits = (await run(subnet, { [c.bundle.manifest.input.name]: images }))[SUBNET_OUTPUT]!;
        assert.deepEqual(logits.dims, [16, 10]);
        const diff = maxAbsDiff(logits, chained[k]!);
        assert.ok(diff < 1e-5, `exit ${k}: ${diff}`);
      }
    });

    it('costs what the manifest says stages 0..k and exit k cost, with no weight held twice', () => {
      const { stages, exits } = c.bundle.manifest;
      for (let k = 0; k <= last; k++) {
        const cost = analyzeCost(exportSubnet(c.bundle, k));
        const flops = stages.slice(0, k + 1).reduce((n, s) => n + s.flops, 0) + exits[k]!.flops;
        assert.ok(Math.abs(cost.totalFlops - flops) < 1e-6 * flops, `exit ${k}: ${cost.totalFlops} vs ${flops}`);
      }
      if (c.backbone !== undefined) assert.equal(analyzeCost(exportSubnet(c.bundle, last)).totalParams, analyzeCost(c.backbone).totalParams);
    });

    if (c.backbone !== undefined) {
      it('at the last exit, reproduces the original backbone\'s logits within 1e-5', async () => {
        const full = (await run(exportSubnet(c.bundle, last), { image: images }))[SUBNET_OUTPUT]!;
        const reference = await run(c.backbone!, { image: images });
        const diff = maxAbsDiff(full, reference[c.backbone!.graph!.output[0]!.name]!);
        assert.ok(diff < 1e-5, `${diff}`);
      });
    }
  });
}

describe('exportSubnet errors', () => {
  it('refuses an exit that does not exist, listing the valid ones', () => {
    for (const k of [-1, 3, 1.5]) {
      assert.throws(() => exportSubnet(tiny.bundle, k), (e: unknown) =>
        isExitwiseError(e, 'EXW_USAGE') && e.message === `exit ${k} does not exist: the bundle has exits 0..2` && /Pick K in 0, 1, 2 \(2 is the full model\)/.test(e.hint ?? ''));
    }
  });

  it('refuses segments that import one domain at two opsets', () => {
    const exits = tiny.bundle.exits.map((m) => clone(ModelProtoSchema, m));
    exits[0]!.opsetImport[0]!.version = 13n;
    assert.throws(() => exportSubnet({ ...tiny.bundle, exits }, 0), (e: unknown) =>
      isExitwiseError(e, 'EXW_BUNDLE') && /import ai\.onnx at opsets 17 and 13/.test(e.message));
  });
});
