// Child processes the chaos harness starts, crashes and restarts: each a `Service` with a log file, a
// readiness check and SIGKILL on demand. Every live child is killed when this process exits, so a
// failed or interrupted run leaves nothing behind (the harness also traps SIGINT/SIGTERM).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllChildren);
}

/** SIGKILLs every child still alive (synchronous: safe in an exit handler). */
export function killAllChildren(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export interface ServiceSpec {
  name: string;
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Appended to on every start; kept for the post-mortem. */
  logPath: string;
  /** Ready when this matches the output so far, or when `probe` answers true. */
  readyLine?: RegExp;
  probe?: () => Promise<boolean>;
  readyTimeoutMs: number;
}

export class Service {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  /** Starts so far (restarts included). */
  starts = 0;

  constructor(readonly spec: ServiceSpec) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines of this start's output, for failure messages. */
  tail(lines = 20): string {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.spec.name} is already running (pid ${this.pid ?? '?'})`);
    installExitHook();
    const { spec } = this;
    this.output = '';
    this.starts += 1;
    appendFileSync(
      spec.logPath,
      `\n=== ${new Date().toISOString()} start #${this.starts}: ${spec.args.join(' ')}\n`,
    );
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    const exit: { reason: string | null } = { reason: null };
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        exit.reason = signal !== null ? `killed by ${signal}` : `exit code ${code ?? '?'}`;
        appendFileSync(spec.logPath, `=== ${new Date().toISOString()} ${exit.reason}\n`);
        resolve();
      });
    });
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.output = (this.output + text).slice(-64_000);
      appendFileSync(spec.logPath, text);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);

    const deadline = Date.now() + spec.readyTimeoutMs;
    for (;;) {
      if (exit.reason !== null) {
        throw new Error(`${spec.name} stopped during start-up (${exit.reason}):\n${this.tail()}`);
      }
      if (spec.readyLine?.test(this.output)) return;
      if (spec.probe && (await spec.probe())) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${spec.name} not ready after ${spec.readyTimeoutMs} ms:\n${this.tail()}`);
      }
      await sleep(100);
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after 10 s if a softer signal is ignored). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A port free right now on 127.0.0.1 (the OS picks it; we release it for the child to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
