import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitwiseInProcess } from '../support/cli.ts';
import { RunRecordSchema, type TrainReport, TrainReportSchema } from '../../src/schemas/train.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/exitwise.js');
const tmp = mkdtempSync(join(tmpdir(), 'exw-cli-train-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function exitwise(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A quick run: the plain CNN on 1500 MNIST images, one epoch. */
const QUICK = ['--dataset', 'mnist', '--arch', 'cnn', '--epochs', '1', '--limit', '1500', '--batch', '64', '--threads', '1'];

describe('exitwise train', () => {
  const out = join(tmp, 'quick');
  let first: TrainReport;

  it('--json prints the final metrics as the only stdout, progress going to stderr, and writes the run folder', () => {
    const r = exitwise('train', ...QUICK, '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = TrainReportSchema.parse(JSON.parse(r.stdout));
    first = report;
    assert.equal(report.epochs, 1);
    assert.ok(report.testAccuracy > 0.8 && report.valAccuracy > 0.8, `test ${report.testAccuracy}, val ${report.valAccuracy}`);
    assert.ok(report.seconds > 0);
    assert.equal(report.model, join(out, 'model.onnx'));
    assert.deepEqual(report.config['arch'], { kind: 'cnn', channels: [32, 64], classes: 10, inputShape: [1, 28, 28], seed: 0 });
    assert.match(r.stderr, /^training cnn \(50,186 params\) on mnist: 1350 train \/ 150 val images, 1 epochs × 22 batches, 1 threads/);
    assert.match(r.stderr, /epoch 1\/1 batch 1\/22: loss [\d.]+ acc [\d.]+%/);
    assert.match(r.stderr, /epoch 1\/1: train loss [\d.]+ acc [\d.]+%, val loss [\d.]+ acc [\d.]+%/);
    assert.ok(existsSync(join(out, 'model.onnx')) && existsSync(join(out, 'checkpoints', 'latest.json')));
    assert.equal(RunRecordSchema.parse(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).result?.testAccuracy, report.testAccuracy);
  });

  it('prints a readable summary without --json, and nothing to stderr with --quiet; --resume of a finished run reports it again', () => {
    const r = exitwise('train', '--out', out, '--resume', '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^trained cnn on mnist: 1 epochs in \d+s\n {2}val accuracy {3}[\d.]+%/);
    const json = exitwise('train', '--out', out, '--resume', '--quiet', '--json');
    assert.equal(json.status, 0, json.stderr);
    const report = TrainReportSchema.parse(JSON.parse(json.stdout));
    assert.deepEqual([report.epochs, report.testAccuracy, report.valAccuracy], [1, first.testAccuracy, first.valAccuracy]);
  });

  it('refuses to start over a run, and to resume with other settings', () => {
    const again = exitwise('train', ...QUICK, '--out', out, '--json');
    assert.equal(again.status, 64);
    assert.equal(JSON.parse(again.stdout).error.code, 'EXW_USAGE');
    assert.match(again.stderr, /already holds a training run\nhint: Pass --resume/);
    const other = exitwise('train', '--out', out, '--resume', '--epochs', '3', '--lr', '0.5');
    assert.equal(other.status, 64);
    assert.match(other.stderr, /epochs: saved 1, given 3; schedule\.lr: saved 0\.1, given 0\.5/);
  });

  it('usage errors name what is wrong and the valid choices', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['--dataset', 'mnist', '--arch', 'vgg'], 64, /--arch "vgg" is not one of resnet, cnn/],
      [['--dataset', 'mnist', '--arch', '{"kind":"resnet","width":-1}'], 64, /width/],
      [['--dataset', 'mnist', '--arch', '{kind:resnet}'], 64, /--arch \{kind:resnet\} is not valid JSON/],
      [['--dataset', 'cifar-10'], 64, /unknown dataset "cifar-10"\nhint: Known datasets: mnist, fashion-mnist/],
      [['--arch', 'cnn'], 64, /--dataset is required for a new run/],
      [['--dataset', 'mnist', '--epochs', '0'], 64, /--epochs.*expected an integer ≥ 1/],
      [['--dataset', 'mnist', '--optimizer', 'lion'], 64, /--optimizer "lion" is not one of sgd, adamw/],
      [['--dataset', 'mnist', '--data', join(tmp, 'no-such-folder')], 66, /dataset mnist not found in --data DIR: .*no-such-folder is not a folder/],
    ];
    for (const [args, status, pattern] of cases) {
      const r = await exitwiseInProcess('train', ...args, '--out', join(tmp, 'never'));
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
    }
    assert.equal(existsSync(join(tmp, 'never')), false, 'nothing written');
    const missingOut = await exitwiseInProcess('train', '--dataset', 'mnist');
    assert.equal(missingOut.status, 64);
    assert.match(missingOut.stderr, /required option '--out <dir>'/);
  });

  it('Ctrl-C (SIGINT) saves a checkpoint and exits 130 with how to resume; --resume then finishes the run', async () => {
    const dir = join(tmp, 'interrupted');
    const child = spawn(process.execPath, [bin, 'train', '--dataset', 'mnist', '--arch', 'cnn', '--epochs', '2', '--limit', '4000', '--batch', '32', '--threads', '1', '--out', dir], { cwd: root });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/batch 1\//.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(status, 130, stderr);
    assert.match(stderr, /stopping after this step to save a checkpoint/);
    assert.match(stderr, /error EXW_INTERRUPTED: training stopped at epoch 1\/2, batch \d+\/113/);
    assert.match(stderr, new RegExp(`hint: Continue with: exitwise train --out ${dir} --resume`));
    const resumed = exitwise('train', '--out', dir, '--resume', '--json', '--quiet');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(TrainReportSchema.parse(JSON.parse(resumed.stdout)).epochs, 2);
    assert.equal(RunRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).provenance.sessions, 2);
  });
});
