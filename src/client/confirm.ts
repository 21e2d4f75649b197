// Asking before a destructive command, as BOSH and Terraform do: on a terminal the user answers;
// without one the command refuses unless --yes (-n) was given, so a script never hangs on a prompt
// nor destroys anything it did not ask for by name.
import { createInterface } from 'node:readline/promises';
import { UserError } from '../domain/errors';
import { EXIT } from '../domain/exit-codes';

export interface Terminal {
  /** stdin is a terminal a person can answer on. */
  interactive: boolean;
  ask(question: string): Promise<string>;
}

export const processTerminal = (): Terminal => ({
  interactive: process.stdin.isTTY === true,
  async ask(question) {
    // The prompt goes to stderr, so `converge delete -d web > log` still shows it.
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    // Ctrl-C at the prompt: nothing was changed; end as any interrupted command.
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      process.exit(EXIT.interrupted);
    });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
});

/** Refuses at once (exit 5) when no one can be asked; call before any work the question depends on. */
export function requireAnswerable(what: string, yes: boolean, terminal: Terminal = processTerminal()): void {
  if (yes || terminal.interactive) return;
  throw new UserError(
    `${what}: refusing without a terminal to confirm on; pass --yes (-n) to proceed`,
    EXIT.notConfirmed,
  );
}

/**
 * Shows `details`, then asks `Continue? [yN]`; anything but y/yes ends the command with exit 5 and
 * nothing changed. `what` names the command in the refusal when no one can be asked.
 */
export async function confirm(
  what: string,
  details: string,
  yes: boolean,
  terminal: Terminal = processTerminal(),
): Promise<void> {
  requireAnswerable(what, yes, terminal);
  if (yes) return;
  const answer = (await terminal.ask(`${details}\nContinue? [yN]: `)).trim().toLowerCase();
  if (answer === 'y' || answer === 'yes') return;
  throw new UserError('not confirmed: nothing was changed', EXIT.notConfirmed);
}
