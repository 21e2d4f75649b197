// A cloud call the region answered with "try again" (429, 502, 503, 504) is repeated in place a few
// times, with short jittered pauses, before the activity attempt fails. Without this, one 503 fails a
// whole attempt that made several calls, and Temporal's backoff (1 s → 15 s) multiplies: at a 30 %
// error rate a 30-instance hot_swap took over two minutes instead of seconds (chaos harness,
// region-faults). Every mutating call carries an idempotency key (or is idempotent by nature), so
// repeating one is safe. Timeouts and refused connections are left to Temporal's retry: waiting here
// for a region that is down would only hold the attempt without heartbeats.
import { Unavailable } from '../cloud/errors';
import type { Cloud } from '../cloud/port';

const TRY_AGAIN = new Set([429, 502, 503, 504]);
const FIRST_PAUSE_MS = 100;

export function isTryAgain(err: unknown): boolean {
  return err instanceof Unavailable && TRY_AGAIN.has(err.status);
}

/** The same port, with each method repeated in place (up to `retries` times) on a "try again" answer. */
export function withTransientRetries(cloud: Cloud, retries: number): Cloud {
  if (retries === 0) return cloud;
  const pausesMs = Array.from({ length: retries }, (_, i) => FIRST_PAUSE_MS * 2 ** i);
  return new Proxy(cloud, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        const first = method.apply(target, args);
        // Only asynchronous calls talk to the region; anything else (close) passes through.
        if (!(first instanceof Promise)) return first;
        return again(first, () => method.apply(target, args) as Promise<unknown>, pausesMs);
      };
    },
  });
}

async function again(
  first: Promise<unknown>,
  call: () => Promise<unknown>,
  pausesMs: readonly number[],
): Promise<unknown> {
  let attempt = first;
  for (let i = 0; ; i++) {
    try {
      return await attempt;
    } catch (err) {
      const pause = pausesMs[i];
      if (pause === undefined || !isTryAgain(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause / 2 + Math.random() * pause));
      attempt = call();
    }
  }
}
