/**
 * The short run of trainer-fixture.ts in a process of its own, for the kill test.
 * Usage: trainer-child.ts DIR new|resume [KILL_AT_STEP]
 * With KILL_AT_STEP, the process sends itself SIGKILL right after that optimizer step: no
 * handler runs, no file is flushed, as when the machine or a supervisor kills a run.
 */
import { resumeTraining, train } from '../../src/train/trainer.ts';
import { SHORT_RUN, shortRunOptions } from './trainer-fixture.ts';

const [dir, mode, killAt] = process.argv.slice(2) as [string, 'new' | 'resume', string | undefined];
const options = {
  ...shortRunOptions(dir),
  onProgress: (event: { kind: string; step?: number }) => {
    if (event.kind === 'step' && event.step === Number(killAt)) process.kill(process.pid, 'SIGKILL');
  },
};
const result = mode === 'new' ? await train(SHORT_RUN, options) : await resumeTraining(options);
process.stdout.write(`${JSON.stringify({ testAccuracy: result.testAccuracy })}\n`);
