// The quota ledger beside a compute backend that is not the region (EC2): the region's quota service
// keeps the allocations, and this wrapper keeps two-stage deprovision true for that backend. The
// region refuses a release while one of *its* servers consumes the allocation; it cannot see EC2's,
// so before a release the compute backend is asked whether a server tagged with the allocation is
// still there (shutting-down counts: only terminated is gone).
import { TAG, type Allocation, type PoolStatus, type Tags } from '../domain/cloud';
import { Conflict } from './errors';
import type { Cloud, ComputePort, CreateAllocationRequest, QuotaLedger } from './port';

export class GuardedLedger implements QuotaLedger {
  readonly #ledger: QuotaLedger;
  readonly #compute: ComputePort;

  constructor(ledger: QuotaLedger, compute: ComputePort) {
    this.#ledger = ledger;
    this.#compute = compute;
  }

  createAllocation(req: CreateAllocationRequest): Promise<Allocation> {
    return this.#ledger.createAllocation(req);
  }

  listAllocations(tags: Tags): Promise<Allocation[]> {
    return this.#ledger.listAllocations(tags);
  }

  getPool(name: string): Promise<PoolStatus> {
    return this.#ledger.getPool(name);
  }

  async deleteAllocation(id: string): Promise<void> {
    const holders = await this.#compute.listServers({ [TAG.allocation]: id });
    if (holders.length > 0) {
      throw new Conflict({
        code: 'allocation_in_use',
        status: 409,
        message: `allocation ${id} is still consumed by server(s) ${holders.map((s) => `${s.id} (${s.state})`).join(', ')}`,
      });
    }
    await this.#ledger.deleteAllocation(id);
  }
}

/** One object with both ports' methods, each bound to its own backend (what createActivities takes). */
export function joinCloud(compute: ComputePort, ledger: QuotaLedger): Cloud {
  return {
    createServer: (req) => compute.createServer(req),
    getServer: (id) => compute.getServer(id),
    lookupServers: (ids) => compute.lookupServers(ids),
    listServers: (tags) => compute.listServers(tags),
    setServerTags: (id, tags) => compute.setServerTags(id, tags),
    deleteServer: (id) => compute.deleteServer(id),
    serverAction: (id, action) => compute.serverAction(id, action),
    listStoragePools: () => compute.listStoragePools(),
    createVolume: (req) => compute.createVolume(req),
    listVolumes: (tags) => compute.listVolumes(tags),
    getVolume: (id) => compute.getVolume(id),
    attachVolume: (id, serverId) => compute.attachVolume(id, serverId),
    detachVolume: (id) => compute.detachVolume(id),
    deleteVolume: (id) => compute.deleteVolume(id),
    listImages: () => compute.listImages(),
    ...(compute.addressHolders ? { addressHolders: compute.addressHolders.bind(compute) } : {}),
    ...(compute.hasImage ? { hasImage: compute.hasImage.bind(compute) } : {}),
    createAllocation: (req) => ledger.createAllocation(req),
    listAllocations: (tags) => ledger.listAllocations(tags),
    deleteAllocation: (id) => ledger.deleteAllocation(id),
    getPool: (name) => ledger.getPool(name),
  };
}
