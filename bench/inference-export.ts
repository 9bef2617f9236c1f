/**
 * Inference speed of the exported model (trained weights folded back as initializers, BN in
 * inference mode) against the same forward graph with the weights fed as graph inputs (as the
 * training graph runs it), on src/nn's ResNet-14 (bench/resnet-bn.ts), batch 128.
 *
 * Usage: npx tsx bench/inference-export.ts [--rounds 5] [--steps 10] [--threads 1,2]
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { clone } from '@bufbuild/protobuf';
import { exportInference } from '../src/autodiff/export.ts';
import { encodeModel } from '../src/onnx/model-io.ts';
import { ModelProtoSchema } from '../src/onnx/proto/onnx_pb.ts';
import { valueInfoFromShape } from '../src/onnx/shapes/index.ts';
import { DataType, tensorToArray } from '../src/onnx/tensor-data.ts';
import { resnetBn } from './resnet-bn.ts';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '10' }, threads: { type: 'string', default: '1,2' } },
});
const [BATCH, WARMUP] = [128, 3];
const [ROUNDS, STEPS] = [Number(args.rounds), Number(args.steps)];

const { backbone, input, logits } = resnetBn();
// "Trained" values: the initial ones perturbed, so the export really replaces numbers.
const values = new Map(backbone.graph!.initializer.filter((t) => t.dataType === DataType.FLOAT).map((t) => {
  const v = Float32Array.from(tensorToArray(t).data as Float32Array, (x) => x * 1.01 + (t.name.endsWith('running_var') ? 0.1 : 0.01));
  return [t.name, v];
}));
const exported = encodeModel(exportInference(backbone, values));
// The same forward graph with every float initializer fed as a graph input, as training graphs run it.
const fed = clone(ModelProtoSchema, backbone);
fed.graph!.input.push(...fed.graph!.initializer.filter((t) => values.has(t.name)).map((t) => valueInfoFromShape(t.name, { dataType: DataType.FLOAT, dims: t.dims.map(Number) })));
fed.graph!.initializer = fed.graph!.initializer.filter((t) => !values.has(t.name));
const asInputs = encodeModel(fed);
const dims = new Map(backbone.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
const x = new ort.Tensor('float32', Float32Array.from({ length: BATCH * 784 }, () => Math.random()), [BATCH, 1, 28, 28]);
const inputFeeds: Record<string, ort.Tensor> = { [input]: x };
for (const [name, v] of values) inputFeeds[name] = new ort.Tensor('float32', v, dims.get(name)!);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const threads of args.threads.split(',').map(Number)) {
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const a = await ort.InferenceSession.create(exported, options);
  const b = await ort.InferenceSession.create(asInputs, options);
  const time = async (s: ort.InferenceSession, feeds: Record<string, ort.Tensor>) => {
    const ts: number[] = [];
    for (let i = 0; i < STEPS; i++) { const t0 = performance.now(); await s.run(feeds, [logits]); ts.push(performance.now() - t0); }
    return median(ts);
  };
  const feedsA = { [input]: x };
  for (let i = 0; i < WARMUP; i++) { await a.run(feedsA, [logits]); await b.run(inputFeeds, [logits]); }
  const rates: { exported: number[]; asInputs: number[]; ratio: number[] } = { exported: [], asInputs: [], ratio: [] };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order, so a load change hits both alike over the rounds.
    let [msA, msB] = [0, 0];
    if (r % 2 === 0) { msA = await time(a, feedsA); msB = await time(b, inputFeeds); } else { msB = await time(b, inputFeeds); msA = await time(a, feedsA); }
    rates.exported.push((BATCH / msA) * 1000);
    rates.asInputs.push((BATCH / msB) * 1000);
    rates.ratio.push(msB / msA);
  }
  await a.release();
  await b.release();
  console.log(`${threads} thread(s): exported ${Math.round(median(rates.exported))} samples/s, weights as inputs ${Math.round(median(rates.asInputs))} samples/s, speedup median ${median(rates.ratio).toFixed(2)} (min ${Math.min(...rates.ratio).toFixed(2)}, max ${Math.max(...rates.ratio).toFixed(2)})`);
}
