// observe: everything tagged for the deployment, in three list calls made at once. Sorted by id so
// the same cloud gives the same observation (the planner must not depend on the region's order).
import { TAG, type Observed } from '../domain/cloud';
import type { ObserveInput } from '../domain/activities';
import type { ActivityDeps } from './deps';
import { asFailures } from './failures';

export function observe(deps: ActivityDeps): (input: ObserveInput) => Promise<Observed> {
  return (input) =>
    asFailures(`observe ${input.deployment}`, async () => {
      const tags = { [TAG.deployment]: input.deployment };
      const [servers, allocations, volumes] = await Promise.all([
        deps.cloud.listServers(tags),
        deps.cloud.listAllocations(tags),
        deps.cloud.listVolumes(tags),
      ]);
      return { servers: byId(servers), allocations: byId(allocations), volumes: byId(volumes) };
    });
}

function byId<T extends { id: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
