// The `converge` command tree, without running it (main.ts parses argv; tests read each --help).
// Composed from the layers that own each command: the client's (plan, deploy, status…), the region
// process, the worker process and the dev stack. With main.ts, the only module that imports them all;
// nothing imports it.
import { Command } from 'commander';
import { registerPlan } from './client/commands/plan';
import { registerRegion } from './region/command';
import { registerWorker } from './workers/command';
import { registerDev } from './dev/command';
import { registerDeployments } from './client/commands/deployments';
import { registerOperations } from './client/commands/operations';
import { registerEvents } from './client/commands/events';
import { registerAuth } from './client/commands/auth';
import { registerCck } from './client/commands/cck';
import { registerNamespace } from './client/commands/namespace';
import { registerCodecServer } from './temporal/codec-command';
import { exitCodesHelp } from './domain/exit-codes';
import { packageVersion } from './package-root';

export function buildProgram(): Command {

  const program = new Command('converge')
    .description('A durable VM deployment director on Temporal: patent → embodiment → obligation.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option(
      '-d, --deployment <name>',
      'the deployment, for every command that takes one (as BOSH: `converge -d web status`)',
    )
    .option('-n, --non-interactive', 'answer yes to every confirmation (as BOSH; or --yes after the command)')
    .enablePositionalOptions()
    // Usage errors end in main.ts (exit 2) instead of commander's process.exit(1), which is
    // deploy's "failed".
    .exitOverride()
    .addHelpText(
      'after',
      `${exitCodesHelp(
        ['ok', 'failed', 'usage', 'cancelled', 'unreachable', 'notConfirmed', 'denied', 'interrupted'],
        {
          cancelled: 'the operation was cancelled; with plan --detailed-exitcode: the plan has changes',
        },
      )}\n\nEach command's --help lists the codes it can end with. Formats and a walk-through: docs/.`,
    );

  registerPlan(program);
  registerDeployments(program);
  registerOperations(program);
  registerEvents(program);
  registerAuth(program);
  registerCck(program);
  registerNamespace(program);
  registerRegion(program);
  registerWorker(program);
  registerDev(program);
  registerCodecServer(program);
  hintAfterUsageErrors(program);
  return program;
}

/** After a usage error: one line naming the command's --help, not the whole help text. */
function hintAfterUsageErrors(command: Command): void {
  const path: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) path.unshift(c.name());
  command.showHelpAfterError(`(see '${path.join(' ')} --help')`);
  for (const sub of command.commands) hintAfterUsageErrors(sub);
}
