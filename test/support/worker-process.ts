// Converge workers as separate processes, so a test can SIGKILL one mid-flight: `converge worker`'s
// runWorker (scripts/chaos/worker-main.ts) on the suite's Temporal server, every worker of a test file
// loading the same prebuilt workflow bundle (a replacement replays what the killed one wrote).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Service } from '../../scripts/chaos/processes';
import { temporalEnv, testBundle } from './temporal';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_MAIN = join(ROOT, 'scripts', 'chaos', 'worker-main.ts');

export class WorkerProcesses {
  readonly started: Service[] = [];
  private readonly dir: string;
  private bundlePath: Promise<string> | null = null;

  constructor(
    private readonly name: string,
    private readonly taskQueue: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `converge-${name}-`));
  }

  /** Starts one more worker with `env` (its cloud, secrets) and waits until it polls. */
  async start(env: Record<string, string>): Promise<Service> {
    const n = this.started.length + 1;
    const worker = new Service({
      name: `${this.name}-worker-${n}`,
      file: process.execPath,
      args: ['--import', 'tsx', WORKER_MAIN],
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...temporalEnv(this.taskQueue),
        CHAOS_WORKFLOW_BUNDLE: await this.bundle(),
        ...env,
      },
      logPath: join(this.dir, `worker-${n}.log`),
      readyLine: /converge worker started/,
      stdinPipe: true,
      readyTimeoutMs: 120_000,
    });
    this.started.push(worker);
    await worker.start();
    return worker;
  }

  /** Stops every worker still running (SIGTERM: a graceful shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((w) => w.kill('SIGTERM')));
  }

  private bundle(): Promise<string> {
    this.bundlePath ??= testBundle().then((b) => {
      if ('codePath' in b) return b.codePath;
      const path = join(this.dir, 'workflows.js');
      writeFileSync(path, b.code);
      return path;
    });
    return this.bundlePath;
  }
}
