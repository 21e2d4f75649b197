// The embodiment: what exists, found by reserved tags and joined with the instance records.
// Pure; classifies each instance and sets aside duplicates, orphans, stray allocations and volumes.
import { TAG, type Allocation, type Observed, type Server, type Volume } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import { compareCodeUnits } from './canonical';
import { rankServers } from './compare';
import type { EmbodiedInstance, Embodiment, InstanceCondition } from './types';

const byId = <T extends { id: string }>(a: T, b: T): number => compareCodeUnits(a.id, b.id);

/**
 * Joins:
 * - a server to an instance by its `converge.instance` tag (set at association);
 * - an allocation to a server by the server's `converge.allocation` tag;
 * - a volume to an instance by the volume's `converge.instance` tag.
 * Only objects tagged `converge.deployment = deployment` are ours (a volume needs only its instance
 * tag to be joined, but the deployment tag to ever count as a stray we may delete).
 */
export function embodiment(
  deployment: string,
  observed: Observed,
  records: readonly InstanceRecord[],
): Embodiment {
  const ours = (tags: Record<string, string>): boolean => tags[TAG.deployment] === deployment;
  const recordIds = new Set(records.map((r) => r.id));

  const serversOf = new Map<string, Server[]>();
  const orphans: Server[] = [];
  const consumed = new Set<string>();
  for (const server of observed.servers) {
    if (!ours(server.tags)) continue;
    const alloc = server.tags[TAG.allocation];
    if (alloc !== undefined) consumed.add(alloc);
    const owner = server.tags[TAG.instance];
    if (owner !== undefined && recordIds.has(owner)) {
      const list = serversOf.get(owner);
      if (list) list.push(server);
      else serversOf.set(owner, [server]);
    } else orphans.push(server);
  }

  const allocations = observed.allocations.filter((a) => ours(a.tags)).sort(byId);
  const allocationById = new Map<string, Allocation>(allocations.map((a) => [a.id, a]));

  const volumesOf = new Map<string, Volume[]>();
  const strayVolumes: Volume[] = [];
  for (const volume of observed.volumes) {
    const owner = volume.tags[TAG.instance];
    if (owner !== undefined && recordIds.has(owner)) {
      const list = volumesOf.get(owner);
      if (list) list.push(volume);
      else volumesOf.set(owner, [volume]);
    } else if (ours(volume.tags)) strayVolumes.push(volume);
  }

  const instances = records.map((record) =>
    embody(record, serversOf.get(record.id) ?? [], volumesOf.get(record.id) ?? [], allocationById),
  );
  instances.sort(
    (a, b) =>
      compareCodeUnits(a.record.group, b.record.group) ||
      a.record.index - b.record.index ||
      compareCodeUnits(a.record.id, b.record.id),
  );

  return {
    deployment,
    instances,
    orphans: orphans.sort(byId),
    strayAllocations: allocations.filter((a) => !consumed.has(a.id)),
    strayVolumes: strayVolumes.sort(byId),
    allocations,
  };
}

function embody(
  record: InstanceRecord,
  servers: Server[],
  volumes: Volume[],
  allocationById: ReadonlyMap<string, Allocation>,
): EmbodiedInstance {
  // The instance's volume: the one attached to one of its servers first, then a free one, then by id.
  const volume = volumes.length <= 1 ? (volumes[0] ?? null) : pickVolume(volumes, servers);
  const hasVolume = (s: Server): boolean => volume !== null && volume.server_id === s.id;

  // A DELETING server is on its way out: never the instance's VM, but still to be awaited and released.
  const only = servers.length === 1 ? servers[0] : undefined;
  // The common case (one server, not DELETING) needs no ranking.
  const live =
    only && only.state !== 'DELETING'
      ? servers
      : rankServers(
          servers.filter((s) => s.state !== 'DELETING'),
          { hasVolume },
        );
  const departing =
    only && only.state !== 'DELETING' ? [] : servers.filter((s) => s.state === 'DELETING').sort(byId);
  const server = live[0] ?? null;
  const alloc = server?.tags[TAG.allocation];
  return {
    record,
    server,
    duplicates: live.length <= 1 && departing.length === 0 ? [] : [...live.slice(1), ...departing],
    allocation: alloc === undefined ? null : (allocationById.get(alloc) ?? null),
    volume,
    condition: condition(record, server, departing.length > 0),
  };
}

function pickVolume(volumes: readonly Volume[], servers: readonly Server[]): Volume | null {
  const serverIds = new Set(servers.map((s) => s.id));
  const rank = (v: Volume): number =>
    v.server_id !== null && serverIds.has(v.server_id) ? 0 : v.server_id === null ? 1 : 2;
  return [...volumes].sort((a, b) => rank(a) - rank(b) || compareCodeUnits(a.id, b.id))[0] ?? null;
}

function condition(record: InstanceRecord, server: Server | null, departing: boolean): InstanceCondition {
  if (record.state === 'detached') return 'detached';
  if (server === null) return departing ? 'in-flight' : 'missing-vm';
  if (server.state === 'ERROR') return 'failed';
  if (server.state === 'BUILD') return 'in-flight';
  return 'ok';
}
