// Delivers a deployment's events to one callback URL: one signed POST per event, one after the other,
// so a receiver sees each instance's events in order. Typed outcomes (README "Callbacks"):
//   2xx                             delivered
//   3xx                             refused for good: redirects are never followed
//   other 4xx                       refused for good: the same request gets the same answer
//   5xx, 408, 429, network, timeout retryable: the whole activity fails and Temporal retries it, resuming
//                                   after the events already delivered (heartbeat details)
// A refused event is reported to the outbox, which records why and drops it: a receiver that refuses
// one event does not hold back the ones after it.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  CALLBACK_RETRYABLE,
  CALLBACK_SCHEMES,
  DELIVERY_HEARTBEAT,
  type DeliveryInput,
  type DeliveryOutcome,
  type DeliveryResult,
} from '../domain/callbacks';
import type { ConvergeEvent } from '../domain/events';
import { CALLBACK_HEADERS, signCallback } from './callback-signature';
import type { CallbackSecret } from './callback-secret';

export interface DeliveryDeps {
  /** Null: nothing is sent, the activity fails retryably (CallbackSecretMissing) until a worker has one. */
  secret: CallbackSecret | null;
  /** Per request (connect, send, the receiver's answer). */
  timeoutMs: number;
  /** Heartbeat cadence, while waiting for an answer too (default DELIVERY_HEARTBEAT.everyMs). */
  heartbeatEveryMs?: number;
  /** Unix ms; a test may fix it. */
  now?: () => number;
}

export const DEFAULT_CALLBACK_TIMEOUT_MS = 10_000;

/** The JSON a receiver gets: the event, every field present (null when empty). */
export function callbackBody(event: ConvergeEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    deployment: event.deployment,
    instance: event.instance,
    old: event.old,
    new: event.new,
    at: event.at,
    detail: event.detail ?? null,
  });
}

export function deliverCallbacks(deps: DeliveryDeps) {
  const now = deps.now ?? Date.now;
  return async (input: DeliveryInput): Promise<DeliveryResult> => {
    const target = parseTarget(input.url);
    if (typeof target === 'string') {
      return { outcomes: input.events.map((e) => ({ id: e.id, rejected: target })) };
    }
    if (deps.secret === null) {
      throw ApplicationFailure.retryable(
        'no callback secret on this worker (set CONVERGE_CALLBACK_SECRET or CONVERGE_CALLBACK_SECRET_FILE): ' +
          'events wait, nothing is sent unsigned',
        CALLBACK_RETRYABLE.secretMissing,
      );
    }
    const ctx = activityContext();
    const outcomes = resumed(ctx, input);
    const beat = (): void => ctx?.heartbeat([...outcomes]);
    for (const event of input.events.slice(outcomes.length)) {
      beat();
      // A slow receiver must not look like a dead worker: keep beating until the answer comes.
      const pulse = setInterval(beat, deps.heartbeatEveryMs ?? DELIVERY_HEARTBEAT.everyMs);
      try {
        outcomes.push(await post(target, event, deps.secret, deps.timeoutMs, now, ctx?.cancellationSignal));
      } finally {
        clearInterval(pulse);
      }
    }
    return { outcomes };
  };
}

async function post(
  target: URL,
  event: ConvergeEvent,
  secret: CallbackSecret,
  timeoutMs: number,
  now: () => number,
  cancelled: AbortSignal | undefined,
): Promise<DeliveryOutcome> {
  const body = callbackBody(event);
  const timestamp = Math.floor(now() / 1000);
  const where = `POST ${shown(target)}`;
  let res: Response;
  try {
    const timeout = AbortSignal.timeout(timeoutMs);
    res = await fetch(target, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: cancelled ? AbortSignal.any([timeout, cancelled]) : timeout,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'converge-callbacks',
        [CALLBACK_HEADERS.eventId]: event.id,
        [CALLBACK_HEADERS.eventType]: event.type,
        [CALLBACK_HEADERS.timestamp]: String(timestamp),
        [CALLBACK_HEADERS.signature]: signCallback(secret.bytes, timestamp, body),
      },
    });
  } catch (err) {
    throw ApplicationFailure.retryable(
      `${where}: ${networkReason(err, timeoutMs)}`,
      CALLBACK_RETRYABLE.unreachable,
    );
  }
  // The answer's body is never read (nor logged): release the connection.
  await res.body?.cancel().catch(() => undefined);
  const s = res.status;
  if (s >= 200 && s < 300) return { id: event.id, delivered: true };
  if (s >= 500 || s === 408 || s === 429) {
    throw ApplicationFailure.retryable(`${where}: HTTP ${s}`, CALLBACK_RETRYABLE.unreachable);
  }
  if (s >= 300 && s < 400) {
    return {
      id: event.id,
      rejected: `HTTP ${s}: redirect not followed (callback URLs must answer directly)`,
    };
  }
  return { id: event.id, rejected: `HTTP ${s}` };
}

/** The URL, or why it may not be contacted. */
function parseTarget(url: string): URL | string {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return 'not a URL';
  }
  return CALLBACK_SCHEMES.includes(target.protocol)
    ? target
    : `scheme ${target.protocol} is not http or https`;
}

/** Outcomes a previous attempt recorded before it failed (its heartbeat): those events are done. */
function resumed(ctx: Context | null, input: DeliveryInput): DeliveryOutcome[] {
  const details: unknown = ctx?.info.heartbeatDetails;
  if (!Array.isArray(details)) return [];
  const done = details as DeliveryOutcome[];
  // Only if they are this batch's first events, in order (a heartbeat of another shape is ignored).
  return done.every((o, i) => o.id === input.events[i]?.id) ? [...done] : [];
}

function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null; // called outside an activity (a unit test)
  }
}

/** Scheme, host and path only: userinfo and query strings may carry a receiver's token. */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  return code ?? (cause instanceof Error ? cause.message : String(cause));
}
