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
  return {
    heartbeat: (details) => ctx.heartbeat(details),
    sleep: (ms) => ctx.sleep(ms),
    throwIfCancelled: () => {
      if (!ctx.cancellationSignal.aborted) return;
      const reason: unknown = ctx.cancellationSignal.reason;
      throw reason instanceof CancelledFailure ? reason : new CancelledFailure('activity cancelled');
    },
    resumeDetails: ctx.info.heartbeatDetails as unknown,
  };
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
