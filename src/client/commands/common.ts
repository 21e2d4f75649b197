// What the deployment commands share: the deployment name from -d (after or before the command, as
// BOSH), --yes, a connected client, and printing.
import type { Command } from 'commander';
import { UserError } from '../../domain/errors';
import { connectClient, TASK_QUEUE, type ConnectedClient } from '../../temporal/connection';
import type { Deployments } from '../deployments';
import { EXIT } from '../../domain/exit-codes';

/** `-d NAME` of the command, else of `converge -d NAME …`, else $CONVERGE_DEPLOYMENT. */
export function deploymentName(cmd: Command): string {
  for (let c: Command | null = cmd; c !== null; c = c.parent) {
    const name = c.opts<{ deployment?: string }>().deployment;
    if (name !== undefined) return name;
  }
  const fromEnv = process.env.CONVERGE_DEPLOYMENT?.trim();
  if (fromEnv) return fromEnv;
  throw new UserError(
    `no deployment given: pass -d NAME (before or after '${cmd.name()}') or set CONVERGE_DEPLOYMENT`,
    EXIT.usage,
  );
}

/** --yes or -n on the command or before it. */
export function assumeYes(cmd: Command): boolean {
  for (let c: Command | null = cmd; c !== null; c = c.parent) {
    const o = c.opts<{ yes?: boolean; nonInteractive?: boolean }>();
    if (o.yes === true || o.nonInteractive === true) return true;
  }
  return false;
}

export function addDeploymentOption(cmd: Command): Command {
  return cmd.option(
    '-d, --deployment <name>',
    'deployment name (or before the command, or $CONVERGE_DEPLOYMENT)',
  );
}

export const YES = [
  '-y, --yes',
  'do not ask for confirmation (needed when stdin is not a terminal)',
] as const;
export const NON_INTERACTIVE = ['-n, --non-interactive', 'same as --yes (as BOSH)'] as const;

/** Runs `body` with a connected client and closes it; Temporal out of reach is its own exit code (4). */
export async function connected<T>(body: (c: ConnectedClient) => Promise<T>): Promise<T> {
  let client: ConnectedClient;
  try {
    client = await connectClient();
  } catch (err) {
    if (err instanceof UserError) throw err; // bad TEMPORAL_* settings: the user's to fix (exit 2)
    const why = err instanceof Error ? err.message : String(err);
    throw new UserError(
      `cannot reach Temporal (${why}); is the stack running? Try 'converge dev up'.`,
      EXIT.unreachable,
    );
  }
  try {
    return await body(client);
  } finally {
    await client.close();
  }
}

export interface WithClientOptions {
  /**
   * Check the namespace has Converge's search attributes before `body` (one operator call), for
   * commands that start workflows: in an unprepared namespace they would wait for a worker that
   * refuses to start, or leave an entity whose every workflow task fails.
   */
  checkNamespace?: boolean;
}

/**
 * Runs `body` with the deployments of a connected client. An unexpected failure in a namespace that
 * lacks Converge's search attributes (the server fails the workflow task that sets them, and the
 * update reports only "unexpected workflow task failure") is reported as that, with what to run.
 */
export async function withClient(
  body: (d: Deployments) => Promise<void>,
  options: WithClientOptions = {},
): Promise<void> {
  await connected(async (c) => {
    // Loaded with the client (see connectClient): --help needs none of them.
    const [{ Deployments }, { identityPath, readIdentity }, { inNamespace }] = await Promise.all([
      import('../deployments'),
      import('../identity'),
      import('../../temporal/namespace-setup'),
    ]);
    const target = { namespace: c.settings.namespace, address: c.settings.address };
    await inNamespace(
      c.connection.operatorService,
      target,
      async () => {
        const identity = readIdentity(identityPath());
        await body(new Deployments(c.client, { taskQueue: TASK_QUEUE, identity }));
      },
      options.checkNamespace === true,
    );
  });
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
