// The contract for callbacks: what the outbox workflow hands the delivery activity, and what it gets
// back. The signing secret is not here: it lives only in the worker's environment (src/activities).
import type { ConvergeEvent, EventType } from './events';

/** One `callbacks:` entry of a manifest: where to POST, and which event types. */
export interface CallbackTarget {
  url: string;
  events: EventType[];
}

/** Events handed to a deployment's outbox, with the callbacks of the manifest that produced them. */
export interface CallbackBatch {
  callbacks: CallbackTarget[];
  events: ConvergeEvent[];
}

export interface DeliveryInput {
  url: string;
  /** In order; delivered one POST each, one after the other (order per instance follows). */
  events: ConvergeEvent[];
}

/** Per event, in input order: delivered (2xx), or refused for good with the reason (then dropped). */
export type DeliveryOutcome = { id: string; delivered: true } | { id: string; rejected: string };

export interface DeliveryResult {
  outcomes: DeliveryOutcome[];
}

export interface CallbackActivities {
  deliverCallbacks(input: DeliveryInput): Promise<DeliveryResult>;
}

/** ApplicationFailure types of a delivery attempt that may succeed later (all retried). */
export const CALLBACK_RETRYABLE = {
  /** Connection refused or reset, DNS, a request timeout, a 5xx, 408 or 429. */
  unreachable: 'CallbackUnreachable',
  /** The worker has no signing secret: events wait (unsigned, nothing is sent). */
  secretMissing: 'CallbackSecretMissing',
} as const;

/**
 * A delivery's liveness: the activity heartbeats every `everyMs`, also while a POST waits for its
 * answer (up to the 10 s request timeout), so Temporal can give it `timeoutMs`: a delivery whose worker
 * died is retried ~10 s later instead of 30. The SDK sends at most one heartbeat per 80 % of the
 * timeout (8 s); beating at 2.5 s keeps one always queued.
 */
export const DELIVERY_HEARTBEAT = { everyMs: 2_500, timeoutMs: 10_000 } as const;

/** Workflow id of a deployment's callback outbox. */
export function callbacksWorkflowId(deployment: string): string {
  return `callbacks/${deployment}`;
}

/** Only these schemes are ever contacted (the manifest schema and the activity both check). */
export const CALLBACK_SCHEMES: readonly string[] = ['http:', 'https:'];
