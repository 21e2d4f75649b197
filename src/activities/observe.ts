// observe: everything tagged for the deployment, in three list calls made at once. Sorted by id so
// the same cloud gives the same observation (the planner must not depend on the region's order).
// Asked for, it also reads the cloud's AZs and named networks (a cloud without them, EC2 whose networks
// are the cloud config's own, answers null), which the operation checks the cloud config against
// before any step (planner/topology.ts), and who holds the addresses it is given, whatever deployment
// (planner/held.ts: a static IP held outside the deployment is refused before any step), and the images
// it has for the stemcells it is given (planner/images.ts: a stemcell without one is refused too).
import { TAG, type Image } from '../domain/cloud';
import type { ObserveInput, ObservedWithTopology } from '../domain/activities';
import type { ActivityDeps } from './deps';
import { asFailures } from './failures';

export function observe(deps: ActivityDeps): (input: ObserveInput) => Promise<ObservedWithTopology> {
  return (input) =>
    asFailures(`observe ${input.deployment}`, async () => {
      const tags = { [TAG.deployment]: input.deployment };
      const addresses = input.addresses ?? [];
      const [servers, allocations, volumes, topology, holders, images] = await Promise.all([
        deps.cloud.listServers(tags),
        deps.cloud.listAllocations(tags),
        deps.cloud.listVolumes(tags),
        input.topology ? deps.cloud.describeTopology?.() : undefined,
        addresses.length > 0 ? deps.cloud.addressHolders?.(addresses) : undefined,
        input.stemcells ? imagesFor(deps, input.stemcells) : undefined,
      ]);
      const observed = { servers: byId(servers), allocations: byId(allocations), volumes: byId(volumes) };
      return {
        ...observed,
        ...(input.topology ? { topology: topology ?? null } : {}),
        ...(addresses.length > 0 ? { holders: holders ?? null } : {}),
        ...(images ? { images } : {}),
      };
    });
}

/** What the cloud lists, plus each asked stemcell it does not list but can find (EC2's AMI name pattern). */
async function imagesFor(deps: ActivityDeps, stemcells: readonly Image[]): Promise<Image[]> {
  const listed = await deps.cloud.listImages();
  const same = (a: Image) => (b: Image) => a.os === b.os && a.version === b.version;
  const unlisted = stemcells.filter((s, i) => !listed.some(same(s)) && stemcells.findIndex(same(s)) === i);
  const hasImage = deps.cloud.hasImage?.bind(deps.cloud);
  const found = hasImage
    ? (await Promise.all(unlisted.map(async (s) => ((await hasImage(s)) ? [s] : [])))).flat()
    : [];
  return [...listed, ...found]
    .map((i) => ({ os: i.os, version: i.version }))
    .sort(
      (a, b) => a.os.localeCompare(b.os) || a.version.localeCompare(b.version, undefined, { numeric: true }),
    );
}

function byId<T extends { id: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
