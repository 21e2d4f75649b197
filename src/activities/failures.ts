// Cloud errors become Temporal failures here, and nowhere else. Every type is decided on purpose:
// the table lives in README.md ("Failure types"). Non-retryable types are those in NON_RETRYABLE:
// retrying them cannot succeed without a human (or a new plan) changing something.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  CloudError,
  Conflict,
  Gone,
  ImageNotFound,
  Invalid,
  InvalidState,
  NotFound,
  QuotaExceeded,
  Unauthorized,
  Unavailable,
} from '../cloud/errors';
import { NON_RETRYABLE } from '../domain/activities';

/** Retryable failure types raised by the activities themselves. */
export const RETRYABLE = {
  unavailable: 'Unavailable',
  conflict: 'Conflict',
  /** release-quota while the allocation's server still exists (two-stage deprovision). */
  serverStillExists: 'ServerStillExists',
  /** create-vm built maxBuildAttempts servers in one execution, none became ACTIVE. */
  buildFailed: 'BuildFailed',
  /** delete-server: the server outlived deleteDeadlineMs; the retry requests deletion again. */
  deleteTimeout: 'DeleteTimeout',
  /** instance-action: the server did not show the action's effect within actionDeadlineMs. */
  actionTimeout: 'ActionTimeout',
} as const;

/** An unclassified cloud answer (an odd 4xx): non-retryable, the same request gets the same answer. */
export const UNCLASSIFIED = 'CloudError';

interface Decision {
  type: string;
  nonRetryable: boolean;
}

/** Which failure a cloud error becomes. Order matters only for subclasses (checked before CloudError). */
function decide(err: CloudError): Decision {
  if (err instanceof QuotaExceeded) return { type: NON_RETRYABLE.quotaExceeded, nonRetryable: true };
  if (err instanceof ImageNotFound) return { type: NON_RETRYABLE.imageNotFound, nonRetryable: true };
  if (err instanceof Invalid) return { type: NON_RETRYABLE.invalid, nonRetryable: true };
  if (err instanceof Unauthorized) return { type: NON_RETRYABLE.unauthorized, nonRetryable: true };
  if (err instanceof InvalidState) return { type: NON_RETRYABLE.invalidState, nonRetryable: true };
  // Deletes treat 404 as done before they get here; anywhere else the target vanished and only a new
  // plan (observe again) can help.
  if (err instanceof NotFound) return { type: NON_RETRYABLE.notFound, nonRetryable: true };
  // A taken static IP or a busy volume: usually a delete still in flight, so waiting helps.
  if (err instanceof Conflict) return { type: RETRYABLE.conflict, nonRetryable: false };
  // A key whose object was already deleted: repeating the call gives the same answer.
  if (err instanceof Gone) return { type: NON_RETRYABLE.gone, nonRetryable: true };
  // 5xx, 429, timeouts, refused connections: the cloud may answer later.
  if (err instanceof Unavailable) return { type: RETRYABLE.unavailable, nonRetryable: false };
  // Any other status (an unclassified 4xx): the same request gets the same answer.
  return { type: UNCLASSIFIED, nonRetryable: true };
}

/**
 * Converts whatever an activity caught into what Temporal should see. Cancellation and failures the
 * activity built itself pass through untouched. Aborts and timeouts are retryable `Unavailable`; any
 * other error (a bug) passes through as it is, which Temporal retries under the error's own name.
 */
export function toFailure(err: unknown, what: string): unknown {
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) return err;
  if (err instanceof CloudError) {
    const { type, nonRetryable } = decide(err);
    return ApplicationFailure.create({
      type,
      message: `${what}: ${err.message}`,
      nonRetryable,
      details: [{ code: err.code, status: err.status }],
      cause: err,
    });
  }
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return ApplicationFailure.create({
      type: RETRYABLE.unavailable,
      message: `${what}: ${err.message}`,
      nonRetryable: false,
      cause: err,
    });
  }
  return err;
}

/**
 * A conflict (static IP taken, volume in use) usually clears when a delete in flight finishes, so it
 * is retried; past the budget, counted from the step's first attempt, it is persistent: the step
 * fails for good with the cloud's own words. Anything else passes through unchanged.
 */
export function conflictPastBudget(
  err: unknown,
  what: string,
  firstScheduledAt: number,
  budget: { conflictMs: number },
  now = Date.now(),
): unknown {
  if (!(err instanceof Conflict) || now - firstScheduledAt < budget.conflictMs) return err;
  const minutes = Math.round((now - firstScheduledAt) / 6_000) / 10;
  return ApplicationFailure.create({
    type: NON_RETRYABLE.persistentConflict,
    message: `${what}: ${err.message}, still after ${minutes} min of retries (update.conflict_timeout_minutes ${budget.conflictMs / 60_000})`,
    nonRetryable: true,
    details: [{ code: err.code, status: err.status }],
    cause: err,
  });
}

/** A read that failed for a reason a later read may not have (5xx, unavailable, timeout): polls skip it. */
export function isTransient(err: unknown): boolean {
  if (err instanceof CloudError) return err instanceof Unavailable;
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** Runs an activity body so that every escaping error is a decided failure. */
export async function asFailures<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toFailure(err, what);
  }
}

export function retryable(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: false,
    details: details === undefined ? [] : [details],
  });
}

export function nonRetryable(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: details === undefined ? [] : [details],
  });
}
