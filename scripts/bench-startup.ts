// `npm run bench:startup`: how long a user waits for Converge to start, next to the Temporal CLI.
// Medians of: `converge --help`; `converge status -d NAME` end to end against a running dev stack;
// a worker from spawn to polling (its pid among the task queue's pollers). The stack is started by
// `converge dev up` in a temp dir on free ports and stopped at the end. Figures only; never fails.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveTemporalCli, workerPolls } from '../src/temporal/dev-server';
import { freePort } from './chaos/processes';
import { WORKER_NODE_FLAGS, workerEnv } from '../src/workers/tuning';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONVERGE = join(ROOT, 'bin', 'converge.mjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Wall seconds of one run of `file args` (stdout discarded); throws when it fails. */
function timeRun(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return seconds;
}

function medianOf(label: string, run: () => number): number {
  run(); // warm the page cache
  const m = median(Array.from({ length: RUNS }, run));
  console.error(`  ${label}: ${m.toFixed(3)} s`);
  return m;
}

async function workerReady(env: NodeJS.ProcessEnv, address: string, taskQueue: string): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, CONVERGE, 'worker'], {
    env: { ...workerEnv(env), CONVERGE_TASK_QUEUE: taskQueue },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}`);
      if (await workerPolls(address, 'default', taskQueue, child.pid ?? -1)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const temporal = resolveTemporalCli();
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-startup-'));
  const [temporalPort, uiPort, codecPort, regionPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const address = `127.0.0.1:${temporalPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONVERGE_DEV_DIR: dir,
    CONVERGE_TEMPORAL_PORT: String(temporalPort),
    CONVERGE_UI_PORT: String(uiPort),
    CONVERGE_CODEC_PORT: String(codecPort),
    CONVERGE_REGION_PORT: String(regionPort),
    CONVERGE_TASK_QUEUE: 'bench-startup',
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    CONVERGE_REGION_URL: `http://127.0.0.1:${regionPort}`,
  };
  for (const v of ['TEMPORAL_API_KEY', 'TEMPORAL_TLS', 'CONVERGE_DEBUG']) delete env[v];

  console.error(`bench:startup: ${RUNS} runs each, medians`);
  const help = medianOf('converge --help', () => timeRun(process.execPath, [CONVERGE, '--help'], env));
  const temporalHelp = medianOf('temporal --help', () => timeRun(temporal, ['--help'], env));
  const fromSource = medianOf('converge --help from src/ (tsx)', () =>
    timeRun(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts'), '--help'], env),
  );

  let status = NaN;
  let temporalList = NaN;
  let ready = NaN;
  try {
    execFileSync(process.execPath, [CONVERGE, 'dev', 'up'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync(
      process.execPath,
      [CONVERGE, 'deploy', 'examples/manifest.yml', '-c', 'examples/cloud-config.yml', '--yes'],
      { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    status = medianOf('converge status -d web (dev stack)', () =>
      timeRun(process.execPath, [CONVERGE, 'status', '-d', 'web'], env),
    );
    temporalList = medianOf('temporal workflow describe (same stack)', () =>
      timeRun(temporal, ['workflow', 'describe', '--address', address, '-w', 'deployment/web'], env),
    );
    const readies: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++)
      readies.push(await workerReady(env, address, `bench-ready-${i}`));
    ready = median(readies);
    console.error(`  worker ready (polling): ${ready.toFixed(3)} s`);
  } finally {
    spawnSync(process.execPath, [CONVERGE, 'dev', 'down'], { env, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }

  const row = (what: string, converge: number, temporalCli: number | null): string =>
    `| ${what} | ${converge.toFixed(3)} s | ${temporalCli === null ? '–' : `${temporalCli.toFixed(3)} s`} |`;
  console.log('| start-up (median) | converge | temporal CLI |');
  console.log('| --- | --- | --- |');
  console.log(row('`--help`', help, temporalHelp));
  console.log(row('`--help` from src/ through tsx (before the build)', fromSource, null));
  console.log(row('`status -d web` end to end (dev stack)', status, temporalList));
  console.log(row('worker: spawn to polling', ready, null));
}

await main();
