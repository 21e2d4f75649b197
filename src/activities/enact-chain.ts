// enact-chain: a unit's steps that run back to back (associate the new VM, delete the old server,
// release its quota) as one activity. Each link is the step's own activity function, so a link does
// exactly what its step would do alone; the chain only saves the trips through Temporal between them
// (a scheduled, started and completed event and a workflow task per link). A disk's detach or delete
// is only ever a chain of one, carried in a batch (enact-chains.ts).
//
// A retryable failure retries the whole chain: every link is idempotent (associating again changes
// nothing, a gone server is deleted, a released allocation is released), so the retry walks through
// the links already done and goes on. A non-retryable failure of a later link says, in its details
// (ChainBreak), how many links were done before it, so the workflow records them and fails the right step.
import { ApplicationFailure } from '@temporalio/common';
import type {
  AssociateResult,
  ChainBreak,
  ChainInput,
  ChainLink,
  ChainResult,
  ConvergeActivities,
} from '../domain/activities';

/** The activities a link can be: each link runs through its step's own function. */
export type ChainSteps = Pick<
  ConvergeActivities,
  'associateVmToInstance' | 'deleteServer' | 'releaseQuota' | 'detachDisk' | 'deleteDisk'
>;

export function enactChain(steps: ChainSteps): (input: ChainInput) => Promise<ChainResult> {
  return async ({ links }) => {
    const results: Array<AssociateResult | null> = [];
    for (const link of links) {
      try {
        results.push(await run(steps, link));
      } catch (err) {
        throw results.length > 0 ? broken(err, results) : err;
      }
    }
    return { results };
  };
}

function run(steps: ChainSteps, link: ChainLink): Promise<AssociateResult | null> {
  switch (link.kind) {
    case 'associate-vm-to-instance':
      return steps.associateVmToInstance(link.input);
    case 'delete-server':
      return steps.deleteServer(link.input).then(() => null);
    case 'release-quota':
      return steps.releaseQuota(link.input).then(() => null);
    case 'detach-disk':
      return steps.detachDisk(link.input).then(() => null);
    case 'delete-disk':
      return steps.deleteDisk(link.input).then(() => null);
  }
}

/** A non-retryable failure past the first link, with the links done before it; anything else as it is. */
function broken(err: unknown, results: Array<AssociateResult | null>): unknown {
  if (!(err instanceof ApplicationFailure) || !err.nonRetryable) return err;
  const details: ChainBreak = { completed: results.length, results };
  return ApplicationFailure.create({
    type: err.type ?? undefined,
    message: err.message,
    nonRetryable: true,
    details: [details],
    cause: err,
  });
}
