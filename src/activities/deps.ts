// What every activity factory receives: the cloud port and the resolved options.
import type { Cloud } from '../cloud/port';
import type { ActivityOptions } from './options';
import type { ServerLookups } from './lookups';
import type { Pulse } from './pulse';
import type { WaitContext } from './waits';

export interface ActivityDeps {
  cloud: Cloud;
  options: ActivityOptions;
  /** Every wait's polls, coalesced across the worker's activities. */
  lookups: ServerLookups;
}

export function waitContext(deps: ActivityDeps, pulse: Pulse, details: Record<string, unknown>): WaitContext {
  return {
    cloud: deps.cloud,
    look: (id) => deps.lookups.look(id),
    pulse,
    pollMs: deps.options.pollMs,
    details,
    pollErrors: 0,
  };
}
