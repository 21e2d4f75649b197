// The activity's link to Temporal: heartbeats, cancellation-aware sleep, and the details of the last
// heartbeat (so a retried attempt resumes where the previous one stopped). Outside an activity
// (a script or benchmark calling an activity function directly) it degrades to plain timers.
import { CancelledFailure, Context } from '@temporalio/activity';

export interface Pulse {
  heartbeat(details?: unknown): void;
  /** Rejects with a CancelledFailure when the activity is cancelled. */
  sleep(ms: number): Promise<void>;
  /** Throws a CancelledFailure if cancellation was requested; call it before every cloud mutation. */
  throwIfCancelled(): void;
  /** Details recorded by the previous attempt's last heartbeat, if any. */
  readonly resumeDetails: unknown;
}

export function pulse(): Pulse {
  const ctx = currentContext();
  if (ctx === undefined) {
    return {
      heartbeat: () => undefined,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      throwIfCancelled: () => undefined,
      resumeDetails: undefined,
    };
  }
  // Heartbeats are sent lazily: `heartbeat` keeps the latest details, which go to Temporal before
  // the activity waits (sleep) or once HEARTBEAT_EVERY_MS has passed without one. An activity that
  // finishes in a few calls sends none. Each sent heartbeat costs a native call in the worker and a
  // write in Temporal; at 1,000 VMs they were a quarter of the worker's CPU (npm run bench).
  let pending: { details: unknown } | null = null;
  let lastSent = Date.now();
  const flush = (): void => {
    if (pending === null) return;
    ctx.heartbeat(pending.details);
    pending = null;
    lastSent = Date.now();
  };
  return {
    heartbeat: (details) => {
      pending = { details };
      if (Date.now() - lastSent >= HEARTBEAT_EVERY_MS) flush();
    },
    sleep: (ms) => {
      flush();
      return ctx.sleep(ms);
    },
    throwIfCancelled: () => {
      if (!ctx.cancellationSignal.aborted) return;
      const reason: unknown = ctx.cancellationSignal.reason;
      throw reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
    },
    resumeDetails: ctx.info.heartbeatDetails as unknown,
  };
}

/** Well inside the shortest heartbeat timeout the workflows set (20 s). */
const HEARTBEAT_EVERY_MS = 5_000;

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
