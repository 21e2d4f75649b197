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
  // every wait (and by `keepAlive` while a call is in flight). A step that ends sooner sends none:
  // the heartbeat timeout still catches a killed worker, and a retry without details finds its
  // server again by idempotency key. Each heartbeat is an RPC and a write in Temporal; at 1,000 VMs
  // the one every create-vm and delete-server sent before its first wait was ~2,000 of them.
  const beat = beatOf(ctx);
  const flushIfDue = (): void => {
    if (!beat.pending || Date.now() - beat.lastSent < everyMs) return;
    send(ctx, beat);
  };
  return {
    heartbeat: (details) => {
      beat.details = details;
      beat.pending = true;
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

/**
 * Runs an activity's body and, while it runs, heartbeats whenever `everyMs` passed without one (the
 * latest details again, or the previous attempt's when this one has none yet). A live worker waiting
 * on a slow cloud is not a dead one: without this, a create whose calls queue behind a loaded EC2
 * endpoint for 20 s (moto at 400 instances: 30-120 s an answer) hit the heartbeat timeout and was
 * retried while its first attempt still ran, every retry adding its calls to the same queue, and
 * sending RunInstances again for a key whose first RunInstances had not been answered yet.
 */
export async function keepAlive<T>(everyMs: number, body: () => Promise<T>): Promise<T> {
  const ctx = currentContext();
  if (ctx === undefined) return body();
  const beat = beatOf(ctx);
  const period = Math.max(everyMs, MIN_KEEPALIVE_MS);
  const timer = setInterval(() => {
    if (Date.now() - beat.lastSent >= period) send(ctx, beat);
  }, period);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

/** The keep-alive's floor: `heartbeatEveryMs` 0 (tests) means "before every wait", not a busy timer. */
const MIN_KEEPALIVE_MS = 100;

/** One activity execution's heartbeat state, shared by its pulses (a batch runs several). */
interface Beat {
  details: unknown;
  /** Details given since the last heartbeat went. */
  pending: boolean;
  lastSent: number;
}

const beats = new WeakMap<Context, Beat>();

function beatOf(ctx: Context): Beat {
  let beat = beats.get(ctx);
  if (beat === undefined) {
    beat = { details: ctx.info.heartbeatDetails as unknown, pending: false, lastSent: Date.now() };
    beats.set(ctx, beat);
  }
  return beat;
}

function send(ctx: Context, beat: Beat): void {
  ctx.heartbeat(beat.details);
  beat.pending = false;
  beat.lastSent = Date.now();
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
