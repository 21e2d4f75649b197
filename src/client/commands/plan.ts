// `converge plan MANIFEST -c CLOUD_CONFIG [-d NAME | --observed SNAPSHOT.json] [--json]`: the
// obligation a deploy would enact. Offline by default, against an empty cloud (or a snapshot); with
// -d NAME the deployment's own operation plans it against the live cloud as a dry run (read-only).
import type { Command } from 'commander';
import { withUserErrors } from '../errors';
import { EXIT, exitCodesHelp } from '../../domain/exit-codes';
import type { PlanOptions } from '../plan-offline';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'Show what a deploy would do: create, replace (with reasons), delete, keep. Offline against an ' +
        'empty cloud unless -d NAME (the live deployment, read-only) or --observed',
    )
    .argument('<manifest>', 'deployment manifest (YAML)')
    .requiredOption('-c, --cloud-config <file>', 'cloud config (YAML)')
    .option(
      '-d, --deployment <name>',
      'plan against this live deployment: its operation observes the cloud and plans as a dry run, changing nothing',
    )
    .option(
      '--observed <snapshot>',
      'offline against a JSON snapshot {servers, allocations, volumes, instances} (default: an empty cloud)',
    )
    .option(
      '--cloud <kind>',
      'the cloud the worker computes on (region or ec2; default $CONVERGE_CLOUD, else region): the cloud config is checked against it before anything starts',
    )
    .option('--recreate', 'plan replacing every started instance')
    .option(
      '--default-strategy <strategy>',
      'offline: strategy for groups that choose none (default: $CONVERGE_DEFAULT_VM_STRATEGY or delete_create); with -d the worker decides',
    )
    .option('--show-keeps', 'list unchanged instances too')
    .option('--json', 'print the plan as JSON (snake_case; byte-identical for identical inputs)')
    .option('--detailed-exitcode', "exit 0 when the plan has no changes, 3 when it has (Terraform's 2)")
    .addHelpText(
      'after',
      exitCodesHelp(['ok', 'failed', 'usage', 'changes', 'unreachable'], {
        ok: 'planned (with --detailed-exitcode: no changes)',
        failed: 'the dry run failed (-d), or an unexpected error',
        unreachable: 'with -d: cannot reach Temporal',
      }),
    )
    .action(
      withUserErrors(
        async (
          manifestPath: string,
          opts: PlanOptions & { deployment?: string; cloud?: string },
          cmd: Command,
        ) => {
          // Loaded when the command runs: the planner, the schemas and the YAML parser are most of what
          // `converge --help` would otherwise load.
          const [{ loadDeploymentInputs }, { hasChanges, planJson, renderPlan }, { cloudKindOf }] =
            await Promise.all([
              import('../load'),
              import('../render-plan'),
              import('../../domain/cloud-target'),
            ]);
          const inputs = loadDeploymentInputs(
            manifestPath,
            opts.cloudConfig,
            cloudKindOf(opts.cloud, process.env),
          );
          const live = opts.deployment ?? cmd.parent?.opts<{ deployment?: string }>().deployment;
          const doc =
            live === undefined
              ? (await import('../plan-offline')).planOffline(inputs, opts)
              : await (await import('../plan-live')).planLive(inputs, live, opts);
          if (doc === null) return; // the dry run failed; reported with its exit code
          process.stdout.write(
            opts.json ? planJson(doc) : renderPlan(doc, opts.showKeeps ? { showKeeps: true } : {}),
          );
          if (opts.detailedExitcode && hasChanges(doc)) process.exitCode = EXIT.changes;
        },
      ),
    );
}
