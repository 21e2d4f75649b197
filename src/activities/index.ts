// The activities, built from a cloud port: the worker passes its one cached region client, a test
// passes a client of the region it started. One file per activity; this file only wires them.
import type { Cloud } from '../cloud/port';
import type { ConvergeActivities } from '../domain/activities';
import { associateVmToInstance } from './associate-vm-to-instance';
import { createVm } from './create-vm';
import { createVms } from './create-vms';
import { deleteDisk } from './delete-disk';
import { deleteServer } from './delete-server';
import { detachDisk } from './detach-disk';
import { enactChain } from './enact-chain';
import { enactChains } from './enact-chains';
import { getPool } from './get-pool';
import { instanceAction } from './instance-action';
import { ServerLookups } from './lookups';
import { observe } from './observe';
import { resolveOptions, type ActivityOptions } from './options';
import { releaseQuota } from './release-quota';
import { withTransientRetries } from './transient';

export { DEFAULT_ACTIVITY_OPTIONS, type ActivityOptions } from './options';
export { RETRYABLE } from './failures';
export { allocationKey, serverKey } from './keys';
export type { CreateVmProgress } from './create-vm';

/**
 * The activities as plain function properties, checked against the contract: a worker registers them
 * by name, and a test may hand one around on its own, since none of them uses `this`.
 */
export function createActivities(cloud: Cloud, options: Partial<ActivityOptions> = {}) {
  const resolved = resolveOptions(options);
  const port = withTransientRetries(cloud, resolved.transientRetries);
  const deps = { cloud: port, options: resolved, lookups: new ServerLookups(port, resolved.lookupWindowMs) };
  const chainable = {
    associateVmToInstance: associateVmToInstance(deps),
    deleteServer: deleteServer(deps),
    releaseQuota: releaseQuota(deps),
  };
  const create = createVm(deps);
  const chain = enactChain(chainable);
  return {
    observe: observe(deps),
    getPool: getPool(deps),
    createVm: create,
    createVms: createVms(create, resolved.heartbeatEveryMs),
    ...chainable,
    detachDisk: detachDisk(deps),
    deleteDisk: deleteDisk(deps),
    instanceAction: instanceAction(deps),
    enactChain: chain,
    enactChains: enactChains(chain, resolved.heartbeatEveryMs),
  } satisfies ConvergeActivities;
}

export type ActivityFunctions = ReturnType<typeof createActivities>;
