import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test("the README's CLI reference is the commands' own --help", () => {
  const r = spawnSync(process.execPath, ['scripts/cli-reference.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test("the README's quick start names commands that exist", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Concepts'));
  assert.match(quickStart, /npm ci && npm start/);
  assert.match(quickStart, /npm test/);
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  assert.equal(pkg.bin.exitwise, 'bin/exitwise.js');
  assert.equal(pkg.scripts['start'], 'node bin/exitwise.js demo', 'npm start is the demo');
});

test("the README's TypeScript example is examples/api.ts, and it runs", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const example = readFileSync(`${root}examples/api.ts`, 'utf8').split('\n').slice(2).join('\n').trimEnd();
  assert.ok(readme.includes(example), 'README.md must show examples/api.ts verbatim (after its two header lines)');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/api.ts'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /per-exit test accuracy: (0\.\d+, ){3}0\.\d+/);
  assert.match(r.stdout, /val: 0\.\d+ at [\d.]+% of the FLOPs/);
  assert.match(r.stdout, /\d+\/256 right; exits taken: [0-3]( [0-3])+ …/);
});
