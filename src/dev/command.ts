// `converge dev up|down|status`: the embedded stack (codec server, Temporal dev server, region,
// worker) in the background, with logs and pid files under .converge/.
import type { Command } from 'commander';
import { UserError } from '../domain/errors';
import { exitCodesHelp } from '../domain/exit-codes';
import { envHelp } from '../temporal/connection';
import { workerBuildLine } from './worker-build';

const DEV_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['CONVERGE_TEMPORAL_PORT', 'Temporal frontend port (default 7233; also the CLI default address)'],
  ['CONVERGE_UI_PORT', 'Temporal Web UI port (default 8233)'],
  ['CONVERGE_CODEC_PORT', 'codec server the UI decodes payloads through (default 7482)'],
  ['CONVERGE_REGION_PORT', 'region API port (default 7480)'],
  ['CONVERGE_METRICS_PORT', 'worker Prometheus metrics port (default 9464)'],
  ['CONVERGE_MOTO_PORT', "moto's EC2 API port with --cloud ec2 (default 7481)"],
  ['CONVERGE_DEV_DIR', 'where logs, pid files and SQLite files go (default <repo>/.converge)'],
  ['TEMPORAL_CLI', 'path to the temporal binary (else PATH, else ~/.cache/converge/bin, else go install)'],
];

export function registerDev(program: Command): void {
  const dev = program
    .command('dev')
    .description(
      'Run the embedded stack in the background: codec server, Temporal dev server and UI, region, worker',
    )
    .addHelpText('after', envHelp('Environment', DEV_ENV_HELP));
  const codes = exitCodesHelp(['ok', 'failed', 'usage'], {
    ok: 'every part healthy (down: every part stopped)',
    failed: 'a part is not healthy (its log is named)',
    usage: 'a bad setting (port, directory)',
  });

  dev
    .command('up')
    .description('Start whatever is not running (idempotent) and wait until each part is healthy')
    .option(
      '--cloud <kind>',
      "what the worker computes on: region (default) or ec2 (a local moto, seeded with the examples' subnets and stemcell AMIs)",
    )
    .addHelpText('after', codes)
    .action((opts: { cloud?: string }) => runDev('up', opts.cloud));
  dev
    .command('down')
    .description(
      'Stop the worker, the region, the Temporal server and the codec server (state stays in .converge/)',
    )
    .addHelpText('after', codes)
    .action(() => runDev('down'));
  dev
    .command('status')
    .description(
      "Show each part with pid, port and health, and the worker deployment's current build (and whether the running worker polls it); exit 1 unless all are healthy",
    )
    .addHelpText('after', codes)
    .action(() => runDev('status'));
}

async function runDev(verb: 'up' | 'down' | 'status', cloudFlag?: string): Promise<void> {
  const stack = await import('./stack');
  const say = (line: string): void => console.log(line);
  try {
    const cloud =
      cloudFlag === undefined
        ? undefined
        : (await import('../domain/cloud-target')).cloudKindOf(cloudFlag, {});
    const config = stack.devStackConfig(process.env, cloud);
    if (verb === 'down') {
      await stack.devDown(config, say);
      return;
    }
    const statuses = verb === 'up' ? await stack.devUp(config, say) : await stack.devStatus(config);
    if (verb === 'up') console.log('');
    printTable(statuses);
    if (statuses.some((s) => s.name === 'temporal' && s.healthy)) {
      const build = await stack.workerBuild(config);
      if (build !== null) console.log(`\n${workerBuildLine(build)}`);
    }
    const allHealthy = statuses.every((s) => s.healthy);
    if (allHealthy) {
      console.log(`\nTemporal UI:  ${stack.uiUrl(config)}`);
      console.log(
        `Codec:        ${stack.codecUrl(config)} (the UI decodes payloads; key ${stack.payloadKeyPath(config)})`,
      );
      console.log(`Temporal:     ${stack.temporalAddress(config)} (namespace ${config.namespace})`);
      console.log(`Region:       ${stack.regionUrl(config)}`);
      console.log(`Metrics:      ${stack.metricsUrl(config)} (worker, Prometheus)`);
      console.log(
        `Permissions:  on; local admin ${stack.adminKeyPath(config)}, you: ${stack.identityFilePath(config)}`,
      );
      if (statuses.some((s) => s.name === 'moto')) {
        console.log(`EC2 (moto):   ${stack.motoUrl(config)}; the worker computes there`);
        console.log(
          `Deploy with:  converge deploy examples/manifest.yml -c ${stack.ec2CloudConfigPath(config)} --cloud ec2`,
        );
      }
      if (verb === 'up') console.log('Stop it with: npx converge dev down');
    } else {
      console.log(verb === 'status' ? '\nStart it with: npx converge dev up' : '');
      process.exitCode = 1;
    }
  } catch (err) {
    if (err instanceof UserError && !(err instanceof stack.DevStackError)) {
      console.error(`converge dev ${verb}: ${err.message}`);
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof stack.DevStackError) {
      console.error(`converge dev ${verb}: ${err.message}`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}

function printTable(
  statuses: ReadonlyArray<{
    name: string;
    pid: number | null;
    port: number | null;
    running: boolean;
    healthy: boolean;
    log: string;
  }>,
): void {
  const rows = [
    ['SERVICE', 'PID', 'PORT', 'STATE', 'LOG'],
    ...statuses.map((s) => [
      s.name,
      s.pid === null ? '-' : String(s.pid),
      s.port === null ? '-' : String(s.port),
      s.healthy ? 'healthy' : s.running ? 'unhealthy' : 'stopped',
      s.log,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows)
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}
