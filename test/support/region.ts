// Starts the REAL region process (`node bin/converge.mjs region`) on a free port with a fresh SQLite file,
// for API, activity and integration tests. Children die with the test process, even when a test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { RegionClient } from '../../src/cloud/region-client';
import type { Faults } from '../../src/cloud/port';
import type { RegionConfigInput } from '../../src/region/config';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'converge.mjs');
const READY = /^region listening on (http:\/\/127\.0\.0\.1:(\d+))$/m;
const START_TIMEOUT_MS = 30_000;

/** Fast lifecycle by default so tests take milliseconds, not seconds. */
export const TEST_FAULTS: Partial<Faults> = { build_ms: 20, delete_ms: 10 };

export interface StartRegionOptions {
  /** Fault flags at start (merged over TEST_FAULTS); reapplied on every restart. */
  faults?: Partial<Faults>;
  /** A region.yml as an object; the repository's examples/region.yml when absent. */
  config?: RegionConfigInput;
  token?: string;
  /** Reuse a database file (default: a new temp dir per region). */
  dbPath?: string;
}

export interface RestartOptions {
  /** SIGTERM = graceful stop; SIGKILL = crash. Default SIGTERM. */
  signal?: 'SIGTERM' | 'SIGKILL';
  /** Stay down at least this long before starting again (deadlines that fall due while down). */
  downMs?: number;
}

export interface RegionHandle {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly dbPath: string;
  /** A client bound to the current process (replaced when a restart had to change the port). */
  readonly client: RegionClient;
  /** Everything the region printed to stderr so far (for failure messages). */
  readonly stderr: string;
  stop(): Promise<void>;
  restart(options?: RestartOptions): Promise<void>;
}

/**
 * A region for the whole test file: started before its first test, stopped after its last. The
 * handle may be taken at module level; it reaches the started region once beforeAll has run.
 */
export function regionForFile(options: StartRegionOptions = {}): RegionHandle {
  let started: RegionHandle | undefined;
  beforeAll(async () => {
    started = await startRegion(options);
  });
  afterAll(async () => {
    await started?.stop();
  });
  const live = (): RegionHandle => {
    if (!started) throw new Error('the region starts in beforeAll; use it inside a test or hook');
    return started;
  };
  return {
    get url() {
      return live().url;
    },
    get port() {
      return live().port;
    },
    get token() {
      return live().token;
    },
    get dbPath() {
      return live().dbPath;
    },
    get client() {
      return live().client;
    },
    get stderr() {
      return live().stderr;
    },
    stop: () => live().stop(),
    restart: (o) => live().restart(o),
  };
}

/** The same handle under the name the integration harness uses. */
export type StartedRegion = RegionHandle;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort; --exit-with-parent covers the case where this process is SIGKILLed.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

const FLAG: Record<keyof Faults, string> = {
  latency_ms: '--latency-ms',
  build_ms: '--build-ms',
  delete_ms: '--delete-ms',
  error_rate: '--error-rate',
  error_build_rate: '--error-build-rate',
  stuck_build_rate: '--stuck-build-rate',
};

export async function startRegion(options: StartRegionOptions = {}): Promise<RegionHandle> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'converge-region-'));
  const dbPath = options.dbPath ?? join(dir, 'region.db');
  const token = options.token ?? `test-${randomBytes(8).toString('hex')}`;
  const args = ['region', '--db', dbPath, '--exit-with-parent'];
  if (options.config) {
    const configPath = join(dir, 'region.yml');
    writeFileSync(configPath, JSON.stringify(options.config)); // JSON is YAML
    args.push('--config', configPath);
  }
  const faults = { ...TEST_FAULTS, ...options.faults };
  for (const [key, value] of Object.entries(faults) as [keyof Faults, number | undefined][]) {
    if (value !== undefined) args.push(FLAG[key], String(value));
  }

  let proc = await spawnRegion(args, 0, token);
  let client = new RegionClient({ url: proc.url, token, timeoutMs: 10_000 });
  let stopped = false;

  const handle: RegionHandle = {
    get url() {
      return proc.url;
    },
    get port() {
      return proc.port;
    },
    token,
    dbPath,
    get client() {
      return client;
    },
    get stderr() {
      return proc.stderr();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.close();
      await proc.kill('SIGTERM');
      // The dir holds the config (and the db unless the caller placed it elsewhere).
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(restartOptions: RestartOptions = {}) {
      if (stopped) throw new Error('region was stopped; start a new one');
      const port = proc.port;
      await proc.kill(restartOptions.signal ?? 'SIGTERM');
      client.close();
      if (restartOptions.downMs) await new Promise((r) => setTimeout(r, restartOptions.downMs));
      proc = await spawnWithRetry(args, port, token);
      if (proc.port !== port) client = new RegionClient({ url: proc.url, token, timeoutMs: 10_000 });
    },
  };
  return handle;
}

interface RegionProcess {
  url: string;
  port: number;
  stderr(): string;
  kill(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/** Same port first (clients keep working); a port grabbed by someone else meanwhile falls back to a new one. */
async function spawnWithRetry(args: string[], port: number, token: string): Promise<RegionProcess> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await spawnRegion(args, port, token);
    } catch (err) {
      if (!(err instanceof PortInUse)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return spawnRegion(args, 0, token);
}

class PortInUse extends Error {}

function spawnRegion(args: string[], port: number, token: string): Promise<RegionProcess> {
  const child = spawn(process.execPath, [BIN, ...args, '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, CONVERGE_REGION_TOKEN: token },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));

  const kill = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<RegionProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill('SIGKILL');
      reject(new Error(`region did not start within ${START_TIMEOUT_MS} ms\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = READY.exec(stdout);
      if (!m?.[1] || !m[2]) return;
      clearTimeout(timer);
      resolve({ url: m[1], port: Number(m[2]), stderr: () => stderr, kill });
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (stderr.includes('already in use')) reject(new PortInUse(stderr));
      else reject(new Error(`region exited before it was ready (code ${child.exitCode})\n${stderr}`));
    });
  });
}
