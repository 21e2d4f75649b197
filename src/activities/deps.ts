// What every activity factory receives: the cloud port and the resolved options.
import type { CloudPort } from '../cloud/port';
import type { ActivityOptions } from './options';
import type { Pulse } from './pulse';
import type { WaitContext } from './waits';

export interface ActivityDeps {
  cloud: CloudPort;
  options: ActivityOptions;
}

export function waitContext(deps: ActivityDeps, pulse: Pulse, details: Record<string, unknown>): WaitContext {
  return { cloud: deps.cloud, pulse, pollMs: deps.options.pollMs, details, pollErrors: 0 };
}
