/**
 * The `exitwise` command line. Each command lives in its own file under commands/ and registers
 * itself through the COMMANDS table; this file only wires them and maps errors to exit statuses.
 */
import { Command, CommanderError } from 'commander';
import { ExitwiseError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { attachCommand } from './commands/attach.ts';
import { benchCommand } from './commands/bench.ts';
import { evalCommand } from './commands/eval.ts';
import { exportCommand } from './commands/export.ts';
import { demoCommand } from './commands/demo.ts';
import { inspectCommand } from './commands/inspect.ts';
import { personaliseCommand } from './commands/personalise.ts';
import { reportCommand } from './commands/report.ts';
import { runCommand } from './commands/run.ts';
import { trainCommand } from './commands/train.ts';
import { tuneCommand } from './commands/tune.ts';
import { reportError } from './output.ts';

/** Every command, in the order `--help` lists them. */
const COMMANDS: ((program: Command) => void)[] = [inspectCommand, trainCommand, attachCommand, personaliseCommand, evalCommand, tuneCommand, exportCommand, benchCommand, reportCommand, runCommand, demoCommand];

export function buildProgram(): Command {
  const program = new Command('exitwise')
    .description('Early-exit neural networks on ONNX Runtime: design, train, tune, deploy.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Errors are printed once, by reportError, with a code and a hint.
    .configureOutput({ outputError: () => {} });
  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (error.exitCode === 0) return 0;
      return reportError(new ExitwiseError('EXW_USAGE', error.message.replace(/^error: /, ''), {
        hint: 'Run `exitwise --help` or `exitwise COMMAND --help`.',
      }), json);
    }
    return reportError(error, json);
  }
}

