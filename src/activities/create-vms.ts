// create-vms: a batch of create-vm steps as one activity. Each VM runs through create-vm's own
// function, all at once; the batch only saves the trips through Temporal (three events, a dispatch
// and a workflow-task turn per VM): at 1,000 VMs, a quarter of Temporal's CPU in a hot_swap, spent
// while its first waves ran.
//
// A create that fails for good (a non-retryable failure: unknown image, quota, invalid spec) comes
// back as `failed`, with the type and message it would have failed its own activity with; create-vm
// has already given its quota back. One that fails retryably comes back as `alone`: the workflow runs
// it again as a create-vm activity of its own, with create-vm's retry policy (it resumes by
// idempotency key). So one VM's trouble never holds up the others beyond its first attempt. Only
// cancellation fails the batch.
import type {
  CreateVmBatchInput,
  CreateVmBatchResult,
  CreateVmInput,
  CreateVmResult,
} from '../domain/activities';
import { settleEach } from './batch-outcomes';

export function createVms(
  createVm: (input: CreateVmInput) => Promise<CreateVmResult>,
  heartbeatEveryMs: number,
): (input: CreateVmBatchInput) => Promise<CreateVmBatchResult> {
  return async ({ creates }) => ({
    results: (await settleEach(creates, createVm, heartbeatEveryMs)).map((o) =>
      'ok' in o
        ? { built: o.ok }
        : 'forGood' in o
          ? { failed: { type: o.forGood.type ?? null, message: o.forGood.message } }
          : o,
    ),
  });
}
