// How every CLI command ends on an error: user mistakes get a clear message and exit 2 without a
// stack trace; anything unexpected exits 1, with the stack only when CONVERGE_DEBUG=1.
import { formatProblems, UserError, ValidationError } from '../domain/errors';

export interface ErrorOutput {
  stderr: (text: string) => void;
  exit: (code: number) => never;
  debug: boolean;
}

const processOutput = (): ErrorOutput => ({
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
  debug: process.env.CONVERGE_DEBUG === '1',
});

/** The text and exit code for an error, without printing (for tests and for `--json` callers). */
export function describeError(err: unknown, debug = false): { text: string; exitCode: number } {
  if (err instanceof ValidationError) {
    const count = err.problems.length;
    const header = `invalid input: ${count} ${count === 1 ? 'problem' : 'problems'}`;
    return { text: `${header}\n${formatProblems(err.problems, err.source)}\n`, exitCode: err.exitCode };
  }
  if (err instanceof UserError) return { text: `error: ${err.message}\n`, exitCode: err.exitCode };
  const message = err instanceof Error ? err.message : String(err);
  const stack = debug && err instanceof Error && err.stack !== undefined ? `\n${err.stack}` : '';
  const tip = debug ? '' : '\n(set CONVERGE_DEBUG=1 for a stack trace)';
  return { text: `unexpected error: ${message}${stack}${tip}\n`, exitCode: 1 };
}

/** Print the error the way a user should see it and exit. Never returns. */
export function reportUserError(err: unknown, output: ErrorOutput = processOutput()): never {
  const { text, exitCode } = describeError(err, output.debug);
  output.stderr(text);
  return output.exit(exitCode);
}

/** Wrap a command action so every error ends through reportUserError. */
export function withUserErrors<A extends unknown[]>(
  action: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      reportUserError(err);
    }
  };
}
