/** Running the CLI inside the test process (a spawn costs ≈ 2 s of tsx startup). */
import { main } from '../../src/cli/main.ts';

/**
 * `main` in this process with its text output captured. Binary chunks pass through: node:test's
 * reporter talks to its parent over stdout while a test awaits.
 */
export async function exitwiseInProcess(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const captured = { stdout: '', stderr: '' };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (stream: 'stdout' | 'stderr') => ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (writes[stream] as (...a: unknown[]) => boolean).call(process[stream], chunk, ...rest);
    captured[stream] += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  try {
    return { status: await main(args), ...captured };
  } finally {
    Object.assign(process.stdout, { write: writes.stdout });
    Object.assign(process.stderr, { write: writes.stderr });
  }
}
