// How a batch activity (create-vms, enact-chains) ends for each of its items: it runs them all at once
// and reports each one, so one item's trouble never fails the others. An item that fails for good (a
// non-retryable failure) is final; one that fails retryably is sent back to run again alone, as an
// activity of its own with its retry policy. Only cancellation fails the batch.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NON_RETRYABLE } from '../domain/activities';
import { pulse } from './pulse';

const FOR_GOOD: ReadonlySet<string> = new Set(Object.values(NON_RETRYABLE));

export type Outcome<R> = { ok: R } | { forGood: ApplicationFailure } | { alone: string };

export async function settleEach<I, R>(
  items: readonly I[],
  run: (item: I) => Promise<R>,
  heartbeatEveryMs: number,
): Promise<Array<Outcome<R>>> {
  const settled = await Promise.allSettled(items.map((item) => run(item)));
  pulse(heartbeatEveryMs).throwIfCancelled();
  return settled.map((s) => {
    if (s.status === 'fulfilled') return { ok: s.value };
    const err: unknown = s.reason;
    if (err instanceof CancelledFailure) throw err;
    if (err instanceof ApplicationFailure && (err.nonRetryable || FOR_GOOD.has(err.type ?? ''))) {
      return { forGood: err };
    }
    return { alone: err instanceof Error ? err.message : String(err) };
  });
}
