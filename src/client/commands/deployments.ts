// deploy, deployments, status, instances, cancel, stop, start, recreate, delete, action: the
// deployment commands. Exit codes are src/domain/exit-codes.ts; Ctrl-C while following an operation
// detaches (130): the operation goes on, Ctrl-C never cancels a deployment.
import type { Command } from 'commander';
import { UserError } from '../../domain/errors';
import { uiLink } from '../../temporal/connection';
import type { Deployments } from '../deployments';
import { withUserErrors } from '../errors';
import { EXIT, exitCodesHelp, OPERATION_CODES, READ_CODES, type ExitName } from '../../domain/exit-codes';
import { snakeKeys, toJson } from '../json';
import { confirm, requireAnswerable } from '../confirm';
import { progressLine, renderInstances, renderResult, renderStatus, table } from '../render-operation';
import type { DeploymentStatus, OperationResult, OperationTicket, PlanView } from '../../workflows/types';
import { deploymentWorkflowId } from '../../workflows/types';
import {
  addDeploymentOption,
  assumeYes,
  deploymentName,
  NON_INTERACTIVE,
  print,
  withClient,
  YES,
} from './common';

interface FollowOptions {
  json?: boolean;
  detach?: boolean;
}

const RESULT_EXIT: Record<OperationResult['status'], number> = {
  converged: EXIT.ok,
  planned: EXIT.ok,
  failed: EXIT.failed,
  cancelled: EXIT.cancelled,
};

const CONFIRMED_CODES: readonly ExitName[] = [...OPERATION_CODES, 'notConfirmed'];

export function registerDeployments(program: Command): void {
  program
    .command('deploy')
    .description('Deploy a manifest: plan against the cloud, then enact the plan and follow its progress')
    .argument('<manifest>', 'deployment manifest (YAML)')
    .requiredOption('-c, --cloud-config <file>', 'cloud config (YAML)')
    .option(
      '--cloud <kind>',
      'the cloud the worker computes on (region or ec2; default $CONVERGE_CLOUD, else region): the cloud config is checked against it before anything starts',
    )
    .option('--recreate', 'replace every started instance, even if unchanged')
    .option('--dry-run', 'compute and print the plan against the live deployment, change nothing')
    .option('--detach', 'return once the operation has started')
    .option('--json', 'print a machine-readable result')
    .option(...YES)
    .option(...NON_INTERACTIVE)
    .addHelpText(
      'after',
      `${exitCodesHelp(CONFIRMED_CODES)}\n\n` +
        'A deploy that replaces or deletes instances asks first on a terminal (it plans with a dry run,\n' +
        'shows the plan, then asks); without a terminal it refuses unless --yes.\n' +
        'Ctrl-C detaches: the deployment goes on; watch it with `converge status -d NAME --follow`.',
    )
    .action(
      withUserErrors(
        async (
          manifestPath: string,
          opts: FollowOptions & { cloudConfig: string; cloud?: string; recreate?: boolean; dryRun?: boolean },
          cmd: Command,
        ) => {
          // Loaded when a deploy runs: the schemas and the YAML parser are not needed for --help.
          const [{ loadDeploymentInputs }, { liveDocument, planJsonView, renderPlan }, { cloudKindOf }] =
            await Promise.all([
              import('../load'),
              import('../render-plan'), // the planner: not needed for --help
              import('../../domain/cloud-target'),
            ]);
          const { manifest, cloudConfig } = loadDeploymentInputs(
            manifestPath,
            opts.cloudConfig,
            cloudKindOf(opts.cloud, process.env),
          );
          const request = { manifest, cloudConfig, recreate: opts.recreate ?? false };
          const yes = assumeYes(cmd);
          await withClient(
            async (d) => {
              const before = await d.find(manifest.name);
              const doc = (plan: PlanView) =>
                liveDocument(plan, manifest, cloudConfig, before?.instances ?? [], {
                  dryRun: opts.dryRun === true || plan === dryPlan,
                });
              let dryPlan: PlanView | null = null;
              if (!opts.dryRun && !yes && before !== null) {
                // An existing deployment may lose instances: plan first (a dry run changes nothing), and
                // ask when the plan is destructive.
                dryPlan = (await d.wait(await d.deploy(manifest.name, { ...request, dryRun: true }))).plan;
                const destructive = dryPlan?.instances.filter((i) => i.destructive).length ?? 0;
                if (dryPlan !== null && destructive > 0) {
                  if (!opts.json) process.stdout.write(renderPlan(doc(dryPlan)));
                  await confirm(
                    `deploy ${manifest.name}`,
                    `deploy ${manifest.name}: ${destructive} instance(s) will be replaced or deleted (local disks lost).`,
                    false,
                  );
                } else dryPlan = null; // nothing to confirm: the deploy shows its own plan
              }
              const ticket = await d.deploy(manifest.name, { ...request, dryRun: opts.dryRun ?? false });
              // A dry run's plan is printed with its result; a confirmed one was printed already.
              await follow(d, ticket, opts, {
                render: (plan) => renderPlan(doc(plan)),
                json: (plan) => planJsonView(doc(plan)),
                showPlan: dryPlan === null && !opts.dryRun,
              });
            },
            { checkNamespace: true },
          );
        },
      ),
    );

  program
    .command('deployments')
    .description('List the deployments: name, phase, instances, last operation')
    .option('--json', 'print JSON')
    .addHelpText('after', exitCodesHelp(READ_CODES))
    .action(
      withUserErrors(async (opts: { json?: boolean }) => {
        await withClient(async (d) => {
          const all = await d.list();
          if (opts.json) print(toJson(all.map(deploymentRow)));
          else print(all.length === 0 ? 'no deployments' : renderDeployments(all));
        });
      }),
    );

  addDeploymentOption(
    program
      .command('status')
      .description('Show a deployment: current operation, instances with IP, MAC, power and health'),
  )
    .option('--follow', 'follow the running operation to its end (re-attach after Ctrl-C)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      exitCodesHelp(OPERATION_CODES, {
        ok: 'done (with --follow: the operation converged, or none was running)',
        failed: 'with --follow: the operation failed',
        cancelled: 'with --follow: the operation was cancelled',
        interrupted: 'with --follow: detached by Ctrl-C (the operation goes on)',
      }),
    )
    .action(
      withUserErrors(async (opts: { json?: boolean; follow?: boolean }, cmd: Command) => {
        const name = deploymentName(cmd);
        await withClient(async (d) => {
          const s = await d.status(name);
          if (opts.follow && s.current) {
            await follow(d, s.current, { json: opts.json ?? false });
            return;
          }
          if (opts.json) print(toJson(s));
          else {
            print(`${renderStatus(s)}\n\nTemporal UI: ${uiLink(deploymentWorkflowId(name))}`);
            if (opts.follow) print('No operation is running.');
          }
        });
      }),
    );

  addDeploymentOption(program.command('instances').description("List a deployment's instances"))
    .option('--json', 'print JSON')
    .addHelpText('after', exitCodesHelp(READ_CODES))
    .action(
      withUserErrors(async (opts: { json?: boolean }, cmd: Command) => {
        const name = deploymentName(cmd);
        await withClient(async (d) => {
          const s = await d.status(name);
          print(opts.json ? toJson(s.instances) : renderInstances(s.instances));
        });
      }),
    );

  addDeploymentOption(
    program
      .command('cancel')
      .description(
        'Cancel the running operation: in-flight steps finish, no new ones start, it ends consistent',
      ),
  )
    .option('--wait', 'wait for the operation to end and print its result')
    .option('--json', 'with --wait: print the result as JSON')
    .addHelpText(
      'after',
      exitCodesHelp(OPERATION_CODES, {
        ok: 'cancel requested (with --wait: the operation converged before the cancel took)',
        failed: 'with --wait: the operation failed',
        cancelled: 'with --wait: the operation ended cancelled',
      }),
    )
    .action(
      withUserErrors(async (opts: { wait?: boolean; json?: boolean }, cmd: Command) => {
        const name = deploymentName(cmd);
        await withClient(async (d) => {
          const { current } = await d.status(name);
          if (!current) {
            print(`${name}: no operation is running; nothing to cancel`);
            return;
          }
          await d.cancel(name);
          if (!opts.json) print(`cancel requested for ${name} (${current.operation} ${current.kind})`);
          if (opts.wait) await follow(d, current, { json: opts.json ?? false });
        });
      }),
    );

  operationCommand(
    program,
    'stop',
    'Stop instances (soft: VMs kept, powered off; --hard: VMs deleted, identities and disks kept)',
  )
    .option('--hard', 'delete the VMs two-stage; instances become detached until `converge start`')
    .option('--now', 'with --hard: also interrupt a running operation (needs CLOUD_ADMIN)')
    .action(
      withUserErrors(
        async (
          instances: string[],
          opts: FollowOptions & { hard?: boolean; now?: boolean; dryRun?: boolean },
          cmd: Command,
        ) => {
          const name = deploymentName(cmd);
          if (opts.dryRun && opts.now) {
            throw new UserError(
              '--dry-run and --now exclude each other: --now interrupts at once',
              EXIT.usage,
            );
          }
          await withClient(async (d) => {
            if (opts.hard && opts.now) {
              await d.hardStop(name);
              print(`hard stop requested for ${name}`);
              return;
            }
            const req = {
              hard: opts.hard ?? false,
              ...(instances.length ? { instances } : {}),
              ...(opts.dryRun ? { dryRun: true } : {}),
            };
            await follow(d, await d.stop(name, req), opts, await stepsDisplay(opts));
          });
        },
      ),
    );

  operationCommand(program, 'start', 'Start stopped or hard-stopped instances').action(
    withUserErrors(async (instances: string[], opts: FollowOptions & { dryRun?: boolean }, cmd: Command) => {
      const name = deploymentName(cmd);
      const some = instances.length ? instances : undefined;
      await withClient(async (d) =>
        follow(
          d,
          await d.start(name, some, { dryRun: opts.dryRun ?? false }),
          opts,
          await stepsDisplay(opts),
        ),
      );
    }),
  );

  operationCommand(program, 'recreate', 'Replace the VMs of instances (all when none are named)').action(
    withUserErrors(async (instances: string[], opts: FollowOptions & { dryRun?: boolean }, cmd: Command) => {
      const name = deploymentName(cmd);
      const some = instances.length ? instances : undefined;
      await withClient(async (d) =>
        follow(
          d,
          await d.recreate(name, some, { dryRun: opts.dryRun ?? false }),
          opts,
          await stepsDisplay(opts),
        ),
      );
    }),
  );

  addDeploymentOption(
    program
      .command('delete')
      .description(
        'Delete a deployment: every VM two-stage (server gone, then quota released), then its disks',
      ),
  )
    .option('--detach', 'return once the operation has started')
    .option('--json', 'print a machine-readable result')
    .option(...YES)
    .option(...NON_INTERACTIVE)
    .addHelpText(
      'after',
      `${exitCodesHelp(CONFIRMED_CODES)}\n\n` +
        'Asks for confirmation on a terminal; without a terminal it refuses unless --yes.',
    )
    .action(
      withUserErrors(async (opts: FollowOptions, cmd: Command) => {
        const name = deploymentName(cmd);
        const yes = assumeYes(cmd);
        requireAnswerable(`delete ${name}`, yes); // before connecting: a script learns at once
        await withClient(async (d) => {
          const s = await d.status(name);
          if (s.deleted) throw new UserError(`${name} is already deleted`, EXIT.usage);
          const disks = s.instances.length;
          await confirm(
            `delete ${name}`,
            `delete ${name}: ${disks} instance(s), their VMs and persistent disks are deleted; this cannot be undone.`,
            yes,
          );
          await follow(d, await d.delete(name), opts);
        });
      }),
    );

  addDeploymentOption(
    program.command('action').description('Power action on one instance: start, stop or reboot'),
  )
    .argument('<instance>', '<group>/<index> or <group>/<uuid>')
    .argument('<action>', 'start | stop | reboot')
    .option('--json', 'print a machine-readable result')
    .addHelpText('after', exitCodesHelp(OPERATION_CODES))
    .action(
      withUserErrors(async (instance: string, action: string, opts: FollowOptions, cmd: Command) => {
        const name = deploymentName(cmd);
        if (action !== 'start' && action !== 'stop' && action !== 'reboot') {
          throw new UserError(`action: expected start, stop or reboot; got '${action}'`, EXIT.usage);
        }
        await withClient(async (d) => follow(d, await d.instanceAction(name, { instance, action }), opts));
      }),
    );
}

function operationCommand(program: Command, name: string, description: string): Command {
  return addDeploymentOption(program.command(name).description(description))
    .argument('[instances...]', 'instances: <group>, <group>/<index> or <group>/<uuid> (default: all)')
    .option('--detach', 'return once the operation has started')
    .option('--dry-run', 'observe and print the plan (every step with its reason), change nothing')
    .option('--json', 'print a machine-readable result')
    .addHelpText('after', exitCodesHelp(OPERATION_CODES));
}

/** stop, start and recreate: a dry run prints its plan's steps (render-steps.ts, loaded when asked). */
async function stepsDisplay(opts: { dryRun?: boolean }): Promise<PlanDisplay | undefined> {
  if (!opts.dryRun) return undefined;
  const { renderSteps, stepsJson } = await import('../render-steps');
  return { render: renderSteps, json: stepsJson, showPlan: false };
}

function deploymentRow(s: DeploymentStatus) {
  const last = s.recent[0] ?? null;
  return {
    name: s.deployment,
    phase: s.phase,
    instances: s.instances.length,
    last_operation: last ? { operation: last.operation, kind: last.kind, status: last.status } : null,
  };
}

function renderDeployments(all: DeploymentStatus[]): string {
  const rows = [['NAME', 'PHASE', 'INSTANCES', 'LAST OPERATION']];
  for (const s of all) {
    const r = deploymentRow(s);
    const last = r.last_operation;
    rows.push([
      r.name,
      r.phase,
      String(r.instances),
      last ? `${last.operation} ${last.kind} ${last.status}` : '-',
    ]);
  }
  return table(rows);
}

/** How a deploy shows its plan: with the inputs and status the client holds (render-plan.ts). */
interface PlanDisplay {
  render: (plan: PlanView) => string;
  json: (plan: PlanView) => unknown;
  /** Print the operation's plan once it has one (false: the user already saw and confirmed it). */
  showPlan: boolean;
}

/** Prints the plan, the workflow and its UI link, then a live progress line until the operation ends. */
export async function follow(
  d: Deployments,
  ticket: OperationTicket,
  opts: FollowOptions,
  display?: PlanDisplay,
): Promise<void> {
  const human = !opts.json;
  if (human) {
    print(
      `${ticket.kind} ${ticket.deployment}: operation ${ticket.operation} (workflow ${ticket.workflowId})`,
    );
    print(`Temporal UI: ${uiLink(ticket.workflowId)}`);
  }
  if (opts.detach) {
    if (opts.json) print(toJson(ticket));
    return;
  }
  process.once('SIGINT', () => {
    process.stderr.write(
      `\ndetached: ${ticket.operation} goes on. Watch it: converge status -d ${ticket.deployment} --follow\n`,
    );
    process.exit(EXIT.interrupted);
  });
  if (human && display?.showPlan) {
    const plan = await d.waitForPlan(ticket);
    if (plan) process.stdout.write(display.render(plan));
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
    const view = {
      deployment: result.deployment,
      operation: result.operation,
      kind: result.kind,
      status: result.status,
      summary: result.summary,
      stepsTotal: result.stepsTotal,
      stepsDone: result.stepsDone,
      instances: result.instances,
      failure: result.failure,
      remaining: result.remaining,
      warnings: result.warnings,
      // cck: the problems a resolution was applied to.
      ...(result.resolved ? { resolved: result.resolved } : {}),
    };
    // The plan's view is snake_case already (render-plan.ts).
    const plan = result.plan && display ? display.json(result.plan) : undefined;
    print(JSON.stringify({ ...(snakeKeys(view) as object), ...(plan ? { plan } : {}) }, null, 2));
  } else {
    if (result.plan && display) process.stdout.write(display.render(result.plan));
    print(renderResult(result));
    if (result.projection.length && result.status !== 'planned')
      print(`\n${renderInstances(result.projection)}`);
  }
  process.exitCode = RESULT_EXIT[result.status];
}
