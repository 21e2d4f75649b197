// The embedded stack behind `converge dev up|down|status`: the codec server, the Temporal dev server
// (its UI decoding through that codec server), the region and a worker, each a detached background process with its log and pid file under .converge/.
// `up` is idempotent (a healthy service is left alone), `down` drains then kills, and health is
// always asked of the service itself, never inferred from a pid file alone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import {
  devServerConfigArgs,
  resolveTemporalCli,
  sqlitePragmaArgs,
  temporalAnswers,
  workerIdentity,
  workerPolls,
} from '../temporal/dev-server';
import { currentBuild, pollerVersion, setCurrentVersion } from '../temporal/worker-deployments';
import type { WorkerBuild } from './worker-build';
import { searchAttributeArgs } from '../temporal/search-attributes';
import type { CloudKind } from '../domain/cloud-target';
import { UserError } from '../domain/errors';
import { DEV_EC2 } from './dev-ec2';
import { WORKER_NODE_FLAGS, workerEnv } from '../workers/tuning';
import { DEFAULT_NAMESPACE, taskQueueFromEnv, type Env } from '../temporal/connection';
import { packageRoot } from '../package-root';
import {
  DEV_KEY_FILE_NAME,
  KEY_FILE_VARIABLE,
  KEYS_VARIABLE,
  newPayloadKeyLine,
} from '../temporal/payload-keys';

export type ServiceName = 'codec' | 'temporal' | 'moto' | 'region' | 'worker';
/**
 * Every service `down` may find, in start order; moto only runs for `up --cloud ec2`. The codec
 * server comes first so the UI decodes from its first page.
 */
export const SERVICES: readonly ServiceName[] = ['codec', 'temporal', 'moto', 'region', 'worker'];

/**
 * The services of this stack: moto joins for `--cloud ec2`, and whenever one is running (a stack
 * brought up with --cloud ec2 is still that stack for `status` and a plain `up`).
 */
function servicesOf(c: DevStackConfig): ServiceName[] {
  const moto = c.cloud === 'ec2' || readPid(c, 'moto') !== null;
  return SERVICES.filter((s) => s !== 'moto' || moto);
}

export interface DevStackConfig {
  /** The package root: commands run here so relative paths (examples/, .converge/) resolve. */
  root: string;
  /** Logs, pid files and the two SQLite files. */
  dir: string;
  temporalPort: number;
  uiPort: number;
  /** The codec server the UI decodes payloads through (`converge codec-server`). */
  codecPort: number;
  regionPort: number;
  /** The worker's Prometheus metrics (CONVERGE_METRICS_ADDRESS=127.0.0.1:PORT). */
  metricsPort: number;
  /** moto's EC2 API, for `--cloud ec2`. */
  motoPort: number;
  /** What the worker computes on: the region (default) or EC2 on a local moto. */
  cloud: CloudKind;
  namespace: string;
  taskQueue: string;
  /** The worker deployment the stack's worker polls as (Worker Versioning; its build: the code's hash). */
  workerDeployment: string;
  env: Env;
}

export interface ServiceStatus {
  name: ServiceName;
  pid: number | null;
  port: number | null;
  running: boolean;
  healthy: boolean;
  log: string;
}

/** A failure to start or reach the stack; `exitCode` 2 marks bad settings (user error). */
export class DevStackError extends UserError {
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message, exitCode);
    this.name = 'DevStackError';
  }
}

const HEALTH_TIMEOUT_MS: Record<ServiceName, number> = {
  codec: 20_000,
  temporal: 60_000,
  moto: 60_000,
  region: 20_000,
  worker: 90_000,
};

/** `cloud` absent: what the stack was last brought up with (`dev up` keeps it), else the region. */
export function devStackConfig(env: Env = process.env, cloud?: CloudKind): DevStackConfig {
  const root = packageRoot();
  const dir = env.CONVERGE_DEV_DIR?.trim() || join(root, '.converge');
  return {
    root,
    dir,
    temporalPort: portFromEnv(env, 'CONVERGE_TEMPORAL_PORT', 7233),
    uiPort: portFromEnv(env, 'CONVERGE_UI_PORT', 8233),
    codecPort: portFromEnv(env, 'CONVERGE_CODEC_PORT', 7482),
    regionPort: portFromEnv(env, 'CONVERGE_REGION_PORT', 7480),
    metricsPort: portFromEnv(env, 'CONVERGE_METRICS_PORT', 9464),
    motoPort: portFromEnv(env, 'CONVERGE_MOTO_PORT', 7481),
    cloud: cloud ?? recordedCloud(dir),
    namespace: env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_NAMESPACE,
    taskQueue: taskQueueFromEnv(env),
    workerDeployment: env.CONVERGE_WORKER_DEPLOYMENT?.trim() || 'converge',
    env,
  };
}

export const temporalAddress = (c: DevStackConfig): string => `127.0.0.1:${c.temporalPort}`;
export const uiUrl = (c: DevStackConfig): string =>
  `http://127.0.0.1:${c.uiPort}/namespaces/${encodeURIComponent(c.namespace)}/workflows`;
export const regionUrl = (c: DevStackConfig): string => `http://127.0.0.1:${c.regionPort}`;
export const codecUrl = (c: DevStackConfig): string => `http://127.0.0.1:${c.codecPort}`;
/** The origins the UI is opened at, which the codec server's CORS allows. */
export const uiOrigins = (c: DevStackConfig): string[] => [
  `http://127.0.0.1:${c.uiPort}`,
  `http://localhost:${c.uiPort}`,
];
export const metricsUrl = (c: DevStackConfig): string => `http://127.0.0.1:${c.metricsPort}/metrics`;
export const motoUrl = (c: DevStackConfig): string => `http://127.0.0.1:${c.motoPort}`;
/** The example cloud config with the subnets `up --cloud ec2` made in moto. */
export const ec2CloudConfigPath = (c: DevStackConfig): string => join(c.dir, 'cloud-config-ec2.yml');

/** The local admin (the trust root the dev worker is given) and the user's identity with its grant. */
export const adminKeyPath = (c: DevStackConfig): string => join(c.dir, 'admin.json');
export const identityFilePath = (c: DevStackConfig): string => join(c.dir, 'identity.json');
/** The stack's payload key: its worker, its codec server and the CLI (payload-keys.ts) use it. */
export const payloadKeyPath = (c: DevStackConfig): string => join(c.dir, DEV_KEY_FILE_NAME);

/**
 * A local payload key, made once, so the demo runs with payloads encrypted (and the UI decoding
 * them) and no extra step. A stack already running without it stays as it is: its worker could not
 * read what a CLI with the new key sends.
 */
async function ensurePayloadKey(c: DevStackConfig, say: (line: string) => void): Promise<void> {
  const path = payloadKeyPath(c);
  if (existsSync(path)) return;
  for (const name of ['temporal', 'worker'] as const) {
    if ((await serviceStatus(c, name)).running) {
      throw new DevStackError(
        `${name} is running without payload encryption (started by an older converge); stop the stack with \`converge dev down\` and run \`converge dev up\` again`,
      );
    }
  }
  writeFileSync(
    path,
    [
      "# Written by `converge dev up`: the dev stack's payload key (id:base64), newest last.",
      newPayloadKeyLine('dev-1'),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  say(`payloads: encrypted with a local key ${path}; the UI decodes them through the codec server`);
}

/**
 * A local admin key and an identity for this user holding CLOUD_ADMIN on every pool, made once with
 * the CLI's own commands, so the demo runs with permissions on and no extra step. The worker trusts
 * the admin key; the CLI finds the identity in this directory (src/client/identity.ts).
 */
async function ensureLocalAdmin(c: DevStackConfig, say: (line: string) => void): Promise<void> {
  const admin = adminKeyPath(c);
  const identity = identityFilePath(c);
  if (existsSync(admin) && existsSync(identity)) return;
  const principal = c.env.USER?.trim() || 'dev';
  const steps = [
    ...(existsSync(admin) ? [] : [['auth', 'keygen', 'admin', '--out', admin, '--force']]),
    ['auth', 'keygen', principal, '--out', identity, '--force'],
    ['grant', principal, 'CLOUD_ADMIN', '*', '--admin-key', admin, '--to', identity],
  ];
  for (const args of steps) await runConverge(c, args);
  say(`permissions: on; local admin ${admin}; ${principal} holds CLOUD_ADMIN on every pool (${identity})`);
}

function runConverge(c: DevStackConfig, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(c.root, 'bin', 'converge.mjs'), ...args], {
      cwd: c.root,
      env: c.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new DevStackError(`converge ${args.slice(0, 2).join(' ')} failed: ${stderr.trim()}`)),
    );
  });
}

/** Starts whatever is not already running and healthy, in dependency order. */
export async function devUp(c: DevStackConfig, say: (line: string) => void): Promise<ServiceStatus[]> {
  mkdirSync(c.dir, { recursive: true });
  const worker = await serviceStatus(c, 'worker');
  const runningOn = recordedCloud(c.dir);
  if (worker.running && runningOn !== c.cloud) {
    throw new DevStackError(
      `the stack's worker computes on ${runningOn}; stop it with \`converge dev down\` to bring it up with --cloud ${c.cloud}`,
    );
  }
  writeFileSync(cloudPath(c), `${c.cloud}\n`);
  await ensureLocalAdmin(c, say);
  await ensurePayloadKey(c, say);
  for (const name of servicesOf(c)) {
    const current = await serviceStatus(c, name);
    if (current.running && current.healthy) {
      say(`${name}: already running (pid ${current.pid ?? '?'})`);
      if (name === 'worker' && current.pid !== null) await makeWorkerCurrent(c, current.pid, say);
      continue;
    }
    if (current.running && current.pid !== null) {
      // Alive but not answering: maybe still starting from a previous `up`; give it its time.
      say(`${name}: pid ${current.pid} is running but not healthy yet; waiting`);
      await waitHealthy(c, name, current.pid, null);
      say(`${name}: healthy`);
      if (name === 'worker') await makeWorkerCurrent(c, current.pid, say);
      continue;
    }
    removePidFile(c, name);
    const port = servicePort(c, name);
    if (port !== null && (await portInUse(port))) {
      throw new DevStackError(
        `${name}: 127.0.0.1:${port} is in use by a process converge dev did not start; stop it or set ${portVariable(name)}`,
      );
    }
    if (name === 'worker' && (await portInUse(c.metricsPort))) {
      throw new DevStackError(
        `worker: metrics port 127.0.0.1:${c.metricsPort} is in use; stop it or set CONVERGE_METRICS_PORT`,
      );
    }
    if (name === 'temporal' && (await portInUse(c.uiPort))) {
      throw new DevStackError(
        `temporal: UI port 127.0.0.1:${c.uiPort} is in use; stop it or set CONVERGE_UI_PORT`,
      );
    }
    const child = start(c, name);
    say(`${name}: started pid ${child.pid ?? '?'}, log ${logPath(c, name)}`);
    await waitHealthy(c, name, child.pid ?? null, child);
    say(`${name}: healthy${port !== null ? ` on 127.0.0.1:${port}` : ''}`);
    if (name === 'worker' && child.pid !== undefined) await makeWorkerCurrent(c, child.pid, say);
    if (name === 'moto') {
      // Before the worker starts: its start-up check and the examples need the subnets and AMIs.
      const { seedMoto } = await import('./moto-seed');
      say(
        `moto: seeded (VPC, subnets, stemcell AMIs); cloud config ${await seedMoto(motoUrl(c), c.root, c.dir)}`,
      );
    }
  }
  return devStatus(c);
}

/**
 * Makes the build the stack's worker polls as current in its worker deployment, so new operations run
 * on it. An operation begun on the build before stays pinned to that build and waits for a worker of
 * it (CONTRIBUTING.md, "Shipping a workflow change").
 */
async function makeWorkerCurrent(c: DevStackConfig, pid: number, say: (line: string) => void): Promise<void> {
  const connection = await Connection.connect({ address: temporalAddress(c), connectTimeout: '5s' });
  try {
    const version = await pollerVersion(connection, c.namespace, c.taskQueue, workerIdentity(pid));
    if (version === null) {
      say(
        'worker: polls unversioned (started by an older converge); run `converge dev down`, then `converge dev up`',
      );
      return;
    }
    const previous = await setCurrentVersion(connection, c.namespace, version);
    say(
      `worker: build ${version.buildId} of worker deployment ${version.deploymentName} is current` +
        (previous === null ? '' : ` (was ${previous}: operations begun on it finish only on a worker of it)`),
    );
  } catch (err) {
    throw new DevStackError(`worker: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await connection.close();
  }
}

/**
 * The stack's worker deployment as the Temporal server has it: its current build and the build the
 * running worker polls as. Null when the server does not answer (the table says it is not healthy).
 */
export async function workerBuild(c: DevStackConfig): Promise<WorkerBuild | null> {
  const connection = await Connection.connect({ address: temporalAddress(c), connectTimeout: '5s' }).catch(
    () => null,
  );
  if (connection === null) return null;
  try {
    const pid = readPid(c, 'worker');
    const running = pid !== null && isOurProcess(pid, 'worker');
    const [current, polled] = await Promise.all([
      currentBuild(connection, c.namespace, c.workerDeployment),
      running ? pollerVersion(connection, c.namespace, c.taskQueue, workerIdentity(pid)) : null,
    ]);
    const own = polled !== null && polled.deploymentName === c.workerDeployment ? polled.buildId : null;
    return { deployment: c.workerDeployment, current, polled: own };
  } catch {
    return null;
  } finally {
    await connection.close();
  }
}

/** Stops the worker, the region, then Temporal: SIGTERM, then SIGKILL after a grace period. */
export async function devDown(c: DevStackConfig, say: (line: string) => void): Promise<void> {
  for (const name of [...SERVICES].reverse()) {
    const pid = readPid(c, name);
    if (name === 'moto' && pid === null) continue; // a region stack: nothing to say
    if (pid === null || !isOurProcess(pid, name)) {
      say(`${name}: not running`);
      removePidFile(c, name);
      continue;
    }
    const how = await stopProcess(pid);
    removePidFile(c, name);
    say(`${name}: stopped pid ${pid}${how === 'killed' ? ' (SIGKILL after 10 s)' : ''}`);
  }
}

export async function devStatus(c: DevStackConfig): Promise<ServiceStatus[]> {
  return Promise.all(servicesOf(c).map((name) => serviceStatus(c, name)));
}

async function serviceStatus(c: DevStackConfig, name: ServiceName): Promise<ServiceStatus> {
  const pid = readPid(c, name);
  const running = pid !== null && isOurProcess(pid, name);
  const healthy = running && (await isHealthy(c, name, pid));
  return {
    name,
    pid: running ? pid : null,
    port: servicePort(c, name),
    running,
    healthy,
    log: logPath(c, name),
  };
}

// ---- what each service is --------------------------------------------------------------------

function command(
  c: DevStackConfig,
  name: ServiceName,
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const converge = join(c.root, 'bin', 'converge.mjs');
  const base: NodeJS.ProcessEnv = { ...c.env };
  switch (name) {
    case 'codec':
      return {
        file: process.execPath,
        // prettier-ignore
        args: [
          converge, 'codec-server',
          '--port', String(c.codecPort),
          ...uiOrigins(c).flatMap((origin) => ['--ui-origin', origin]),
        ],
        env: withStackPayloadKey(c, base),
      };
    case 'temporal':
      return {
        file: resolveTemporalCli(c.env),
        // prettier-ignore
        args: [
          'server', 'start-dev',
          '--ip', '127.0.0.1',
          '--port', String(c.temporalPort),
          '--ui-port', String(c.uiPort),
          '--ui-codec-endpoint', codecUrl(c),
          '--db-filename', join(c.dir, 'temporal.db'),
          ...sqlitePragmaArgs(),
          ...devServerConfigArgs(),
          '--namespace', c.namespace,
          ...searchAttributeArgs(),
          '--log-level', 'warn',
        ],
        env: base,
      };
    case 'moto':
      return {
        file: motoServerPath(c.root),
        args: ['-H', '127.0.0.1', '-p', String(c.motoPort)],
        env: base,
      };
    case 'region':
      return {
        file: process.execPath,
        // prettier-ignore
        args: [
          converge, 'region',
          '--port', String(c.regionPort),
          '--db', join(c.dir, 'region.db'),
          '--config', join(c.root, 'examples', 'region.yml'),
        ],
        env: base,
      };
    case 'worker':
      // The worker talks to this stack, whatever TEMPORAL_* variables, temporal.toml profile or region
      // settings the shell carries: its only Temporal settings are the stack's own profile file.
      return {
        file: process.execPath,
        args: [...WORKER_NODE_FLAGS, converge, 'worker'],
        env: {
          ...withoutTemporalSettings(withStackPayloadKey(c, workerEnv(base))),
          TEMPORAL_CONFIG_FILE: writeProfile(c),
          CONVERGE_TASK_QUEUE: c.taskQueue,
          CONVERGE_REGION_URL: regionUrl(c),
          CONVERGE_METRICS_ADDRESS: `127.0.0.1:${c.metricsPort}`,
          // The trust root: grants must be signed by the stack's local admin (ensureLocalAdmin).
          CONVERGE_ADMIN_PUBLIC_KEY_FILE: adminKeyPath(c),
          // Versioned, its build id the hash of its code: `up` makes that build current.
          CONVERGE_WORKER_DEPLOYMENT: c.workerDeployment,
          CONVERGE_BUILD_ID: '',
          ...cloudEnv(c),
        },
      };
  }
}

/**
 * What the worker computes on. Set either way, so a CONVERGE_CLOUD or AWS_* in the shell never points
 * the dev stack's worker elsewhere: for EC2 it is this stack's moto, with credentials moto accepts.
 */
function cloudEnv(c: DevStackConfig): NodeJS.ProcessEnv {
  if (c.cloud === 'region') return { CONVERGE_CLOUD: 'region' };
  return {
    CONVERGE_CLOUD: 'ec2',
    CONVERGE_EC2_ENDPOINT: motoUrl(c),
    AWS_REGION: DEV_EC2.region,
    AWS_ACCESS_KEY_ID: DEV_EC2.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEV_EC2.secretAccessKey,
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
  };
}

/** moto_server from scripts/moto.sh, which installs it into the per-user cache the first time. */
function motoServerPath(root: string): string {
  try {
    return execFileSync('bash', [join(root, 'scripts', 'moto.sh')], { encoding: 'utf8' }).trim();
  } catch (err) {
    throw new DevStackError(
      `moto: scripts/moto.sh could not install or find moto_server (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    );
  }
}

/** The stack as a Temporal config profile, for its worker and for `temporal --config-file`. */
export const profilePath = (c: DevStackConfig): string => join(c.dir, 'temporal.toml');

function writeProfile(c: DevStackConfig): string {
  const path = profilePath(c);
  writeFileSync(
    path,
    [
      '# Written by `converge dev up`: the embedded stack as a Temporal profile.',
      '[profile.default]',
      `address = ${JSON.stringify(temporalAddress(c))}`,
      `namespace = ${JSON.stringify(c.namespace)}`,
      '',
    ].join('\n'),
  );
  return path;
}

/** The stack's key file and no other key: a shell's production keys never reach the dev stack. */
function withStackPayloadKey(c: DevStackConfig, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { [KEYS_VARIABLE]: _keys, ...rest } = env;
  return { ...rest, [KEY_FILE_VARIABLE]: payloadKeyPath(c) };
}

/** The environment without any variable that would override the stack's profile. */
function withoutTemporalSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => !name.startsWith('TEMPORAL_') || name === 'TEMPORAL_CLI'),
  );
}

async function isHealthy(c: DevStackConfig, name: ServiceName, pid: number): Promise<boolean> {
  switch (name) {
    case 'codec':
      return codecAnswers(c);
    case 'temporal':
      return temporalAnswers(temporalAddress(c), c.namespace);
    case 'region':
      return regionAnswers(c);
    case 'moto':
      return answers(`${motoUrl(c)}/moto-api/`);
    case 'worker':
      // Pollers stay listed for a while after a worker dies, so only a poller whose identity carries
      // this pid counts (the SDK's default `pid@host`).
      return workerPolls(temporalAddress(c), c.namespace, c.taskQueue, pid);
  }
}

/** An empty /decode runs the whole codec path (keys loaded, request parsed) without a payload. */
async function codecAnswers(c: DevStackConfig): Promise<boolean> {
  try {
    const res = await fetch(`${codecUrl(c)}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"payloads":[]}',
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

function regionAnswers(c: DevStackConfig): Promise<boolean> {
  return answers(`${regionUrl(c)}/healthz`);
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

// ---- processes -------------------------------------------------------------------------------

function start(c: DevStackConfig, name: ServiceName): ChildProcess {
  const { file, args, env } = command(c, name);
  const log = openSync(logPath(c, name), 'a');
  writeSync(log, `\n=== ${new Date().toISOString()} converge dev up: ${[file, ...args].join(' ')}\n`);
  try {
    // Detached: its own process group, so it outlives this command and `down` can signal the group.
    const child = spawn(file, args, { cwd: c.root, env, detached: true, stdio: ['ignore', log, log] });
    if (child.pid === undefined) throw new DevStackError(`${name}: could not start ${file}`);
    writeFileSync(pidPath(c, name), `${child.pid}\n`);
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

async function waitHealthy(
  c: DevStackConfig,
  name: ServiceName,
  pid: number | null,
  child: ChildProcess | null,
): Promise<void> {
  let exited: string | null = null;
  child?.once('exit', (code, signal) => {
    exited = signal !== null ? `killed by ${signal}` : `exit code ${code ?? '?'}`;
  });
  const deadline = Date.now() + HEALTH_TIMEOUT_MS[name];
  for (;;) {
    if (exited !== null || (pid !== null && !isAlive(pid))) {
      removePidFile(c, name);
      throw new DevStackError(
        `${name} stopped during start-up (${exited ?? 'exited'}); last lines of ${logPath(c, name)}:\n${tail(logPath(c, name))}`,
      );
    }
    if (pid !== null && (await isHealthy(c, name, pid))) return;
    if (Date.now() > deadline) {
      throw new DevStackError(
        `${name} not healthy after ${HEALTH_TIMEOUT_MS[name] / 1000} s; last lines of ${logPath(c, name)}:\n${tail(logPath(c, name))}`,
      );
    }
    await sleep(250);
  }
}

async function stopProcess(pid: number): Promise<'stopped' | 'killed'> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  signalGroup(pid, 'SIGKILL');
  return 'killed';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the group: anything the service spawned goes too
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped) still answers kill 0.
  const stat = readProc(pid, 'stat');
  return stat === null || !/^\d+ \(.*\) Z/.test(stat);
}

// A pid file can outlive its process and the pid be reused: on Linux, check the command line too.
function isOurProcess(pid: number, name: ServiceName): boolean {
  if (!isAlive(pid)) return false;
  const cmdline = readProc(pid, 'cmdline');
  if (cmdline === null) return true;
  const argv = cmdline.split('\0');
  if (name === 'temporal') return argv.includes('start-dev');
  if (name === 'moto') return argv.some((a) => a.endsWith('moto_server'));
  const subcommand = name === 'codec' ? 'codec-server' : name;
  return argv.some((a) => a.endsWith('converge.mjs')) && argv.includes(subcommand);
}

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

// ---- files -----------------------------------------------------------------------------------

const pidPath = (c: DevStackConfig, name: ServiceName): string => join(c.dir, `${name}.pid`);
/** What the stack's worker was last brought up to compute on. */
const cloudPath = (c: Pick<DevStackConfig, 'dir'>): string => join(c.dir, 'cloud');

function recordedCloud(dir: string): CloudKind {
  try {
    return readFileSync(cloudPath({ dir }), 'utf8').trim() === 'ec2' ? 'ec2' : 'region';
  } catch {
    return 'region';
  }
}
export const logPath = (c: DevStackConfig, name: ServiceName): string => join(c.dir, `${name}.log`);

function readPid(c: DevStackConfig, name: ServiceName): number | null {
  try {
    const pid = Number(readFileSync(pidPath(c, name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function removePidFile(c: DevStackConfig, name: ServiceName): void {
  rmSync(pidPath(c, name), { force: true });
}

function tail(path: string, lines = 15): string {
  if (!existsSync(path) || statSync(path).size === 0) return '  (empty)';
  return readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `  ${l}`)
    .join('\n');
}

function servicePort(c: DevStackConfig, name: ServiceName): number | null {
  const ports: Record<ServiceName, number | null> = {
    codec: c.codecPort,
    temporal: c.temporalPort,
    moto: c.motoPort,
    region: c.regionPort,
    worker: null,
  };
  return ports[name];
}

function portVariable(name: ServiceName): string {
  const variables: Record<ServiceName, string> = {
    codec: 'CONVERGE_CODEC_PORT',
    temporal: 'CONVERGE_TEMPORAL_PORT',
    moto: 'CONVERGE_MOTO_PORT',
    region: 'CONVERGE_REGION_PORT',
    worker: 'CONVERGE_METRICS_PORT',
  };
  return variables[name];
}

function portFromEnv(env: Env, variable: string, fallback: number): number {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DevStackError(`${variable}: expected a port 1-65535, got "${raw}"`, 2);
  }
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
