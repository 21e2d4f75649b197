// Tunables for the activities. Defaults suit a real cloud; tests pass short intervals.

export interface ActivityOptions {
  /** How often a wait polls the cloud. */
  pollMs: number;
  /** How long a wait's look waits for other looks to join one lookup call (ServerLookups). */
  lookupWindowMs: number;
  /**
   * How often, at most, a waiting activity heartbeats, and how long into an attempt the first one
   * goes: a step that ends sooner sends none. Must stay well inside the workflows' heartbeat timeout
   * (20 s). 0 sends one before every wait (the activity tests use it to see what a retry resumes from).
   */
  heartbeatEveryMs: number;
  /** A server still in BUILD this long after its creation is deleted and built again. */
  buildDeadlineMs: number;
  /** A server still present this long after its deletion was requested fails the attempt (retryable). */
  deleteDeadlineMs: number;
  /** A start/stop/reboot whose effect does not show within this long fails the attempt (retryable). */
  actionDeadlineMs: number;
  /** Servers one createVm execution may build before it fails retryably (the next retry gets a new budget). */
  maxBuildAttempts: number;
  /** Times a region call answered 429/502/503/504 is repeated in place (100, 200, 400 ms…) before the attempt fails. */
  transientRetries: number;
}

/** Deadlines sit inside the workflow's start-to-close timeouts (src/workflows/activities.ts). */
export const DEFAULT_ACTIVITY_OPTIONS: ActivityOptions = {
  pollMs: 1_000,
  lookupWindowMs: 5,
  heartbeatEveryMs: 5_000,
  buildDeadlineMs: 5 * 60_000,
  deleteDeadlineMs: 5 * 60_000,
  actionDeadlineMs: 90_000,
  maxBuildAttempts: 5,
  transientRetries: 3,
};

export function resolveOptions(options: Partial<ActivityOptions> = {}): ActivityOptions {
  const resolved = { ...DEFAULT_ACTIVITY_OPTIONS };
  for (const key of Object.keys(resolved) as (keyof ActivityOptions)[]) {
    const value = options[key];
    if (value !== undefined) resolved[key] = value;
  }
  if (resolved.pollMs <= 0) throw new RangeError('pollMs must be positive');
  if (resolved.lookupWindowMs < 0 || resolved.lookupWindowMs >= resolved.pollMs) {
    throw new RangeError('lookupWindowMs must be at least 0 and less than pollMs');
  }
  if (resolved.heartbeatEveryMs < 0 || resolved.heartbeatEveryMs > 10_000) {
    throw new RangeError('heartbeatEveryMs must be between 0 and 10000 (the heartbeat timeout is 20 s)');
  }
  if (resolved.maxBuildAttempts < 1) throw new RangeError('maxBuildAttempts must be at least 1');
  if (!Number.isInteger(resolved.transientRetries) || resolved.transientRetries < 0) {
    throw new RangeError('transientRetries must be a whole number');
  }
  return resolved;
}
