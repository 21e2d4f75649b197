// The activity's link to Temporal: heartbeats, cancellation-aware sleep, and the details of the last
// heartbeat (so a retried attempt resumes where the previous one stopped). Outside an activity
// (a script or benchmark calling an activity function directly) it degrades to plain timers.
import { CancelledFailure, Context } from '@temporalio/activity';
import { DEFAULT_ACTIVITY_OPTIONS } from './options';

export interface Pulse {
  heartbeat(details?: unknown): void;
  /** Rejects with a CancelledFailure when the activity is cancelled. */
  sleep(ms: number): Promise<void>;
  /** Throws a CancelledFailure if cancellation was requested; call it before every cloud mutation. */
  throwIfCancelled(): void;
  /** Details recorded by the previous attempt's last heartbeat, if any. */
  readonly resumeDetails: unknown;
  /** When the activity's first attempt was scheduled (ms since epoch): failure budgets count from it. */
  readonly firstScheduledAt: number;
}

export function pulse(everyMs = DEFAULT_ACTIVITY_OPTIONS.heartbeatEveryMs): Pulse {
  const ctx = currentContext();
  if (ctx === undefined) {
    return {
      heartbeat: () => undefined,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      throwIfCancelled: () => undefined,
      resumeDetails: undefined,
      firstScheduledAt: Date.now(),
    };
  }
  // Heartbeats are sent lazily: `heartbeat` keeps the latest details, and they go to Temporal once
  // `everyMs` has passed since the attempt began or since the last one went, checked again before
  // every wait. A step that ends sooner (a 2 s build, a 1 s delete) sends none: the heartbeat timeout
  // still catches a killed worker, and a retry without details finds its server again by
  // idempotency key. Each heartbeat is an RPC and a write in Temporal; at 1,000 VMs the one every
  // create-vm and delete-server sent before its first wait was ~2,000 of them (npm run bench).
  let pending: { details: unknown } | null = null;
  let lastSent = Date.now();
  const flushIfDue = (): void => {
    if (pending === null || Date.now() - lastSent < everyMs) return;
    ctx.heartbeat(pending.details);
    pending = null;
    lastSent = Date.now();
  };
  return {
    heartbeat: (details) => {
      pending = { details };
      flushIfDue();
    },
    sleep: (ms) => {
      flushIfDue();
      return ctx.sleep(ms);
    },
    throwIfCancelled: () => {
      if (!ctx.cancellationSignal.aborted) return;
      const reason: unknown = ctx.cancellationSignal.reason;
      throw reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
    },
    resumeDetails: ctx.info.heartbeatDetails as unknown,
    firstScheduledAt: ctx.info.scheduledTimestampMs,
  };
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
