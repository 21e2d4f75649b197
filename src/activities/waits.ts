// The two waits every VM activity shares: a build settling, and a server going away. Both poll,
// heartbeat on every poll, and honour cancellation through the pulse's sleep.
import type { Server } from '../domain/cloud';
import type { Cloud } from '../cloud/port';
import { NotFound } from '../cloud/errors';
import { isTransient, retryable, RETRYABLE } from './failures';
import type { Pulse } from './pulse';

/** Transient poll errors tolerated in a row before the wait gives up (retryably). */
const MAX_TRANSIENT_POLL_ERRORS = 8;

export type BuildOutcome =
  | { kind: 'built'; server: Server }
  | { kind: 'failed'; server: Server; why: 'ERROR' | 'stuck in BUILD' | 'DELETING' }
  | { kind: 'vanished' };

export interface WaitContext {
  cloud: Cloud;
  /** One look at a server (coalesced with other waits' looks: ServerLookups). */
  look(id: string): Promise<Server | 'gone'>;
  pulse: Pulse;
  pollMs: number;
  /** Sent with every heartbeat so a retry can resume. */
  details: Record<string, unknown>;
  /** Transient poll errors in a row so far. */
  pollErrors: number;
}

/**
 * Polls until the server leaves BUILD. SHUTOFF counts as built: it means someone stopped a server
 * this create already finished (a retried create must not destroy it).
 */
export async function awaitBuild(
  ctx: WaitContext,
  first: Server,
  buildDeadlineMs: number,
): Promise<BuildOutcome> {
  const startedAt = buildStartedAt(first);
  const deadlineAt = startedAt + buildDeadlineMs;
  let server: Server | null = first;
  for (;;) {
    if (server !== null) {
      switch (server.state) {
        case 'ACTIVE':
        case 'SHUTOFF':
          return { kind: 'built', server };
        case 'ERROR':
          return { kind: 'failed', server, why: 'ERROR' };
        case 'DELETING':
          return { kind: 'failed', server, why: 'DELETING' };
        case 'BUILD':
          if (Date.now() >= deadlineAt) return { kind: 'failed', server, why: 'stuck in BUILD' };
      }
    }
    ctx.pulse.heartbeat({ ...ctx.details, serverId: first.id, state: server?.state ?? 'unknown' });
    // Every look waits for the next poll tick, the first one included: the create's own answer was a
    // look (a cloud that builds at once answers ACTIVE). Looking again at once found BUILD every
    // time a build takes any time: 1,000 reads more per 1,000 VMs.
    await ctx.pulse.sleep(untilNextTick(startedAt, ctx.pollMs));
    const polled = await poll(ctx, first.id);
    if (polled === 'gone') return { kind: 'vanished' };
    server = polled;
  }
}

/**
 * Polls, a poll interval apart, until the server answers 404; the first look waits too (the caller
 * has just seen it exist). Fails retryably past `deadlineMs`, so the retry asks again.
 */
async function awaitGone(ctx: WaitContext, serverId: string, deadlineMs: number): Promise<void> {
  const deadlineAt = Date.now() + deadlineMs;
  for (;;) {
    await ctx.pulse.sleep(ctx.pollMs);
    const polled = await poll(ctx, serverId);
    if (polled === 'gone') return;
    if (Date.now() >= deadlineAt) {
      throw retryable(
        RETRYABLE.deleteTimeout,
        `server ${serverId} still exists (${polled === null ? 'state unknown' : polled.state}) ${deadlineMs} ms after its deletion was requested`,
      );
    }
    ctx.pulse.heartbeat({ ...ctx.details, serverId, state: polled?.state ?? 'unknown', deleting: true });
  }
}

/**
 * Requests deletion and waits until the server is gone. The answer says whether it still exists
 * (DELETING: look again a poll interval later) or is gone already (a cloud that deletes at once).
 */
export async function deleteAndAwaitGone(
  ctx: WaitContext,
  serverId: string,
  deadlineMs: number,
): Promise<void> {
  ctx.pulse.throwIfCancelled();
  if ((await ctx.cloud.deleteServer(serverId)) === 'gone') return;
  ctx.pulse.heartbeat({ ...ctx.details, serverId, state: 'DELETING', deleting: true });
  await awaitGone(ctx, serverId, deadlineMs);
}

/** One read of the server: the server, 'gone' on 404, or null when the read failed transiently. */
async function poll(ctx: WaitContext, serverId: string): Promise<Server | 'gone' | null> {
  try {
    const server = await ctx.look(serverId);
    ctx.pollErrors = 0;
    return server;
  } catch (err) {
    if (err instanceof NotFound) return 'gone';
    ctx.pollErrors += 1;
    if (!isTransient(err) || ctx.pollErrors > MAX_TRANSIENT_POLL_ERRORS) throw err;
    return null;
  }
}

/**
 * Build polls fall on the build's own clock, `created_at + k × pollMs` (k ≥ 1), not a poll interval
 * after the previous look came back: a build that takes whole intervals (the bench's 2 s with 1 s
 * polls) is seen as soon as it is done, instead of one answer's and one look's round trip later
 * (10–150 ms under load, on every create and on the canaries' critical path). Looks stay at least a
 * twentieth of an interval apart; a region clock that is off only shifts the ticks.
 */
export function untilNextTick(startedAt: number, pollMs: number, now = Date.now()): number {
  const tick = Math.max(1, Math.ceil((now - startedAt) / pollMs));
  return Math.max(pollMs / 20, startedAt + tick * pollMs - now);
}

/** The region's clock says when the build began; fall back to now when it says nothing usable. */
function buildStartedAt(server: Server): number {
  const at = Date.parse(server.created_at);
  return Number.isNaN(at) ? Date.now() : at;
}
