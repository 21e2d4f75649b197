// Orderings with explicit tie-breakers, in one place. Nothing in the planner ever keeps "the first".
import type { Server, ServerState } from '../domain/cloud';
import { compareCodeUnits } from './canonical';

/** Lower is better: a running VM over a powered-off one over one still building over a failed one. */
const STATE_RANK: Record<ServerState, number> = { ACTIVE: 0, SHUTOFF: 1, BUILD: 2, ERROR: 3, DELETING: 4 };

/** created_at as milliseconds; unparseable dates sort as the oldest (fail closed: never preferred). */
function createdMs(server: Server): number {
  const ms = Date.parse(server.created_at);
  return Number.isNaN(ms) ? -Infinity : ms;
}

export interface ServerRanking {
  /** Does the server hold the instance's persistent volume? */
  hasVolume: (server: Server) => boolean;
}

type Criterion = { name: (kept: Server, other: Server) => string; compare: (a: Server, b: Server) => number };

function criteria(ctx: ServerRanking): Criterion[] {
  return [
    {
      compare: (a, b) => STATE_RANK[a.state] - STATE_RANK[b.state],
      name: (k, o) => `${k.state} over ${o.state}`,
    },
    {
      compare: (a, b) => Number(ctx.hasVolume(b)) - Number(ctx.hasVolume(a)),
      name: () => 'it holds the persistent disk',
    },
    { compare: (a, b) => createdMs(b) - createdMs(a), name: () => 'newer' },
    { compare: (a, b) => compareCodeUnits(a.id, b.id), name: () => 'lower id' },
  ];
}

/**
 * Which of several live servers embodying one instance to keep: ACTIVE first (then SHUTOFF, BUILD,
 * ERROR), then the one holding the instance's volume, then the newest, then the lowest id.
 */
export function rankServers(servers: readonly Server[], ctx: ServerRanking): Server[] {
  const cs = criteria(ctx);
  return [...servers].sort((a, b) => {
    for (const c of cs) {
      const d = c.compare(a, b);
      if (d !== 0) return d;
    }
    return 0;
  });
}

/** The tie-breaker that decided between two ranked servers, for the duplicate's reason. */
export function whyKept(kept: Server, other: Server, ctx: ServerRanking): string {
  for (const c of criteria(ctx)) if (c.compare(kept, other) !== 0) return c.name(kept, other);
  return 'same server';
}
