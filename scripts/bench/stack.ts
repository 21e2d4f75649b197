// The embedded stack, started by the benchmark itself in a temp dir on free ports: the Temporal dev
// server (SQLite file, search attributes, no UI), the region process, and Converge workers as child
// processes, so that their peak RSS and CPU time can be read from /proc. Everything started here is
// stopped by `stop()`, and killed on exit if the benchmark dies first.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegionClient } from '../../src/cloud/region-client';
import type { Faults } from '../../src/cloud/port';
import { buildWorkflowBundle } from '../../src/workers/bundle';
import { WORKER_NODE_FLAGS, workerEnv } from '../../src/workers/tuning';
import {
  devServerConfigArgs,
  resolveTemporalCli,
  sqlitePragmaArgs,
  temporalAnswers,
} from '../../src/temporal/dev-server';
import { searchAttributeArgs } from '../../src/temporal/search-attributes';
import { freePort } from '../chaos/processes';
import { benchRegionConfig } from './inputs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
const BIN = join(ROOT, 'bin', 'converge.mjs');
export const NAMESPACE = 'default';

export interface Stack {
  dir: string;
  /** metricsUrl: the dev server's Prometheus endpoint (its request counters, see serverRequests). */
  temporal: { pid: number; address: string; metricsUrl: string };
  region: { pid: number; url: string; token: string; client: RegionClient };
  bundlePath: string;
  stop(): Promise<void>;
}

export interface BenchWorker {
  pid: number;
  taskQueue: string;
  /** Stops the worker (SIGTERM, drains) and waits for it to exit (and write its CPU profile). */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startStack(
  options: { keepDir?: boolean; say?: (line: string) => void } = {},
): Promise<Stack> {
  const say = options.say ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const bundling = buildWorkflowBundle().then(({ code }) => {
    const path = join(dir, 'workflow-bundle.js');
    writeFileSync(path, code);
    return path;
  });
  const temporalPort = await freePort();
  const temporalMetricsPort = await freePort();
  const temporalChild = spawnLogged(
    resolveTemporalCli(),
    // prettier-ignore
    [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(temporalPort),
      '--headless',
      '--metrics-port', String(temporalMetricsPort),
      ...(process.env.BENCH_TEMPORAL_MEMORY ? [] : ['--db-filename', join(dir, 'temporal.db'), ...sqlitePragmaArgs()]),
      ...(process.env.BENCH_TEMPORAL_ARGS?.split(' ').filter(Boolean) ?? []),
      ...devServerConfigArgs(),
      '--namespace', NAMESPACE,
      ...searchAttributeArgs(),
      '--log-level', 'warn',
    ],
    join(dir, 'temporal.log'),
    {},
  );
  const address = `127.0.0.1:${temporalPort}`;
  const token = `bench-${randomBytes(6).toString('hex')}`;
  const regionConfig = join(dir, 'region.yml');
  writeFileSync(regionConfig, JSON.stringify(benchRegionConfig)); // JSON is YAML
  const region = await startRegionProcess(dir, regionConfig, token);
  await waitFor('Temporal dev server', 60_000, () => temporalAnswers(address, NAMESPACE), temporalChild);
  const bundlePath = await bundling;
  say(
    `stack in ${dir}: temporal ${address} (pid ${temporalChild.pid ?? '?'}), region ${region.url} (pid ${region.pid})`,
  );

  let stopped = false;
  return {
    dir,
    temporal: {
      pid: temporalChild.pid ?? 0,
      address,
      metricsUrl: `http://127.0.0.1:${temporalMetricsPort}/metrics`,
    },
    region,
    bundlePath,
    async stop() {
      if (stopped) return;
      stopped = true;
      region.client.close();
      await Promise.all([terminate(region.child), terminate(temporalChild)]);
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function setFaults(stack: Stack, faults: Partial<Faults>): Promise<Faults> {
  return stack.region.client.setFaults(faults);
}

export interface WorkerOptions {
  taskQueue: string;
  /** Extra environment, e.g. CONVERGE_WORKER_MAX_ACTIVITIES. */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the worker into this directory when it exits. */
  cpuProfDir?: string;
  /** Node flags for the worker (e.g. --max-old-space-size). */
  nodeFlags?: string[];
}

/** A Converge worker (src/workers/worker.ts, the prebuilt bundle) as a child process. */
export async function startWorker(stack: Stack, options: WorkerOptions): Promise<BenchWorker> {
  // The flags `converge dev` starts its worker with, so the peak RSS is the one users get.
  const flags = [
    ...WORKER_NODE_FLAGS,
    ...(options.nodeFlags ?? []),
    ...(process.env.BENCH_WORKER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
  ];
  if (options.cpuProfDir) flags.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', WORKER_MAIN], {
    cwd: ROOT,
    env: {
      ...workerEnv(process.env),
      TEMPORAL_ADDRESS: stack.temporal.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_API_KEY: '',
      TEMPORAL_TLS: 'false',
      CONVERGE_TASK_QUEUE: options.taskQueue,
      CONVERGE_REGION_URL: stack.region.url,
      CONVERGE_REGION_TOKEN: stack.region.token,
      BENCH_WORKFLOW_BUNDLE: stack.bundlePath,
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  const log = openSync(join(stack.dir, `worker-${options.taskQueue}.log`), 'a');
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker not ready after 60 s:\n${output.slice(-2000)}`)),
      60_000,
    );
    const onData = (d: Buffer): void => {
      output += d.toString('utf8');
      if (output.length > 100_000) output = output.slice(-50_000);
      if (output.includes(WORKER_READY)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', (d: Buffer) => {
      onData(d);
      writeLog(log, d);
    });
    child.stderr?.on('data', (d: Buffer) => {
      onData(d);
      writeLog(log, d);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      reject(
        new Error(`worker exited (${signal ?? code ?? '?'}) before it was ready:\n${output.slice(-2000)}`),
      );
    });
  });
  await ready;
  return {
    pid: child.pid ?? 0,
    taskQueue: options.taskQueue,
    async stop() {
      await terminate(child, 30_000);
      closeSync(log);
    },
  };
}

/** Printed by worker-main.ts once the worker polls. */
export const WORKER_READY = 'bench worker ready';

// ---- /proc readings --------------------------------------------------------------------------

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64 and arm64

/** Peak resident set size (VmHWM) in MB since start or the last `resetPeakRss`. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] ? Number(m[1]) / 1024 : NaN;
}

/** Resets VmHWM to the current RSS (Linux: `echo 5 > /proc/<pid>/clear_refs`). */
export function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not permitted here: the peak then covers the worker's whole life, which is still an upper bound.
  }
}

/**
 * The dev server's frontend requests so far, by gRPC operation (`service_requests`). Differences between two readings count what no history records: heartbeats that reached
 * the server (RecordActivityTaskHeartbeat, …ById) and queries (QueryWorkflow), both billed as Actions.
 */
export async function serverRequests(stack: Stack): Promise<Map<string, number>> {
  const text = await (await fetch(stack.temporal.metricsUrl)).text();
  const byOperation = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^service_requests(?:_total)?\{([^}]*)\}\s+(\S+)/.exec(line);
    const operation = m?.[1] ? /(?:^|,)operation="([^"]+)"/.exec(m[1])?.[1] : undefined;
    // The frontend's count is the clients' and workers' calls; history and matching count them again.
    if (!m || !operation || !m[1]?.includes('service_name="frontend"')) continue;
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + Number(m[2]));
  }
  return byOperation;
}

// ---- processes -------------------------------------------------------------------------------

interface RegionProcess {
  pid: number;
  url: string;
  token: string;
  client: RegionClient;
  child: ChildProcess;
}

async function startRegionProcess(dir: string, config: string, token: string): Promise<RegionProcess> {
  // prettier-ignore
  const args = [
    ...(process.env.BENCH_REGION_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
    BIN, 'region', '--port', '0', '--db', join(dir, 'region.db'), '--config', config,
    '--build-ms', '0', '--delete-ms', '0', '--latency-ms', '0', '--exit-with-parent',
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, CONVERGE_REGION_TOKEN: token },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  const log = openSync(join(dir, 'region.log'), 'a');
  child.stderr?.on('data', (d: Buffer) => writeLog(log, d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('region did not start within 30 s')), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /region listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      live.delete(child);
      reject(
        new Error(`region exited (code ${code ?? '?'}) before it was ready; see ${join(dir, 'region.log')}`),
      );
    });
  });
  return {
    pid: child.pid ?? 0,
    url,
    token,
    client: new RegionClient({ url, token, timeoutMs: 60_000 }),
    child,
  };
}

function spawnLogged(
  file: string,
  args: string[],
  logPath: string,
  env: Record<string, string>,
): ChildProcess {
  const log = openSync(logPath, 'a');
  try {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    return child;
  } finally {
    closeSync(log);
  }
}

function writeLog(fd: number, d: Buffer): void {
  try {
    writeFileSync(fd, d);
  } catch {
    // the log is best effort
  }
}

async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  live.delete(child);
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  child: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode}) during start-up`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
