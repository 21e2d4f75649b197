// get-pool: a quota pool's limits and usage (the enactor checks the obligation's peak against it).
import type { PoolStatus } from '../domain/cloud';
import type { ActivityDeps } from './deps';
import { asFailures } from './failures';

export function getPool(deps: ActivityDeps): (pool: string) => Promise<PoolStatus> {
  return (pool) => asFailures(`get-pool ${pool}`, () => deps.cloud.getPool(pool));
}
