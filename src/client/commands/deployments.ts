// deploy, status, instances, cancel, stop, start, recreate, delete, action: the deployment commands.
// Exit codes: 0 converged (or accepted with --detach), 1 failed, 2 bad input, 3 cancelled,
// 130 detached by Ctrl-C (the operation goes on; Ctrl-C never cancels a deployment).
import type { Command } from 'commander';
import { UserError } from '../../domain/errors';
import { connectClient, TASK_QUEUE, uiLink, type ConnectedClient } from '../connection';
import { Deployments } from '../deployments';
import { withUserErrors } from '../errors';
import { loadDeploymentInputs } from '../load';
import {
  progressLine,
  renderInstances,
  renderPlanView,
  renderResult,
  renderStatus,
} from '../render-operation';
import type { OperationResult, OperationTicket } from '../../workflows/types';
import { deploymentWorkflowId } from '../../workflows/types';

interface FollowOptions {
  json?: boolean;
  detach?: boolean;
}

const EXIT: Record<OperationResult['status'], number> = { converged: 0, planned: 0, failed: 1, cancelled: 3 };

export function registerDeployments(program: Command): void {
  program
    .command('deploy')
    .description('Deploy a manifest: plan against the cloud, then enact the plan and follow its progress')
    .argument('<manifest>', 'deployment manifest (YAML)')
    .requiredOption('-c, --cloud-config <file>', 'cloud config (YAML)')
    .option('--recreate', 'replace every started instance, even if unchanged')
    .option('--dry-run', 'compute and print the plan, change nothing')
    .option('--detach', 'return once the operation has started')
    .option('--json', 'print a machine-readable result')
    .addHelpText(
      'after',
      '\nExit codes: 0 converged, 1 failed, 2 bad input, 3 cancelled, 130 detached (Ctrl-C).\n' +
        'Ctrl-C detaches: the deployment goes on; watch it with `converge status -d NAME`.',
    )
    .action(
      withUserErrors(
        async (
          manifestPath: string,
          opts: FollowOptions & { cloudConfig: string; recreate?: boolean; dryRun?: boolean },
        ) => {
          const { manifest, cloudConfig } = loadDeploymentInputs(manifestPath, opts.cloudConfig);
          await withClient(async (d) => {
            const ticket = await d.deploy(manifest.name, {
              manifest,
              cloudConfig,
              recreate: opts.recreate ?? false,
              dryRun: opts.dryRun ?? false,
            });
            await follow(d, ticket, opts, true);
          });
        },
      ),
    );

  program
    .command('status')
    .description('Show a deployment: current operation, instances with IP, MAC, power and health')
    .requiredOption('-d, --deployment <name>', 'deployment name')
    .option('--json', 'print JSON')
    .action(
      withUserErrors(async (opts: { deployment: string; json?: boolean }) => {
        await withClient(async (d) => {
          const s = await d.status(opts.deployment);
          if (opts.json) print(JSON.stringify(s, null, 2));
          else print(`${renderStatus(s)}\n\nTemporal UI: ${uiLink(deploymentWorkflowId(opts.deployment))}`);
        });
      }),
    );

  program
    .command('instances')
    .description("List a deployment's instances")
    .requiredOption('-d, --deployment <name>', 'deployment name')
    .option('--json', 'print JSON')
    .action(
      withUserErrors(async (opts: { deployment: string; json?: boolean }) => {
        await withClient(async (d) => {
          const s = await d.status(opts.deployment);
          print(opts.json ? JSON.stringify(s.instances, null, 2) : renderInstances(s.instances));
        });
      }),
    );

  program
    .command('cancel')
    .description(
      'Cancel the running operation: in-flight steps finish, no new ones start, it ends consistent',
    )
    .requiredOption('-d, --deployment <name>', 'deployment name')
    .action(
      withUserErrors(async (opts: { deployment: string }) => {
        await withClient(async (d) => {
          await d.cancel(opts.deployment);
          print(`cancel requested for ${opts.deployment}`);
        });
      }),
    );

  operationCommand(
    program,
    'stop',
    'Stop instances (soft: VMs kept, powered off; --hard: VMs deleted, identities and disks kept)',
  )
    .option('--hard', 'delete the VMs two-stage; instances become detached until `converge start`')
    .option('--now', 'with --hard: also interrupt a running operation (sends the hardStop signal)')
    .action(
      withUserErrors(
        async (
          instances: string[],
          opts: FollowOptions & { deployment: string; hard?: boolean; now?: boolean },
        ) => {
          await withClient(async (d) => {
            if (opts.hard && opts.now) {
              await d.hardStop(opts.deployment);
              print(`hard stop signalled for ${opts.deployment}`);
              return;
            }
            const req = { hard: opts.hard ?? false, ...(instances.length ? { instances } : {}) };
            await follow(d, await d.stop(opts.deployment, req), opts);
          });
        },
      ),
    );

  operationCommand(program, 'start', 'Start stopped or hard-stopped instances').action(
    withUserErrors(async (instances: string[], opts: FollowOptions & { deployment: string }) => {
      await withClient(async (d) =>
        follow(d, await d.start(opts.deployment, instances.length ? instances : undefined), opts),
      );
    }),
  );

  operationCommand(program, 'recreate', 'Replace the VMs of instances (all when none are named)').action(
    withUserErrors(async (instances: string[], opts: FollowOptions & { deployment: string }) => {
      await withClient(async (d) =>
        follow(d, await d.recreate(opts.deployment, instances.length ? instances : undefined), opts),
      );
    }),
  );

  program
    .command('delete')
    .description('Delete a deployment: every VM two-stage (server gone, then quota released), then its disks')
    .requiredOption('-d, --deployment <name>', 'deployment name')
    .option('--detach', 'return once the operation has started')
    .option('--json', 'print a machine-readable result')
    .action(
      withUserErrors(async (opts: FollowOptions & { deployment: string }) => {
        await withClient(async (d) => follow(d, await d.delete(opts.deployment), opts));
      }),
    );

  program
    .command('action')
    .description('Power action on one instance: start, stop or reboot')
    .requiredOption('-d, --deployment <name>', 'deployment name')
    .argument('<instance>', '<group>/<index> or <group>/<uuid>')
    .argument('<action>', 'start | stop | reboot')
    .option('--json', 'print a machine-readable result')
    .action(
      withUserErrors(
        async (instance: string, action: string, opts: FollowOptions & { deployment: string }) => {
          if (action !== 'start' && action !== 'stop' && action !== 'reboot') {
            throw new UserError(`action: expected start, stop or reboot; got '${action}'`, 2);
          }
          await withClient(async (d) =>
            follow(d, await d.instanceAction(opts.deployment, { instance, action }), opts),
          );
        },
      ),
    );
}

function operationCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .requiredOption('-d, --deployment <name>', 'deployment name')
    .argument('[instances...]', 'instances: <group>, <group>/<index> or <group>/<uuid> (default: all)')
    .option('--detach', 'return once the operation has started')
    .option('--json', 'print a machine-readable result');
}

async function withClient(body: (d: Deployments) => Promise<void>): Promise<void> {
  let connected: ConnectedClient;
  try {
    connected = await connectClient();
  } catch (err) {
    if (err instanceof UserError) throw err; // bad TEMPORAL_* settings: the user's to fix (exit 2)
    const why = err instanceof Error ? err.message : String(err);
    throw new UserError(`cannot reach Temporal (${why}); is the stack running? Try 'converge dev up'.`, 1);
  }
  try {
    await body(new Deployments(connected.client, { taskQueue: TASK_QUEUE }));
  } finally {
    await connected.connection.close();
  }
}

/** Prints the plan, the workflow and its UI link, then a live progress line until the operation ends. */
async function follow(
  d: Deployments,
  ticket: OperationTicket,
  opts: FollowOptions,
  showPlan = false,
): Promise<void> {
  const human = !opts.json;
  if (human) {
    print(
      `${ticket.kind} ${ticket.deployment}: operation ${ticket.operation} (workflow ${ticket.workflowId})`,
    );
    print(`Temporal UI: ${uiLink(ticket.workflowId)}`);
  }
  if (opts.detach) {
    if (opts.json) print(JSON.stringify(ticket));
    return;
  }
  process.once('SIGINT', () => {
    process.stderr.write(
      `\ndetached: ${ticket.operation} goes on. Watch it: converge status -d ${ticket.deployment}\n`,
    );
    process.exit(130);
  });
  if (human && showPlan) {
    const plan = await d.waitForPlan(ticket);
    if (plan) print(renderPlanView(plan));
  }
  const tty = process.stdout.isTTY;
  let last = '';
  const result = await d.wait(
    ticket,
    human
      ? (p) => {
          const line = progressLine(p, 30);
          if (line === last) return;
          last = line;
          if (tty) process.stdout.write(`\r\x1b[K${line}`);
          else print(line);
        }
      : undefined,
  );
  if (human && tty) process.stdout.write('\n');
  if (opts.json) {
    print(
      JSON.stringify(
        {
          deployment: result.deployment,
          operation: result.operation,
          status: result.status,
          summary: result.summary,
          instances: result.instances,
          failure: result.failure,
          remaining: result.remaining,
        },
        null,
        2,
      ),
    );
  } else {
    if (result.plan) print(renderPlanView(result.plan, { showKeeps: true }));
    print(renderResult(result));
    if (result.projection.length && result.status !== 'planned')
      print(`\n${renderInstances(result.projection)}`);
  }
  process.exitCode = EXIT[result.status];
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
