// Attach-or-create (oVirt's storage algorithm), as pure choices over what the region reported:
// reuse the instance's own volume, else pick the first storage pool (region order) that can create
// volumes, has room, and is of the disk type's pool_type when one is asked for.
import type { Volume } from '../domain/cloud';
import type { StoragePool } from '../cloud/port';

export interface DiskRequest {
  size_gb: number;
  type: string | null;
  cloud_properties: Record<string, unknown>;
}

/** Why a pool was passed over; null when it can take the volume. */
export interface PoolVerdict {
  pool: string;
  reason: string | null;
}

/**
 * Which of the instance's volumes to use: the one already on this server, else a free one, else one
 * attached elsewhere (the instance's old VM during a hot swap: the disk moves). Ties go to the lowest
 * id, never to whatever the region listed first.
 */
export function pickOwnVolume(
  volumes: readonly Volume[],
  serverId: string,
): { volume: Volume; action: 'none' | 'attach' | 'move' } | null {
  const sorted = [...volumes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const here = sorted.find((v) => v.server_id === serverId);
  if (here) return { volume: here, action: 'none' };
  const free = sorted.find((v) => v.server_id === null);
  if (free) return { volume: free, action: 'attach' };
  const elsewhere = sorted[0];
  return elsewhere ? { volume: elsewhere, action: 'move' } : null;
}

export function judgePools(pools: readonly StoragePool[], disk: DiskRequest): PoolVerdict[] {
  const wantedType = poolType(disk);
  return pools.map((pool) => ({ pool: pool.name, reason: unsuitability(pool, disk.size_gb, wantedType) }));
}

function unsuitability(pool: StoragePool, sizeGb: number, wantedType: string | null): string | null {
  if (!pool.can_create) return 'cannot create volumes';
  if (wantedType !== null && pool.type !== wantedType)
    return `type ${pool.type}, disk type wants ${wantedType}`;
  const free = pool.capacity_gb - pool.used_gb;
  if (free < sizeGb) return `${free} GiB free, ${sizeGb} GiB needed`;
  return null;
}

/**
 * A disk type may pin the storage type through `cloud_properties.pool_type` (the region's name for it)
 * or `volume_type` (EC2's: its pools are the EBS volume types); otherwise any type goes.
 */
function poolType(disk: DiskRequest): string | null {
  for (const t of [disk.cloud_properties.pool_type, disk.cloud_properties.volume_type])
    if (typeof t === 'string' && t !== '') return t;
  return null;
}

export function describeVerdicts(verdicts: readonly PoolVerdict[]): string {
  if (verdicts.length === 0) return 'the region has no storage pools';
  return verdicts.map((v) => `${v.pool} (${v.reason ?? 'suitable'})`).join(', ');
}
