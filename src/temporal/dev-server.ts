// What the embedded stack, the scripts and the integration tests share about the Temporal dev server:
// where the binary is, the flags it runs with, and health probes.
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto'; // CommonJS: named ESM imports fail at runtime under Node
import { packageRoot } from '../package-root';

/**
 * `--sqlite-pragma` pairs for a dev server with a database file. SQLite's defaults (rollback journal,
 * synchronous=FULL) fsync several times per transaction, and Temporal writes a few transactions per
 * activity, so the file, not the CPU, capped the embedded stack at ~20 activities/s. WAL with
 * synchronous=NORMAL survives a crash of the server process; only an OS crash or power loss may
 * lose the last transactions (never corrupt the file). Measured (npm run bench, 2 cores): fresh
 * deploy of 500 24.0 → 11.5 s, delete of 200 12.5 → 4.1 s, Temporal CPU about halved.
 */
export function sqlitePragmaArgs(): string[] {
  return ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];
}

/**
 * `--dynamic-config-value` pairs for the embedded dev server (`converge dev`, the benchmark):
 * - `system.enableActivityEagerExecution`: a worker that completes a workflow task gets the
 *   activities it just scheduled back in the answer, instead of each waiting in the task queue for a
 *   poll. That hop was ~40 ms per step, and a hot_swap unit is four steps in a row.
 * - `history.maximumBufferedEventsBatch` (default 100): when more events arrive while a workflow
 *   task runs, the server fails the task (FORCE_CLOSE_COMMAND) and the worker replays the whole
 *   history. A 5,000-instance operation completes hundreds of activities during one task, so at 100
 *   it fell into storms of failed tasks and replays.
 * Measured (npm run bench, 2 cores, shared): hot_swap of 200 at build 2 s / delete 1 s 19.0 → 15.5 s;
 * fresh deploy of 5,000 62 → 31-40 s with 12 → 0 failed workflow tasks.
 */
export function devServerConfigArgs(): string[] {
  return [
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    '--dynamic-config-value',
    'history.maximumBufferedEventsBatch=1000',
  ];
}

export const TEMPORAL_SCRIPT = join(packageRoot(), 'scripts', 'temporal.sh');

/**
 * The Temporal CLI's path, resolved by scripts/temporal.sh (one source of truth for the lookup
 * order). That script may build the CLI with `go install` on first use; its progress shows on stderr.
 */
export function resolveTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  let out: string;
  try {
    out = execFileSync('bash', [TEMPORAL_SCRIPT], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  } catch {
    throw new Error(
      'cannot find or install the Temporal CLI (see the messages above from scripts/temporal.sh)',
    );
  }
  const path = out.trim().split('\n').pop();
  if (path === undefined || path === '') throw new Error('scripts/temporal.sh printed no path');
  return path;
}

/** Runs `probe` on a short-lived connection; false when the server cannot be reached or `probe` throws. */
async function probeTemporal(address: string, probe: (c: Connection) => Promise<boolean>): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: '1s' });
    return await probe(connection);
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** The server at `address` answers and knows `namespace` (health check of the embedded stacks). */
export function temporalAnswers(address: string, namespace: string): Promise<boolean> {
  return probeTemporal(address, async (c) => {
    const described = await c.workflowService.describeNamespace({ namespace });
    return described.namespaceInfo?.name === namespace;
  });
}

/** A worker's identity as its polls carry it: the SDK's default `pid@host`. */
export const workerIdentity = (pid: number): string => `${pid}@${hostname()}`;

/** The worker process `pid` on this host polls `taskQueue` for workflow tasks (it is really serving). */
export function workerPolls(
  address: string,
  namespace: string,
  taskQueue: string,
  pid: number,
): Promise<boolean> {
  return probeTemporal(address, async (c) => {
    const { pollers } = await c.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return pollers.some((p) => p.identity === workerIdentity(pid));
  });
}
