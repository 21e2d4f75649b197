// watchCloud: one watch pass. Looks at the deployment's cloud state every interval (one bulk read, as
// an operation's observe) and returns only when its status projection differs from the workflow's, or
// after `returnAfterMs`: Temporal's advice for polling, so an idle deployment writes no history between
// passes. It heartbeats while it waits, so a killed worker's pass is retried elsewhere within the
// heartbeat timeout; a retry starts from the same baseline, so a change is never lost.
import type { Observed } from '../domain/cloud';
import type { WatchCloudInput, WatchCloudResult } from '../domain/activities';
import { watchDigest } from '../planner/watch-digest';
import type { ActivityDeps } from './deps';
import { observe } from './observe';
import { pulse } from './pulse';

/** Longest sleep between heartbeats: well inside the watch's heartbeat timeout (src/workflows/activities.ts). */
const HEARTBEAT_SLICE_MS = 5_000;

export function watchCloud(deps: ActivityDeps): (input: WatchCloudInput) => Promise<WatchCloudResult> {
  const look = observe(deps);
  return async (input) => {
    const p = pulse(Math.min(deps.options.heartbeatEveryMs, HEARTBEAT_SLICE_MS));
    const started = Date.now();
    let looks = 0;
    for (;;) {
      const due = Math.min(input.intervalMs, Math.max(0, started + input.returnAfterMs - Date.now()));
      await sleepBeating(p, due);
      let seen: Observed | null = null;
      try {
        seen = await look({ deployment: input.deployment });
        looks += 1;
      } catch {
        // A cloud outage is not a change: keep looking (an operation reports outages, the watch waits).
        seen = null;
      }
      if (seen && watchDigest(input.deployment, seen, input.records) !== input.baseline) {
        return { observed: seen, looks };
      }
      if (Date.now() - started >= input.returnAfterMs) return { observed: null, looks };
    }
  };
}

async function sleepBeating(p: ReturnType<typeof pulse>, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= HEARTBEAT_SLICE_MS) {
    p.heartbeat();
    await p.sleep(Math.min(left, HEARTBEAT_SLICE_MS));
  }
  p.heartbeat();
}
