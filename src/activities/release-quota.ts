// release-quota: the second stage of deprovision. It refuses (retryably) while any server that
// consumes the allocation still exists, even DELETING: the quota is only free once the server is.
import { NotFound } from '../cloud/errors';
import { TAG } from '../domain/cloud';
import type { ReleaseQuotaInput } from '../domain/activities';
import type { ActivityDeps } from './deps';
import { asFailures, retryable, RETRYABLE } from './failures';
import { pulse } from './pulse';
import { Conflict } from '../cloud/errors';

export function releaseQuota(deps: ActivityDeps): (input: ReleaseQuotaInput) => Promise<void> {
  return (input) =>
    asFailures(`release-quota ${input.allocationId}`, async () => {
      pulse(deps.options.heartbeatEveryMs).throwIfCancelled();
      // One call: the region refuses (409) to release an allocation any server still consumes, even
      // a DELETING one, so asking it is the two-stage check, and the only one free of races. Looking
      // first (the named server, then the allocation's tag) cost two more calls on every release;
      // they are made only to explain a refusal.
      try {
        await deps.cloud.deleteAllocation(input.allocationId); // 404 counts as done
      } catch (err) {
        if (err instanceof Conflict) throw stillExists(input.allocationId, await whyInUse(deps, input, err));
        throw err;
      }
    });
}

/** Names what still holds the allocation: the step's server first, else whatever carries its tag. */
async function whyInUse(deps: ActivityDeps, input: ReleaseQuotaInput, refusal: Conflict): Promise<string> {
  try {
    if (input.serverId !== null) {
      const state = await serverState(deps, input.serverId);
      if (state !== null) return `server ${input.serverId} is ${state}`;
    }
    const holders = await deps.cloud.listServers({ [TAG.allocation]: input.allocationId });
    if (holders.length > 0)
      return `server(s) ${holders.map((s) => `${s.id} (${s.state})`).join(', ')} still consume it`;
  } catch {
    // the refusal itself is reason enough
  }
  return refusal.message;
}

async function serverState(deps: ActivityDeps, serverId: string): Promise<string | null> {
  try {
    return (await deps.cloud.getServer(serverId)).state;
  } catch (err) {
    if (err instanceof NotFound) return null;
    throw err;
  }
}

function stillExists(allocationId: string, why: string) {
  return retryable(
    RETRYABLE.serverStillExists,
    `release-quota ${allocationId}: refused, ${why}; quota is released only after its server is gone`,
  );
}
