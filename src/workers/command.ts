// `converge worker`: runs a Temporal worker for Converge in the foreground until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { UserError } from '../domain/errors';
import { exitCodesHelp } from '../domain/exit-codes';
import { CONNECTION_ENV_HELP, envHelp } from '../temporal/connection';
import { TRACING_ENV_HELP } from '../temporal/tracing-env';
import { TUNING_ENV_HELP } from './tuning';
import { METRICS_ENV_HELP } from './metrics';
import { TRUST_ROOT_ENV_HELP } from './trust-root';
import { VERSIONING_ENV_HELP } from './versioning';

const REGION_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['CONVERGE_REGION_URL', 'base URL of the region (cloud) API (default http://127.0.0.1:7480)'],
  ['CONVERGE_REGION_TOKEN', 'bearer token for the region API'],
];

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run a Converge worker: deployment workflows and cloud activities (Ctrl-C drains it)')
    .option('--task-queue <queue>', 'task queue to poll (default: CONVERGE_TASK_QUEUE or "converge")')
    .option(
      '--deployment-name <name>',
      'Temporal worker deployment this worker belongs to; turns on Worker Versioning (or CONVERGE_WORKER_DEPLOYMENT)',
    )
    .option(
      '--build-id <id>',
      'this build (default: package version + workflow bundle hash; or CONVERGE_BUILD_ID)',
    )
    .addHelpText(
      'after',
      [
        envHelp('Temporal connection (environment)', CONNECTION_ENV_HELP),
        envHelp('Cloud (environment; credentials stay in the worker)', REGION_ENV_HELP),
        envHelp('Permissions (environment; off without a key)', TRUST_ROOT_ENV_HELP),
        envHelp('Capacity (environment)', TUNING_ENV_HELP),
        envHelp('Worker Versioning (environment)', VERSIONING_ENV_HELP),
        envHelp('Observability (environment)', [...METRICS_ENV_HELP, ...TRACING_ENV_HELP]),
        exitCodesHelp(['ok', 'failed', 'usage'], {
          ok: 'drained and stopped by SIGINT or SIGTERM',
          failed: 'the worker failed (cannot reach Temporal or the cloud, …)',
          usage: 'a bad setting',
        }),
      ].join('\n'),
    )
    .action(async (opts: { taskQueue?: string; deploymentName?: string; buildId?: string }) => {
      // Imported lazily: the worker pulls in the native Temporal core and the bundler, which the
      // other commands do not need.
      const { runWorker } = await import('./worker');
      try {
        const env = {
          ...process.env,
          ...(opts.deploymentName !== undefined ? { CONVERGE_WORKER_DEPLOYMENT: opts.deploymentName } : {}),
          ...(opts.buildId !== undefined ? { CONVERGE_BUILD_ID: opts.buildId } : {}),
        };
        await runWorker({ env, ...(opts.taskQueue !== undefined ? { taskQueue: opts.taskQueue } : {}) });
        console.log('converge worker stopped');
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        console.error(`converge worker: ${message}`);
        process.exitCode = err instanceof UserError ? err.exitCode : 1;
      }
    });
}
