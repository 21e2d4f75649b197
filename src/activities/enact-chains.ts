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
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  NON_RETRYABLE,
  type ChainBatchInput,
  type ChainBatchResult,
  type ChainBreak,
  type ChainInput,
  type ChainResult,
} from '../domain/activities';
import { pulse } from './pulse';

const FOR_GOOD: ReadonlySet<string> = new Set(Object.values(NON_RETRYABLE));

export function enactChains(
  enactChain: (input: ChainInput) => Promise<ChainResult>,
  heartbeatEveryMs: number,
): (input: ChainBatchInput) => Promise<ChainBatchResult> {
  return async ({ chains }) => {
    const settled = await Promise.allSettled(chains.map((c) => enactChain(c)));
    pulse(heartbeatEveryMs).throwIfCancelled();
    return {
      results: settled.map((s) => {
        if (s.status === 'fulfilled') return { done: s.value };
        const err: unknown = s.reason;
        if (err instanceof CancelledFailure) throw err;
        if (err instanceof ApplicationFailure && (err.nonRetryable || FOR_GOOD.has(err.type ?? ''))) {
          return { failed: { type: err.type ?? null, message: err.message, broke: breakOf(err) } };
        }
        return { alone: err instanceof Error ? err.message : String(err) };
      }),
    };
  };
}

function breakOf(err: ApplicationFailure): ChainBreak | null {
  const d = err.details?.[0] as Partial<ChainBreak> | null | undefined;
  return typeof d?.completed === 'number' && Array.isArray(d.results) ? (d as ChainBreak) : null;
}
