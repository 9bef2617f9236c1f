import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTrainingGraph } from '../../src/autodiff/training-graph.ts';
import { isExitwiseError } from '../../src/errors.ts';
import { attachExits } from '../../src/exits/attach.ts';
import { addDistillationLoss, type DistillTeacher } from '../../src/exits/distill-loss.ts';
import { addJointLoss } from '../../src/exits/joint-loss.ts';
import { placeExits } from '../../src/exits/placement.ts';
import { int64Tensor } from '../../src/runtime/tensor.ts';
import { checkGradients, runTraining } from '../support/grad-check.ts';
import { tensor } from '../support/reference/tensor.ts';
import { mnistBatch, resnetMnist, run } from './support.ts';

const model = resnetMnist();
const multi = attachExits({ model }, placeExits(model, { by: 'count', count: 2 }), [{ kind: 'pool-linear' }, { kind: 'mlp' }], { seed: 3 });
const N = 12;
const { images, labels } = mnistBatch(N, 40);
const C = 10;

/** log softmax of row n of z / T, in float64. */
function logSoftmax(z: Float32Array, n: number, T: number): number[] {
  const row = Array.from(z.subarray(n * C, n * C + C), (v) => v / T);
  const max = Math.max(...row);
  const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  return row.map((v) => v - lse);
}

/** The distillation loss of the file comment, in float64 from the exit logits. */
function referenceLoss(logits: Float32Array[], alpha: number, T: number, teacher: DistillTeacher, weights: number[]): number {
  const ce = (z: Float32Array) => {
    let s = 0;
    for (let n = 0; n < N; n++) s -= logSoftmax(z, n, 1)[labels[n]!]!;
    return s / N;
  };
  const K = logits.length - 1;
  let total = weights[K]! * ce(logits[K]!);
  for (let k = 0; k < K; k++) {
    const t = logits[teacher === 'final' ? K : k + 1]!;
    let kl = 0;
    for (let n = 0; n < N; n++) {
      const lt = logSoftmax(t, n, T);
      const ls = logSoftmax(logits[k]!, n, T);
      for (let c = 0; c < C; c++) kl += Math.exp(lt[c]!) * (lt[c]! - ls[c]!);
    }
    total += weights[k]! * (alpha * ce(logits[k]!) + (1 - alpha) * T * T * (kl / N));
  }
  return total;
}

describe('addDistillationLoss', () => {
  for (const teacher of ['final', 'next'] as const) {
    it(`computes α·CE + (1−α)·T²·KL(teacher ‖ student) with the ${teacher} exit as teacher (float64 reference)`, async () => {
      const weights = [0.5, 0.8, 1];
      const d = addDistillationLoss(multi, { alpha: 0.3, temperature: 3, teacher, weights });
      const out = await run(d.model, { image: images, labels: int64Tensor(labels, [N]) });
      const logits = multi.exitLogits.map((name) => out[name]!.data as Float32Array);
      const expected = referenceLoss(logits, 0.3, 3, teacher, weights);
      const got = (out['loss']!.data as Float32Array)[0]!;
      assert.ok(Math.abs(got - expected) < 1e-5 * Math.max(1, expected), `${got} vs ${expected}`);
      assert.equal(d.klLosses.length, 2);
    });
  }

  it('gives early heads the gradient of the float64 reference and of finite differences', async () => {
    const d = addDistillationLoss(multi, { alpha: 0.5, temperature: 2, teacher: 'next' });
    const trainable = multi.model.graph!.initializer.map((t) => t.name).filter((n) => n.startsWith('exit0/'));
    // Few images and one direction: the float64 reference runs the whole ResNet per evaluation.
    const small = mnistBatch(3, 40);
    const feeds = { image: tensor(small.images.dims, small.images.data as Float32Array), labels: tensor([3], Array.from(small.labels)) };
    const check = await checkGradients(d.model, feeds, d.loss, trainable, { directions: 1, graph: { stopGradient: d.stopGradient } });
    for (const p of trainable) {
      assert.ok(check.ortError.get(p)! < 1e-4, `${p}: ORT vs reference ${check.ortError.get(p)}`);
      assert.ok(check.fdError.get(p)! < 1e-4, `${p}: reference vs finite differences ${check.fdError.get(p)}`);
    }
  });

  it('detaches the teacher: the final classifier gets only its own label loss gradient', async () => {
    const graph = multi.model.graph!;
    const finalNode = graph.node.find((n) => n.output.includes('logits'))!;
    const finalParams = finalNode.input.filter((n) => graph.initializer.some((t) => t.name === n));
    assert.ok(finalParams.length > 0);
    const feeds = { image: tensor(images.dims, images.data as Float32Array), labels: tensor([N], Array.from(labels)) };
    const d = addDistillationLoss(multi, { alpha: 0.2, temperature: 4, teacher: 'final', weights: [1, 1, 0.7] });
    const joint = addJointLoss(multi, { weights: [0, 0, 0.7] });
    const withStop = buildTrainingGraph(d.model, { loss: d.loss, trainable: finalParams, stopGradient: d.stopGradient, trainingMode: 'none' });
    const withoutStop = buildTrainingGraph(d.model, { loss: d.loss, trainable: finalParams, trainingMode: 'none' });
    const plain = buildTrainingGraph(joint.model, { loss: joint.loss, trainable: finalParams, trainingMode: 'none' });
    const [a, b, c] = await Promise.all([runTraining(withStop, d.model, feeds), runTraining(withoutStop, d.model, feeds), runTraining(plain, joint.model, feeds)]);
    for (const p of finalParams) {
      const ga = a[withStop.gradientNames.get(p)!]!.data as Float32Array;
      const gb = b[withoutStop.gradientNames.get(p)!]!.data as Float32Array;
      const gc = c[plain.gradientNames.get(p)!]!.data as Float32Array;
      const diff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
      assert.ok(diff(ga, gc) < 1e-6, `${p}: detached teacher ≠ label-only gradient (${diff(ga, gc)})`);
      assert.ok(diff(gb, gc) > 1e-4, `${p}: without stopGradient the KL terms should reach the teacher`);
    }
  });

  it('refuses bad settings with EXW_BUILD', () => {
    const bad = (o: Parameters<typeof addDistillationLoss>[1]) => assert.throws(() => addDistillationLoss(multi, o), (e: unknown) => isExitwiseError(e, 'EXW_BUILD'));
    bad({ alpha: 1.5, temperature: 2, teacher: 'final' });
    bad({ alpha: 0.5, temperature: 0, teacher: 'final' });
    bad({ alpha: 0.5, temperature: 2, teacher: 'next', weights: [1, 1] });
    assert.throws(() => buildTrainingGraph(multi.model, { loss: 'logits', trainable: [], stopGradient: ['nope'] }), (e: unknown) => isExitwiseError(e, 'EXW_GRADIENT'));
  });
});
