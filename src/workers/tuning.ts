// Worker capacity. Converge's load is a handful of long-lived workflows (one entity and one
// operation per deployment) driving many activities that mostly wait on the cloud (create-vm waits
// for ACTIVE, delete-server for 404), so the activity slots are wide and the workflow slots narrow.
import type { Env } from '../client/connection';
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
}

export const DEFAULT_TUNING: WorkerTuning = {
  maxConcurrentActivityTaskExecutions: 200,
  maxConcurrentWorkflowTaskExecutions: 10,
  maxCachedWorkflows: 200,
};

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
