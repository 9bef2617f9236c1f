// The README's TypeScript example: build a model, measure it, cut it, run a stage.
// Run it with `node --import tsx examples/api.ts` (test/cli/readme.test.ts does).
import { analyzeCost, createSession, findCutPoints, float32Tensor, GraphBuilder, inferShapes, splitModel } from 'exitwise';

// Build: shapes are inferred as you go, with the batch dimension kept symbolic.
const b = new GraphBuilder();
const x = b.input('x', 'float32', ['N', 1, 28, 28]);
const w1 = b.initializer('w1', new Float32Array(8 * 1 * 9).fill(0.1), [8, 1, 3, 3]);
const w2 = b.initializer('w2', new Float32Array(8 * 8 * 9).fill(0.01), [8, 8, 3, 3]);
const h = b.relu(b.conv(x, w1, undefined, { pads: [1, 1, 1, 1] })); // [N, 8, 28, 28]
const g = b.relu(b.conv(h, w2, undefined, { pads: [1, 1, 1, 1], strides: [2, 2] })); // [N, 8, 14, 14]
b.output(b.flatten(b.globalAveragePool(g)), 'features'); // [N, 8]
const model = b.build();

// Measure and cut: FLOPs per sample, candidate exit points, stages that chain back to the model.
const cost = analyzeCost(model);
const cuts = findCutPoints(model); // tensors every input→output path passes through
const { shapes } = await inferShapes(model);
const stages = splitModel(model, [h.name], { shapes }); // stage 0 computes h, stage 1 the rest
console.log(`${cost.totalFlops} FLOPs, ${cost.totalParams} params; cut points: ${cuts.join(', ')}`);
console.log(`h costs ${((100 * cost.cumulativeFlops(h.name)) / cost.totalFlops).toFixed(1)}% of the FLOPs`);

// Run the stages one after the other on onnxruntime-node ('web' runs onnxruntime-web's wasm).
const input = float32Tensor(new Float32Array(2 * 784).fill(1), [2, 1, 28, 28]);
const first = await createSession(stages[0]!.model, { backend: 'node' });
const second = await createSession(stages[1]!.model, { backend: 'node' });
const mid = await first.run({ x: input });
const out = await second.run(mid);
console.log('features', out.features!.dims, Array.from(out.features!.data as Float32Array).slice(0, 4));
await Promise.all([first.release(), second.release()]);
