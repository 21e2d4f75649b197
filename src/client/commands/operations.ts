// `converge operations -d NAME`: the deployment's operations, newest first, as BOSH's `tasks`.
import type { Command } from 'commander';
import { UserError } from '../../domain/errors';
import { withUserErrors } from '../errors';
import { EXIT, exitCodesHelp, READ_CODES } from '../../domain/exit-codes';
import { addDeploymentOption, deploymentName, print, withClient } from './common';

export function registerOperations(program: Command): void {
  addDeploymentOption(
    program
      .command('operations')
      .description("List a deployment's operations, newest first: kind, result, duration, steps"),
  )
    .option('--limit <n>', 'at most this many (default 20)', '20')
    .option('--json', 'print JSON')
    .addHelpText('after', exitCodesHelp(READ_CODES))
    .action(
      withUserErrors(async (opts: { limit: string; json?: boolean }, cmd: Command) => {
        const name = deploymentName(cmd);
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) {
          throw new UserError(`--limit: expected a positive whole number, got '${opts.limit}'`, EXIT.usage);
        }
        await withClient(async (d) => {
          const ops = await d.operations(name, limit);
          if (opts.json) {
            print(JSON.stringify(ops, null, 2));
            return;
          }
          // Loaded with the client: --help needs none of it.
          const { renderOperations } = await import('../operations');
          print(ops.length === 0 ? `No operations for deployment '${name}'.` : renderOperations(ops));
        });
      }),
    );
}
