#!/usr/bin/env node
// Writes the README's CLI reference from the commands' own --help, so the two cannot drift.
// `node scripts/cli-reference.mjs` rewrites README.md; `--check` exits 1 when it is stale.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const START = '<!-- cli-help:start -->';
const END = '<!-- cli-help:end -->';

function help(args) {
  const r = spawnSync(process.execPath, ['bin/exitwise.js', ...args, '--help'], {
    cwd: root, encoding: 'utf8', env: { ...process.env, COLUMNS: '100' },
  });
  if (r.status !== 0) throw new Error(`exitwise ${args.join(' ')} --help failed: ${r.stderr}`);
  return r.stdout.trimEnd();
}

export function cliReference() {
  const top = help([]);
  const commands = [...top.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
  const blocks = [top, ...commands.map((c) => help([c]))];
  return `${START}\n${blocks.map((b) => `\`\`\`text\n${b}\n\`\`\``).join('\n\n')}\n${END}`;
}

const readme = readFileSync(`${root}README.md`, 'utf8');
const pattern = new RegExp(`${START}[\\s\\S]*?${END}`);
if (!pattern.test(readme)) throw new Error('README.md has no cli-help markers');
const updated = readme.replace(pattern, cliReference());
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.error('README.md CLI reference is stale: run `node scripts/cli-reference.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(`${root}README.md`, updated);
}
