/** Fitted policies: class means and scales against a naive computation; the logistic fit against its optimality conditions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/random.ts';
import { fitLogistic, DEFAULT_L2 } from '../../src/exits/policies/logistic.ts';
import { fitPolicy } from '../../src/exits/policies/registry.ts';
import { fashionExits } from './exit-data.ts';
import { sampleLogits, softmaxRef } from './policy-cases.ts';

test('class means are the per-label mean probability vectors; scales the median distance', () => {
  const { val } = fashionExits();
  const temperatures = [1.3, 0.9, 1.1, 1];
  const json = fitPolicy('class-means', val.outputs, val.labels, { temperatures }).toJSON() as { means: number[][][]; scales: number[] };
  const C = val.outputs.classes;
  for (let k = 0; k < 3; k++) {
    const probs = Array.from({ length: val.outputs.samples }, (_, i) => softmaxRef(sampleLogits(val.outputs, i)[k]!, temperatures[k]!));
    for (let y = 0; y < C; y++) {
      const members = probs.filter((_, i) => val.labels[i] === y);
      const mean = Array.from({ length: C }, (_, j) => members.reduce((a, p) => a + p[j]!, 0) / members.length);
      mean.forEach((v, j) => assert.ok(Math.abs(v - json.means[k]![y]![j]!) < 1e-9, `exit ${k} class ${y}`));
    }
    const distances = probs
      .map((p) => {
        const c = p.indexOf(Math.max(...p));
        return Math.sqrt(p.reduce((a, v, j) => a + (v - json.means[k]![c]![j]!) ** 2, 0));
      })
      .sort((a, b) => a - b);
    assert.ok(Math.abs(distances[Math.floor((distances.length - 1) / 2)]! - json.scales[k]!) < 1e-9);
  }
});

/** Mean log-loss + λ/2‖w‖², written from the definition. */
function objective(w: number[], x: number[][], y: number[], l2: number): number {
  const loss = x.reduce((a, row, i) => {
    const p = 1 / (1 + Math.exp(-row.reduce((s, v, j) => s + v * w[j]!, 0)));
    return a - (y[i] ? Math.log(p) : Math.log(1 - p));
  }, 0);
  return loss / x.length + (l2 / 2) * w.reduce((a, v) => a + v * v, 0);
}

test('the logistic fit recovers a known model and sits at a stationary point of its objective', () => {
  const rng = new Rng(5);
  const truth = [-1, 3, -2, 0.5];
  const n = 4000;
  const x = Array.from({ length: n }, () => [1, rng.next(), rng.next(), rng.next() > 0.5 ? 1 : 0]);
  const y = x.map((row) => (rng.next() < 1 / (1 + Math.exp(-row.reduce((s, v, j) => s + v * truth[j]!, 0))) ? 1 : 0));
  const w = Array.from(fitLogistic(Float64Array.from(x.flat()), Uint8Array.from(y), 4));
  w.forEach((v, j) => assert.ok(Math.abs(v - truth[j]!) < 0.35, `w[${j}] = ${v}, truth ${truth[j]}`));
  // Central finite differences of the objective vanish at the optimum.
  for (let j = 0; j < 4; j++) {
    const h = 1e-5;
    const up = [...w];
    const down = [...w];
    up[j]! += h;
    down[j]! -= h;
    const grad = (objective(up, x, y, DEFAULT_L2) - objective(down, x, y, DEFAULT_L2)) / (2 * h);
    assert.ok(Math.abs(grad) < 1e-6, `∂/∂w${j} = ${grad}`);
  }
});

test('the logistic fit stays finite when an exit is always right, and is deterministic', () => {
  const x = Float64Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : (i % 7) / 7));
  const w = fitLogistic(x, new Uint8Array(100).fill(1), 2);
  assert.ok(w.every(Number.isFinite));
  assert.ok(w[0]! > 2, 'bias should be large and positive');
  const { val } = fashionExits();
  const a = fitPolicy('learned', val.outputs, val.labels).toJSON();
  const b = fitPolicy('learned', val.outputs, val.labels).toJSON();
  assert.deepEqual(a, b);
});

test('the learned policy ranks samples by correctness on held-out data at least as well as max-softmax', () => {
  const { val, test: testSplit } = fashionExits();
  const learned = fitPolicy('learned', val.outputs, val.labels).scores(testSplit.outputs);
  const maxSoftmax = fitPolicy('max-softmax', val.outputs, val.labels).scores(testSplit.outputs);
  for (let k = 0; k < 3; k++) {
    const correct = Array.from({ length: testSplit.outputs.samples }, (_, i) => {
      const z = sampleLogits(testSplit.outputs, i)[k]!;
      return z.indexOf(Math.max(...z)) === testSplit.labels[i];
    });
    const a = auc(learned[k]!, correct);
    const b = auc(maxSoftmax[k]!, correct);
    console.log(`# exit ${k} AUC of P(correct) on test: learned ${a.toFixed(3)}, max-softmax ${b.toFixed(3)}`);
    assert.ok(a > 0.75 && a > b - 0.02, `exit ${k}: learned AUC ${a}, max-softmax ${b}`);
  }
});

/** AUC by pair counting: P(score of a right sample > score of a wrong one), ties count half. */
function auc(scores: Float64Array, correct: boolean[]): number {
  let pairs = 0;
  let wins = 0;
  correct.forEach((ci, i) => {
    if (!ci) return;
    correct.forEach((cj, j) => {
      if (cj) return;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return wins / pairs;
}
