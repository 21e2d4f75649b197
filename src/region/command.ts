// `converge region`: runs the embedded cloud as its own process, bound to 127.0.0.1.
import { Command, Option } from 'commander';
import { exitCodesHelp } from '../domain/exit-codes';

interface RegionFlags {
  port: string;
  db: string;
  config?: string;
  token?: string;
  latencyMs?: string;
  buildMs?: string;
  deleteMs?: string;
  errorRate?: string;
  errorBuildRate?: string;
  stuckBuildRate?: string;
  exitWithParent?: boolean;
}

const FAULT_FLAGS = [
  ['latencyMs', 'latency_ms', '--latency-ms'],
  ['buildMs', 'build_ms', '--build-ms'],
  ['deleteMs', 'delete_ms', '--delete-ms'],
  ['errorRate', 'error_rate', '--error-rate'],
  ['errorBuildRate', 'error_build_rate', '--error-build-rate'],
  ['stuckBuildRate', 'stuck_build_rate', '--stuck-build-rate'],
] as const;

export function registerRegion(program: Command): void {
  program
    .command('region')
    .description('Run the embedded region (the simulated cloud) on 127.0.0.1, state in a SQLite file.')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '7480')
    .option('--db <path>', 'SQLite file holding the region state', '.converge/region.db')
    .option(
      '--config <path>',
      'region.yml with pools, azs, networks, storage pools, images (default: examples/region.yml)',
    )
    .option(
      '--token <token>',
      'bearer token clients must send (else CONVERGE_REGION_TOKEN, else "dev-token")',
    )
    .option('--latency-ms <ms>', 'added to every API request (default 0)')
    .option('--build-ms <ms>', 'BUILD → ACTIVE after this long (default 1000)')
    .option('--delete-ms <ms>', 'DELETING → gone after this long (default 300)')
    .option('--error-rate <0..1>', 'fraction of API requests answered 503 before doing anything (default 0)')
    .option('--error-build-rate <0..1>', 'fraction of builds that end in ERROR (default 0)')
    .option('--stuck-build-rate <0..1>', 'fraction of builds that stay in BUILD forever (default 0)')
    .addOption(new Option('--exit-with-parent', 'exit when stdin closes (used by tests)').hideHelp())
    .addHelpText(
      'after',
      exitCodesHelp(['ok', 'failed', 'usage'], {
        ok: 'stopped by SIGINT or SIGTERM',
        failed: 'an unexpected error',
        usage: 'a bad flag, config file, database or port in use',
      }),
    )
    .action(async (flags: RegionFlags) => {
      await runRegion(flags);
    });
}

function fail(message: string): never {
  process.stderr.write(`converge region: ${message}\n`);
  process.exit(2);
}

async function runRegion(flags: RegionFlags): Promise<void> {
  const [{ loadRegionConfig, ConfigError }, { serveRegion }, { faultsPatchSchema }, { firstIssue }] =
    await Promise.all([import('./config'), import('./serve'), import('./faults'), import('./validate')]);

  const port = Number(flags.port);
  if (!/^\d+$/.test(flags.port) || port > 65535) fail(`--port: expected 0-65535, got ${flags.port}`);

  const rawFaults: Record<string, number> = {};
  for (const [flag, field, name] of FAULT_FLAGS) {
    const text = flags[flag];
    if (text === undefined) continue;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) fail(`${name}: expected a number, got ${text}`);
    rawFaults[field] = value;
  }
  const parsed = faultsPatchSchema.safeParse(rawFaults);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    fail(`--${field.replaceAll('_', '-')}: ${message}`);
  }

  let config;
  try {
    config = loadRegionConfig(flags.config);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  const token = flags.token ?? (process.env.CONVERGE_REGION_TOKEN || 'dev-token');
  let region;
  try {
    region = await serveRegion({ dbPath: flags.db, config, token, port, faults: parsed.data });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`--port: 127.0.0.1:${port} is already in use`);
    if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_NOTADB')
      fail(`--db: cannot open ${flags.db} (${code})`);
    throw err;
  }
  process.stdout.write(`region listening on ${region.url}\n`);

  const running = region;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (flags.exitWithParent) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
}
