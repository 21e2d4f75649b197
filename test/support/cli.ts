// Runs the real CLI (`node bin/converge.mjs …`) as a child process, for tests that check what a user
// sees: exit code, stdout and stderr. execFile kills the child on timeout, so no test leaves one behind.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CONVERGE = fileURLToPath(new URL('../../bin/converge.mjs', import.meta.url));

export interface CliRun {
  /** The exit code; null when the child was killed (timeout) or ended by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The child's whole environment (default: this process's, without CONVERGE_DEBUG stack traces). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function runConverge(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CONVERGE, ...args],
      {
        timeout: options.timeoutMs ?? 30_000,
        env: options.env ?? { ...process.env, CONVERGE_DEBUG: '' },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
