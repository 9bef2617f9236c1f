/**
 * Learning-rate schedules against PyTorch's schedulers (LinearLR warmup, SequentialLR,
 * CosineAnnealingLR, StepLR, MultiStepLR; test/fixtures/optim-reference.json), then epochs as
 * units and bad configs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExitwiseError } from '../../src/errors.ts';
import { createSchedule, resolveScheduleConfig, type ScheduleConfig } from '../../src/train/schedules.ts';
import { REFERENCE } from './fixture.ts';

const throwsUsage = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => isExitwiseError(e, 'EXW_USAGE') && message.test(e.message) && e.hint !== undefined);

describe('schedules match PyTorch', () => {
  for (const s of REFERENCE.schedules) {
    it(`${s.name}: ${s.lrs.length} steps`, () => {
      const schedule = createSchedule(s.config as unknown as ScheduleConfig);
      s.lrs.forEach((expected, step) => {
        // PyTorch's cosine is recursive (each lr from the previous one): it drifts from the closed form by ~1e-15.
        assert.ok(Math.abs(schedule.lr(step) - expected) <= 1e-12 * expected, `step ${step}: ${schedule.lr(step)} vs ${expected}`);
      });
    });
  }
});

describe('schedules', () => {
  it('in epochs: the step schedule of PyTorch stepped per epoch, and a cosine that moves every step', () => {
    const perEpoch = 7;
    const reference = REFERENCE.schedules.find((s) => s.name === 'step-every')!; // StepLR(step_size=10, gamma=0.5)
    const schedule = createSchedule({ kind: 'step', lr: 0.1, gamma: 0.5, stepSize: 10, unit: 'epoch' }, { stepsPerEpoch: perEpoch });
    for (let step = 0; step < 40 * perEpoch; step++) assert.equal(schedule.lr(step), reference.lrs[Math.floor(step / perEpoch)], `step ${step}`);

    const cosine = createSchedule({ kind: 'cosine', lr: 1, unit: 'epoch', total: 2, warmup: 0.5, warmupStartFactor: 0 }, { stepsPerEpoch: 10 });
    assert.deepEqual([0, 1, 4, 5].map((t) => cosine.lr(t)), [0, 0.2, 0.8, 1]);
    const decay = Array.from({ length: 15 }, (_, i) => cosine.lr(5 + i));
    assert.ok(decay.every((lr, i) => i === 0 || lr < decay[i - 1]!), 'decreases every step after warmup');
    assert.equal(cosine.lr(20), 0);
  });

  it('stays at minLr past the end of a cosine', () => {
    const schedule = createSchedule({ kind: 'cosine', lr: 0.1, total: 10, minLr: 0.01 });
    assert.equal(schedule.lr(10), 0.01);
    assert.equal(schedule.lr(1000), 0.01);
  });

  it('a milestone inside warmup applies once warmup ends', () => {
    const schedule = createSchedule({ kind: 'step', lr: 1, gamma: 0.5, milestones: [2, 6], warmup: 4, warmupStartFactor: 0.5 });
    assert.deepEqual([0, 2, 3, 4, 5, 6].map((t) => schedule.lr(t)), [0.5, 0.75, 0.875, 0.5, 0.5, 0.25]);
  });

  it('fills in defaults (PyTorch\'s warmup start factor and gamma) and round-trips through JSON', () => {
    const resolved = resolveScheduleConfig({ kind: 'step', lr: 0.1, milestones: [10] });
    assert.deepEqual(resolved, { kind: 'step', lr: 0.1, unit: 'step', warmup: 0, warmupStartFactor: 1 / 3, gamma: 0.1, milestones: [10] });
    assert.deepEqual(resolveScheduleConfig(JSON.parse(JSON.stringify(resolved))), resolved);
    for (const s of REFERENCE.schedules) {
      const schedule = createSchedule(s.config as unknown as ScheduleConfig);
      const again = createSchedule(JSON.parse(JSON.stringify(schedule.config)) as ScheduleConfig);
      assert.equal(again.lr(17), schedule.lr(17));
    }
  });

  it('refuses bad configs and steps, naming what is wrong', () => {
    throwsUsage(() => createSchedule({ kind: 'step', lr: 0.1 }), /exactly one of stepSize and milestones/);
    throwsUsage(() => createSchedule({ kind: 'step', lr: 0.1, stepSize: 5, milestones: [3] }), /exactly one/);
    throwsUsage(() => createSchedule({ kind: 'step', lr: 0.1, milestones: [30, 20] }), /milestones: milestones must ascend/);
    throwsUsage(() => createSchedule({ kind: 'cosine', lr: 0.1, total: 5, warmup: 5 }), /total: total must exceed warmup/);
    throwsUsage(() => createSchedule({ kind: 'cosine', lr: 0.1, total: 50, minLr: 0.2 }), /minLr must not exceed lr/);
    throwsUsage(() => createSchedule({ kind: 'cosine', lr: 0.1, total: 50.5 }), /durations in steps must be integers/);
    throwsUsage(() => createSchedule({ kind: 'constant', lr: 0 }), /lr/);
    throwsUsage(() => createSchedule({ kind: 'constant', lr: 0.1, warmupSteps: 5 } as unknown as ScheduleConfig), /warmupSteps/);
    throwsUsage(() => createSchedule({ kind: 'linear', lr: 0.1 } as unknown as ScheduleConfig), /among constant, step, cosine/);
    throwsUsage(() => createSchedule({ kind: 'cosine', lr: 0.1, total: 3, unit: 'epoch' }), /needs stepsPerEpoch/);
    const schedule = createSchedule({ kind: 'constant', lr: 0.1 });
    throwsUsage(() => schedule.lr(-1), /step -1/);
    throwsUsage(() => schedule.lr(1.5), /step 1\.5/);
  });
});
