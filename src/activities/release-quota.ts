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
      const { cloud } = deps;
      const p = pulse(deps.options.heartbeatEveryMs);
      if (input.serverId !== null) {
        const state = await serverState(deps, input.serverId);
        if (state !== null) throw stillExists(input.allocationId, `server ${input.serverId} is ${state}`);
      }
      // The step names one server, but the allocation's tag is the truth: any holder blocks release.
      const holders = await cloud.listServers({ [TAG.allocation]: input.allocationId });
      if (holders.length > 0) {
        const names = holders.map((s) => `${s.id} (${s.state})`).join(', ');
        throw stillExists(input.allocationId, `server(s) ${names} still consume it`);
      }
      p.throwIfCancelled();
      try {
        await cloud.deleteAllocation(input.allocationId); // 404 counts as done
      } catch (err) {
        // The region enforces two-stage deprovision itself: a server appeared between our look and now.
        if (err instanceof Conflict) throw stillExists(input.allocationId, err.message);
        throw err;
      }
    });
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
