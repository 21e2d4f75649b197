// delete-server: request deletion and return only once the server is gone (404). The first half of
// two-stage deprovision; release-quota is the second.
import type { DeleteServerInput } from '../domain/activities';
import { waitContext, type ActivityDeps } from './deps';
import { asFailures } from './failures';
import { pulse } from './pulse';
import { deleteAndAwaitGone } from './waits';

export function deleteServer(deps: ActivityDeps): (input: DeleteServerInput) => Promise<void> {
  return (input) =>
    asFailures(`delete-server ${input.serverId}`, async () => {
      const p = pulse(deps.options.heartbeatEveryMs);
      // Asking again on a retry is harmless (DELETING stays DELETING, 404 is done) and recovers a
      // request the cloud may have lost.
      const ctx = waitContext(deps, p, { serverId: input.serverId });
      await deleteAndAwaitGone(ctx, input.serverId, deps.options.deleteDeadlineMs);
    });
}
