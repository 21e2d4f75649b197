// detach-disk: take a volume off the named server. Done when it is free or already elsewhere (the
// disk moved on, e.g. a hot swap's associate took it): a stale step must never rip it off its new VM.
import { NotFound } from '../cloud/errors';
import { NON_RETRYABLE, type DetachDiskInput } from '../domain/activities';
import type { ActivityDeps } from './deps';
import { asFailures, nonRetryable } from './failures';
import { pulse } from './pulse';

export function detachDisk(deps: ActivityDeps): (input: DetachDiskInput) => Promise<void> {
  return (input) =>
    asFailures(`detach-disk ${input.volumeId} from ${input.serverId}`, async () => {
      const p = pulse(deps.options.heartbeatEveryMs);
      let volume;
      try {
        volume = await deps.cloud.getVolume(input.volumeId);
      } catch (err) {
        if (err instanceof NotFound) {
          throw nonRetryable(NON_RETRYABLE.notFound, `detach-disk: volume ${input.volumeId} does not exist`);
        }
        throw err;
      }
      if (volume.server_id !== input.serverId) return;
      p.throwIfCancelled();
      await deps.cloud.detachVolume(input.volumeId);
    });
}
