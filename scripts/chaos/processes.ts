// Child processes the chaos harness starts, crashes and restarts: each a `Service` with a log file, a
// readiness check and SIGKILL on demand. Every live child is killed when this process exits, so a
// failed or interrupted run leaves nothing behind (the harness also traps SIGINT/SIGTERM).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Live children, and whether each leads its own process group (tethered). */
const live = new Map<ChildProcess, boolean>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllChildren);
}

/** SIGKILLs every child still alive (synchronous: safe in an exit handler). */
export function killAllChildren(): void {
  for (const [child, group] of live) {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
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
  /**
   * Give the child a stdin pipe that this process holds open: a child that exits when its stdin closes
   * (the region's --exit-with-parent, worker-main.ts) then dies with the harness even on SIGKILL.
   */
  stdinPipe?: boolean;
  /**
   * For a child that cannot watch its stdin (the Temporal CLI): run it under a bash tether in its own
   * process group. The tether SIGKILLs it when our pipe closes; `kill` signals the whole group.
   */
  tether?: boolean;
}

// bash puts background jobs' stdin on /dev/null, hence fd 3 for the watcher.
const TETHER = [
  'exec 3<&0',
  '"$@" </dev/null & child=$!',
  '{ cat >/dev/null; kill -9 "$child" 2>/dev/null; } <&3 & watcher=$!',
  'wait "$child"; status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

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
    const [file, args] = spec.tether
      ? ['bash', ['-c', TETHER, 'tether', spec.file, ...spec.args]]
      : [spec.file, spec.args];
    const child = spawn(file, args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: [spec.stdinPipe || spec.tether ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: spec.tether === true,
    });
    this.child = child;
    live.set(child, spec.tether === true);
    const exit: { reason: string | null } = { reason: null };
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        exit.reason = signal !== null ? `killed by ${signal}` : `exit code ${code ?? '?'}`;
        appendLog(spec.logPath, `=== ${new Date().toISOString()} ${exit.reason}\n`);
        resolve();
      });
    });
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.output = (this.output + text).slice(-64_000);
      appendLog(spec.logPath, text);
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
    const pid = child?.pid;
    if (!child || pid === undefined || !this.running) return;
    const send = (sig: NodeJS.Signals): void => {
      try {
        if (this.spec.tether) process.kill(-pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    };
    send(signal);
    const timer = setTimeout(() => send('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    // The tether may be reaped before its child: wait until the group is empty (port and files free).
    for (let i = 0; this.spec.tether && i < 100 && groupAlive(pid); i++) await sleep(50);
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Logs are for the post-mortem: failing to write one (dir removed meanwhile) must not crash the run. */
function appendLog(path: string, text: string): void {
  try {
    appendFileSync(path, text);
  } catch {
    // the output is still kept in memory for failure messages
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
