// The embedded stack the chaos harness breaks: the real Temporal CLI dev server (SQLite file), the real
// region process (SQLite file) and real worker processes (`converge worker`'s runWorker, with the
// workflow code bundled once per run: see worker-main.ts), on free ports under one temp dir.
// Each can be SIGKILLed and restarted on the same database file and port. The harness talks to it
// through the CLI's own client path (connectClient + Deployments) and a RegionClient.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployments } from '../../src/client/deployments';
import { connectClient, type ConnectedClient } from '../../src/temporal/connection';
import { RegionClient } from '../../src/cloud/region-client';
import type { Faults } from '../../src/cloud/port';
import { buildWorkflowBundle } from '../../src/workers/bundle';
import {
  resolveTemporalCli,
  sqlitePragmaArgs,
  temporalAnswers,
  workerPolls,
} from '../../src/temporal/dev-server';
import { searchAttributeArgs } from '../../src/temporal/search-attributes';
import { freePort, Service, sleep } from './processes';
import { REGION_CONFIG } from './workload';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONVERGE = join(ROOT, 'bin', 'converge.mjs');
const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
const NAMESPACE = 'default';
const TOKEN = 'chaos-token';

export interface StackOptions {
  dir: string;
  /** Region lifecycle: modest, so runs are quick but builds and deletes are still asynchronous. */
  faults: Pick<Faults, 'build_ms' | 'delete_ms'>;
  /** Handed to new deployment entities: stuck builds must be given up on quickly. */
  buildDeadlineMs: number;
  /** The workflow bundle every worker of the run loads (one build shared by all lanes). */
  bundle: Promise<string>;
  say: (line: string) => void;
}

/** Bundles src/workflows once into `path` (see worker-main.ts for why workers share one bundle). */
export async function writeWorkflowBundle(path: string): Promise<string> {
  const { code } = await buildWorkflowBundle();
  writeFileSync(path, code);
  return path;
}

export class ChaosStack {
  readonly taskQueue = 'chaos';
  readonly workers: Service[] = [];
  private connected: ConnectedClient | null = null;
  private deploymentsApi: Deployments | null = null;

  private constructor(
    readonly options: StackOptions,
    readonly temporal: Service,
    readonly region: Service,
    readonly temporalAddress: string,
    readonly regionUrl: string,
    readonly cloud: RegionClient,
  ) {}

  static async start(options: StackOptions): Promise<ChaosStack> {
    const { dir } = options;
    mkdirSync(dir, { recursive: true });
    const [temporalPort, regionPort] = [await freePort(), await freePort()];
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const regionUrl = `http://127.0.0.1:${regionPort}`;
    const regionConfig = join(dir, 'region.json');
    writeFileSync(regionConfig, JSON.stringify(REGION_CONFIG)); // JSON is YAML

    const temporal = new Service({
      name: 'temporal',
      file: resolveTemporalCli(),
      // prettier-ignore
      args: [
        'server', 'start-dev',
        '--ip', '127.0.0.1',
        '--port', String(temporalPort),
        '--headless',
        '--db-filename', join(dir, 'temporal.db'),
        ...sqlitePragmaArgs(), // the dev stack's settings: the crash test is about them
        '--namespace', NAMESPACE,
        ...searchAttributeArgs(),
        '--log-level', 'warn',
      ],
      cwd: dir,
      env: process.env,
      logPath: join(dir, 'temporal.log'),
      tether: true,
      probe: () => temporalAnswers(temporalAddress, NAMESPACE),
      readyTimeoutMs: 60_000,
    });
    const region = new Service({
      name: 'region',
      file: process.execPath,
      // prettier-ignore
      args: [
        CONVERGE, 'region',
        '--port', String(regionPort),
        '--db', join(dir, 'region.db'),
        '--config', regionConfig,
        '--token', TOKEN,
        '--build-ms', String(options.faults.build_ms),
        '--delete-ms', String(options.faults.delete_ms),
        '--exit-with-parent',
      ],
      stdinPipe: true,
      cwd: ROOT,
      env: process.env,
      logPath: join(dir, 'region.log'),
      readyLine: /^region listening on /m,
      readyTimeoutMs: 30_000,
    });
    const cloud = new RegionClient({ url: regionUrl, token: TOKEN, timeoutMs: 10_000 });
    const stack = new ChaosStack(options, temporal, region, temporalAddress, regionUrl, cloud);
    await Promise.all([temporal.start(), region.start()]);
    return stack;
  }

  /** The CLI's client path; one connection for the whole run (it must survive server restarts). */
  async deployments(): Promise<Deployments> {
    if (!this.deploymentsApi) {
      this.connected = await connectClient({
        TEMPORAL_ADDRESS: this.temporalAddress,
        TEMPORAL_NAMESPACE: NAMESPACE,
      });
      this.deploymentsApi = new Deployments(this.connected.client, {
        taskQueue: this.taskQueue,
        limits: { buildDeadlineMs: this.options.buildDeadlineMs },
      });
    }
    return this.deploymentsApi;
  }

  /**
   * Runs `fn`'s Temporal calls under `signal`: aborting cancels them, so a wait given up on (its
   * deadline passed) stops polling instead of retrying into the connection once it is closed.
   */
  abortable<R>(signal: AbortSignal, fn: () => Promise<R>): Promise<R> {
    return this.connected ? this.connected.client.withAbortSignal(signal, fn) : fn();
  }

  /** Starts `count` more workers, in parallel. */
  async addWorkers(count: number): Promise<void> {
    const bundle = await this.options.bundle;
    const added = Array.from({ length: count }, () => this.newWorker(bundle));
    await Promise.all(added.map((w) => w.start()));
  }

  private newWorker(bundle: string): Service {
    const n = this.workers.length + 1;
    const worker = new Service({
      name: `worker-${n}`,
      file: process.execPath,
      args: ['--import', 'tsx', WORKER_MAIN],
      cwd: ROOT,
      env: {
        ...process.env,
        CHAOS_WORKFLOW_BUNDLE: bundle,
        TEMPORAL_ADDRESS: this.temporalAddress,
        TEMPORAL_NAMESPACE: NAMESPACE,
        TEMPORAL_API_KEY: '',
        TEMPORAL_TLS: 'false',
        CONVERGE_TASK_QUEUE: this.taskQueue,
        CONVERGE_REGION_URL: this.regionUrl,
        CONVERGE_REGION_TOKEN: TOKEN,
        CONVERGE_DEFAULT_VM_STRATEGY: '',
      },
      logPath: join(this.options.dir, `worker-${n}.log`),
      readyLine: /converge worker started/,
      stdinPipe: true,
      readyTimeoutMs: 120_000,
    });
    this.workers.push(worker);
    return worker;
  }

  /** Whether Temporal lists this worker process as a poller of the workflow task queue. */
  async workerPolls(worker: Service): Promise<boolean> {
    const pid = worker.pid;
    if (pid === null || !worker.running) return false;
    return workerPolls(this.temporalAddress, NAMESPACE, this.taskQueue, pid);
  }

  /** Sets region faults, retrying while the region is restarting. */
  async setFaults(faults: Partial<Faults>): Promise<void> {
    await retryFor(15_000, () => this.cloud.setFaults(faults));
  }

  /** Stops everything: workers first (SIGTERM drains), then the region and Temporal. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.kill('SIGTERM')));
    this.cloud.close();
    await this.connected?.connection.close().catch(() => undefined);
    await Promise.all([this.region.kill('SIGTERM'), this.temporal.kill('SIGTERM')]);
  }
}

/** Calls `fn` until it succeeds or `ms` pass (then its last error is thrown). */
export async function retryFor<T>(
  ms: number,
  fn: () => Promise<T>,
  retryable: (err: unknown) => boolean = () => true,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline || !retryable(err)) throw err;
      await sleep(250);
    }
  }
}
