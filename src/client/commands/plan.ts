// `converge plan MANIFEST -c CLOUD_CONFIG [--observed SNAPSHOT.json] [--json]`: the obligation a
// deploy would enact, computed offline. Without --observed the cloud is taken as empty.
import type { Command } from 'commander';
import { withUserErrors } from '../errors';
import { exitCodesHelp } from '../exit-codes';
import type { PlanOptions } from '../plan-offline';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('Show what a deploy would do: create, replace (with reasons), delete, keep; offline')
    .argument('<manifest>', 'deployment manifest (YAML)')
    .requiredOption('-c, --cloud-config <file>', 'cloud config (YAML)')
    .option(
      '--observed <snapshot>',
      'JSON snapshot {servers, allocations, volumes, instances} (default: empty cloud)',
    )
    .option('--recreate', 'plan replacing every started instance')
    .option(
      '--default-strategy <strategy>',
      'strategy for groups that choose none (default: $CONVERGE_DEFAULT_VM_STRATEGY or delete_create)',
    )
    .option('--show-keeps', 'list unchanged instances too')
    .option('--json', 'print the plan as JSON (byte-identical for identical inputs)')
    .option('--detailed-exitcode', "exit 0 when the plan has no changes, 3 when it has (as Terraform's 2)")
    .addHelpText(
      'after',
      exitCodesHelp(['ok', 'failed', 'usage', 'changes'], {
        ok: 'planned (with --detailed-exitcode: no changes)',
        failed: 'an unexpected error',
      }),
    )
    .action(
      withUserErrors(async (manifestPath: string, opts: PlanOptions) => {
        // Loaded when the command runs: the planner, the schemas and the YAML parser are most of what
        // `converge --help` would otherwise load.
        const { planOffline } = await import('../plan-offline');
        planOffline(manifestPath, opts);
      }),
    );
}
