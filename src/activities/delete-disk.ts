// delete-disk: delete a volume for good. A 404 counts as done; an attached volume is a Conflict
// (retryable: the detach that must come first may still be on its way).
import type { DeleteDiskInput } from '../domain/activities';
import type { ActivityDeps } from './deps';
import { asFailures } from './failures';
import { pulse } from './pulse';

export function deleteDisk(deps: ActivityDeps): (input: DeleteDiskInput) => Promise<void> {
  return (input) =>
    asFailures(`delete-disk ${input.volumeId}`, async () => {
      pulse().throwIfCancelled();
      await deps.cloud.deleteVolume(input.volumeId);
    });
}
