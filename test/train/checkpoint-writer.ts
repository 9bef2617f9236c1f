/**
 * A training run reduced to its checkpoints, for the kill test: resumes from the run folder if
 * it holds a checkpoint, then saves one checkpoint per step forever, each with every value equal
 * to its step, printing `saved <step>` after each. Stops by itself after 100 saves, so that an
 * orphan (its test killed) cannot run on. Usage: checkpoint-writer.ts DIR ELEMENTS
 */
import { latestCheckpointPath, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';

const [dir, elements] = [process.argv[2]!, Number(process.argv[3])];
let step = latestCheckpointPath(dir) === undefined ? 0 : loadCheckpoint(dir).schedulerStep;
const value = new Float32Array(elements);
for (let saves = 0; saves < 100; saves++) {
  step++;
  value.fill(step);
  saveCheckpoint(dir, {
    params: [{ name: 'w', dims: [elements], value }], buffers: [{ name: 'running', dims: [2], value: Float32Array.of(step, -step) }],
    optimizer: { kind: 'sgd', step, slots: { momentum: { w: value } } },
    schedulerStep: step, epoch: 0, batchInEpoch: step, rngState: { seed: 1 }, metrics: [{ step }], config: {},
  });
  process.stdout.write(`saved ${step}\n`);
}
