// enact-chains: chains that became ready together (a wave of a hot_swap, a round of a delete) as one
// activity. Each chain runs through enact-chain's own function, all at once; the batch only saves the
// trips through Temporal. Those trips were most of a wave's cost: the SDK hands a worker its activity
// tasks one at a time, on the event loop that also carries every region call, so a wave of 80 chains
// started one by one over ~0.1 s, and Temporal spent most of its CPU on their events.
//
// Outcomes are per chain, as with create-vms: a chain that fails for good comes back as `failed`, with
// the type and message (and the links done before it) it would have failed its own activity with; one
// that fails retryably comes back as `alone`, and the workflow runs it again as an enact-chain activity
// of its own, with its retries (every link is idempotent). Only cancellation fails the batch.
import type { ApplicationFailure } from '@temporalio/common';
import type {
  ChainBatchInput,
  ChainBatchResult,
  ChainBreak,
  ChainInput,
  ChainResult,
} from '../domain/activities';
import { settleEach } from './batch-outcomes';

export function enactChains(
  enactChain: (input: ChainInput) => Promise<ChainResult>,
  heartbeatEveryMs: number,
): (input: ChainBatchInput) => Promise<ChainBatchResult> {
  return async ({ chains }) => ({
    results: (await settleEach(chains, enactChain, heartbeatEveryMs)).map((o) =>
      'ok' in o
        ? { done: o.ok }
        : 'forGood' in o
          ? {
              failed: { type: o.forGood.type ?? null, message: o.forGood.message, broke: breakOf(o.forGood) },
            }
          : o,
    ),
  });
}

/** The links a chain finished before it broke (enact-chain's ChainBreak details), if it broke past its first. */
function breakOf(err: ApplicationFailure): ChainBreak | null {
  const d = err.details?.[0] as Partial<ChainBreak> | null | undefined;
  return typeof d?.completed === 'number' && Array.isArray(d.results) ? (d as ChainBreak) : null;
}
