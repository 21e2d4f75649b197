// observe: everything tagged for the deployment, in three list calls made at once. Sorted by id so
// the same cloud gives the same observation (the planner must not depend on the region's order).
// Asked for, it also reads the cloud's AZs and named networks (a cloud without them, EC2 whose networks
// are the cloud config's own, answers null), which the operation checks the cloud config against
// before any step (planner/topology.ts), and who holds the addresses it is given, whatever deployment
// (planner/held.ts: a static IP held outside the deployment is refused before any step).
import { TAG } from '../domain/cloud';
import type { ObserveInput, ObservedWithTopology } from '../domain/activities';
import type { ActivityDeps } from './deps';
import { asFailures } from './failures';

export function observe(deps: ActivityDeps): (input: ObserveInput) => Promise<ObservedWithTopology> {
  return (input) =>
    asFailures(`observe ${input.deployment}`, async () => {
      const tags = { [TAG.deployment]: input.deployment };
      const addresses = input.addresses ?? [];
      const [servers, allocations, volumes, topology, holders] = await Promise.all([
        deps.cloud.listServers(tags),
        deps.cloud.listAllocations(tags),
        deps.cloud.listVolumes(tags),
        input.topology ? deps.cloud.describeTopology?.() : undefined,
        addresses.length > 0 ? deps.cloud.addressHolders?.(addresses) : undefined,
      ]);
      const observed = { servers: byId(servers), allocations: byId(allocations), volumes: byId(volumes) };
      return {
        ...observed,
        ...(input.topology ? { topology: topology ?? null } : {}),
        ...(addresses.length > 0 ? { holders: holders ?? null } : {}),
      };
    });
}

function byId<T extends { id: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
