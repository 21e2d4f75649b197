// Worker capacity. Converge's load is a handful of long-lived workflows (one entity and one
// operation per deployment) driving many activities that mostly wait on the cloud (create-vm waits
// for ACTIVE, delete-server for 404), so the activity slots are wide and the workflow slots narrow.
import type { Env } from '../temporal/connection';
import { UserError } from '../domain/errors';

export interface WorkerTuning {
  /**
   * Concurrent activity executions. Activities are I/O-bound waits with heartbeats, so this is far
   * above the CPU count; the real bound on cloud load is the manifest's max_in_flight.
   */
  maxConcurrentActivityTaskExecutions: number;
  /**
   * Concurrent workflow tasks. Few workflows, each a short burst of CPU on 2 cores: more slots only
   * add contention. Temporal requires at least 2 when the sticky cache is on.
   */
  maxConcurrentWorkflowTaskExecutions: number;
  /**
   * Workflows kept in memory between tasks (sticky cache). Two per active deployment; a miss costs a
   * full history replay, so keep every active deployment cached.
   */
  maxCachedWorkflows: number;
  /**
   * Concurrent activity task polls. Temporal's default (10) let a 1,000-VM batch of creates wait
   * seconds in the task queue for a poll; polls are cheap long-polls.
   */
  maxConcurrentActivityTaskPolls: number;
  /**
   * Activities a workflow task may hand straight back to this worker (eager dispatch, when the
   * server allows it): the enactor schedules a batch of creates, then one step per unit at a time,
   * and each skips a trip through the task queue.
   */
  maxEagerActivityReservationsPerWorkflowTask: number;
}

// Measured with npm run bench (2 cores; see bench/README.md): hot_swap of 1,000 at build 2 s /
// delete 1 s went 26.3 → 23.7 s with 50 activity polls, and with 200 activity slots a batch of 500
// creates waited for slots (the enactor keeps up to 500 steps in flight).
export const DEFAULT_TUNING: WorkerTuning = {
  maxConcurrentActivityTaskExecutions: 1000,
  maxConcurrentWorkflowTaskExecutions: 10,
  maxCachedWorkflows: 200,
  maxConcurrentActivityTaskPolls: 50,
  maxEagerActivityReservationsPerWorkflowTask: 500,
};

/**
 * Node flags the embedded stack starts the worker with. V8 sizes a heap's growth from its limit
 * (about a quarter of the machine's memory by default) and collects lazily, so a 5,000-VM fresh
 * deploy left the worker at 770-900 MB RSS with under 200 MB live. The flags are process-wide, so
 * they also cap the workflow threads' heaps, which hold the operation's plan.
 * Measured (npm run bench, fresh deploy of 5,000): peak RSS 774-887 → 492 MB; worker CPU ~+30%
 * (more collections). A worker started by hand takes them through NODE_OPTIONS.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-old-space-size=384', '--max-semi-space-size=8'];

/**
 * Environment the embedded stack starts the worker with (a variable already set wins). glibc gives
 * each thread that allocates its own malloc arena, up to 8 per core; the worker's native threads
 * (Temporal's Rust core, libuv) left a 5,000-VM hot_swap at 650-666 MB RSS with under 100 MB in the
 * main JS heap, whatever the V8 limits. Two arenas: peak 650 → 510 MB, wall time unchanged (75-85 s);
 * later 501-548 MB. One arena: 465-483 MB, wall (71-73 s) and worker CPU (52-54 s) unchanged: the
 * native threads allocate little and rarely at once. (Fixing glibc's mmap threshold at 128 KB gave
 * 451 MB but cost 20 % more worker CPU.) glibc reads it at process start, so a worker started by
 * hand needs it in its environment.
 */
export const WORKER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** WORKER_ENV under the caller's environment: what the caller set explicitly is kept. */
export function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...WORKER_ENV, ...env };
}

export const TUNING_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  [
    'CONVERGE_WORKER_MAX_ACTIVITIES',
    `concurrent activities (default ${DEFAULT_TUNING.maxConcurrentActivityTaskExecutions})`,
  ],
  [
    'CONVERGE_WORKER_MAX_WORKFLOW_TASKS',
    `concurrent workflow tasks (default ${DEFAULT_TUNING.maxConcurrentWorkflowTaskExecutions})`,
  ],
  [
    'CONVERGE_WORKER_MAX_CACHED_WORKFLOWS',
    `sticky workflow cache size (default ${DEFAULT_TUNING.maxCachedWorkflows})`,
  ],
  [
    'CONVERGE_WORKER_ACTIVITY_POLLS',
    `concurrent activity task polls (default ${DEFAULT_TUNING.maxConcurrentActivityTaskPolls})`,
  ],
  [
    'CONVERGE_WORKER_EAGER_ACTIVITIES',
    `activities taken eagerly per workflow task (default ${DEFAULT_TUNING.maxEagerActivityReservationsPerWorkflowTask})`,
  ],
];

/** A bad tuning variable: a user error (exit 2). */
export class WorkerConfigError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'WorkerConfigError';
  }
}

export function tuningFromEnv(env: Env): WorkerTuning {
  return {
    maxConcurrentActivityTaskExecutions: positiveInt(
      env,
      'CONVERGE_WORKER_MAX_ACTIVITIES',
      DEFAULT_TUNING.maxConcurrentActivityTaskExecutions,
      1,
    ),
    maxConcurrentWorkflowTaskExecutions: positiveInt(
      env,
      'CONVERGE_WORKER_MAX_WORKFLOW_TASKS',
      DEFAULT_TUNING.maxConcurrentWorkflowTaskExecutions,
      2,
    ),
    maxCachedWorkflows: positiveInt(
      env,
      'CONVERGE_WORKER_MAX_CACHED_WORKFLOWS',
      DEFAULT_TUNING.maxCachedWorkflows,
      0,
    ),
    maxConcurrentActivityTaskPolls: positiveInt(
      env,
      'CONVERGE_WORKER_ACTIVITY_POLLS',
      DEFAULT_TUNING.maxConcurrentActivityTaskPolls,
      1,
    ),
    maxEagerActivityReservationsPerWorkflowTask: positiveInt(
      env,
      'CONVERGE_WORKER_EAGER_ACTIVITIES',
      DEFAULT_TUNING.maxEagerActivityReservationsPerWorkflowTask,
      0,
    ),
  };
}

/** Temporal refuses more activity polls than activity slots: a small slot count lowers the polls. */
export function withinSlots(t: WorkerTuning): WorkerTuning {
  return {
    ...t,
    maxConcurrentActivityTaskPolls: Math.min(
      t.maxConcurrentActivityTaskPolls,
      t.maxConcurrentActivityTaskExecutions,
    ),
  };
}

function positiveInt(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new WorkerConfigError(`${name}: expected an integer >= ${min}, got "${raw}"`);
  }
  return value;
}
