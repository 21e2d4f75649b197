// The callback outbox `callbacks/<deployment>`: receives events by signal (notify-listeners.ts), and
// delivers them at least once, in order per callback URL, through the deliverCallbacks activity.
// Deploys and the watch only signal it, so a dead endpoint delays nothing but its own queue.
// Retries: Temporal retries a delivery with backoff (1 s → 30 s) for 5 minutes; then the outbox
// records why and schedules it again, so a receiver down for hours gets everything (up to the bound)
// when it comes back, and the outbox's history grows by a few events per 5 minutes of outage.
// Closes when idle; continues as new (after its deliveries settle) when its history grows.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { DELIVERY_HEARTBEAT, type CallbackActivities, type CallbackBatch } from '../domain/callbacks';
import { callbackEventsSignal, callbacksStatusQuery, stepRetryingSignal } from './messages';
import { DEFAULT_OUTBOX_LIMITS, Outbox, type OutboxLimits, type OutboxState } from './outbox';

export interface CallbackOutboxInput {
  deployment: string;
  /** The batch that started this outbox (absent after continue-as-new). */
  batch?: CallbackBatch;
  state?: OutboxState;
  limits?: Partial<OutboxLimits>;
}

/** The retry step kind the delivery activity reports as (retry-report.ts); its key is the URL. */
export const DELIVERY_STEP = 'callback';

export const DELIVERY_OPTIONS: ActivityOptions = {
  // batchSize POSTs of at most 10 s each, one after the other, heartbeating all along: a dead worker's
  // delivery is retried after the heartbeat timeout. Replay matches a scheduled activity by id and
  // type, not its timeouts: outboxes recorded with the old 30 s replay (test/replay), no patch needed.
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: DELIVERY_HEARTBEAT.timeoutMs,
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
};

const deliveries = proxyActivities<CallbackActivities>(DELIVERY_OPTIONS);

export async function callbackOutbox(input: CallbackOutboxInput): Promise<void> {
  const limits = { ...DEFAULT_OUTBOX_LIMITS, ...input.limits };
  const outbox = new Outbox(input.deployment, input.state, limits);
  const now = () => new Date().toISOString();
  if (input.batch) outbox.accept(input.batch, now());
  setHandler(callbackEventsSignal, (batch) => outbox.accept(batch, now()));
  setHandler(stepRetryingSignal, (r) => {
    if (r.kind === DELIVERY_STEP) outbox.retrying(r.key, r.error, r.attempt, now());
  });
  setHandler(callbacksStatusQuery, () => outbox.status());

  const draining = new Set<string>();
  const historyFull = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > limits.historyThreshold;

  // One delivery at a time per URL, batch after batch while its queue has events.
  const drain = async (url: string): Promise<void> => {
    draining.add(url);
    try {
      for (;;) {
        if (historyFull()) return;
        const events = outbox.takeBatch(url);
        if (events === null) return;
        try {
          const { outcomes } = await deliveries.deliverCallbacks.executeWithOptions(
            { ...DELIVERY_OPTIONS, summary: `POST ${events.length} event(s) to ${url}` },
            [{ url, events }],
          );
          outbox.settled(url, outcomes, now());
        } catch (err) {
          outbox.failed(url, innermostMessage(err), now());
        }
      }
    } finally {
      draining.delete(url);
    }
  };

  for (;;) {
    const woke = await condition(
      () => historyFull() || outbox.startable().some((url) => !draining.has(url)),
      limits.idleMs,
    );
    if (historyFull()) {
      await condition(() => draining.size === 0);
      await condition(allHandlersFinished);
      await continueAsNew<typeof callbackOutbox>({
        deployment: input.deployment,
        state: outbox.carried(),
        ...(input.limits ? { limits: input.limits } : {}),
      });
    }
    for (const url of outbox.startable()) if (!draining.has(url)) void drain(url);
    // Idle for idleMs with nothing queued: close (signals that raced this are handled first, as the
    // server refuses to complete a workflow with unhandled events).
    if (!woke && draining.size === 0 && outbox.empty) {
      await condition(allHandlersFinished);
      return;
    }
  }
}

/** The last attempt's own words (a timeout failure wraps the attempt's failure as its cause). */
function innermostMessage(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (e instanceof Error) {
    if (e.message) message = e.message;
    e = e.cause;
  }
  return message;
}
