// The activities, built from a cloud port: the worker passes its one cached region client, a test
// passes a client of the region it started. One file per activity; this file only wires them.
import type { Cloud } from '../cloud/port';
import type {
  AssociateInput,
  ChainInput,
  ConvergeActivities,
  CreateVmInput,
  DeleteDiskInput,
  InstanceActionInput,
  DeleteServerInput,
  DetachDiskInput,
  ObserveInput,
  ReleaseQuotaInput,
} from '../domain/activities';
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
import { keepAlive } from './pulse';
import { resolveOptions, type ActivityOptions } from './options';
import { releaseQuota } from './release-quota';
import { reportingRetries, step, type StepKey } from './retry-report';
import { withTransientRetries } from './transient';
import type { CallbackActivities } from '../domain/callbacks';
import { DEFAULT_CALLBACK_TIMEOUT_MS, deliverCallbacks, type DeliveryDeps } from './deliver-callbacks';
import { watchCloud } from './watch-cloud';

export { DEFAULT_ACTIVITY_OPTIONS, type ActivityOptions } from './options';
export { RETRYABLE } from './failures';
export { allocationKey, serverKey } from './keys';
export type { CreateVmProgress } from './create-vm';
export { callbackSecretFromEnv, CallbackSecret } from './callback-secret';
export { CALLBACK_HEADERS, signCallback, verifyCallback } from './callback-signature';

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
    detachDisk: detachDisk(deps),
    deleteDisk: deleteDisk(deps),
  };
  const create = createVm(deps);
  const chain = enactChain(chainable);
  // Every step heartbeats while it runs, however slow the cloud's answers (pulse.ts, keepAlive).
  const alive =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      keepAlive(resolved.heartbeatEveryMs, () => fn(...args));
  // Batches never fail retryably (a create or chain that would runs again alone), so they report
  // nothing; each activity that Temporal retries reports its step's kind and key (retry-report.ts).
  // One step's activity: kept alive, reporting its retries as the step's kind and key.
  const single = <I, O>(kind: string, keyOf: (input: I) => string, fn: (input: I) => Promise<O>) =>
    alive(reportingRetries(step(kind, keyOf), fn));
  return {
    observe: single('observe', (i: ObserveInput) => i.deployment, observe(deps)),
    // Not reportingRetries: a watch pass belongs to no operation, and it swallows cloud errors itself.
    // Not kept alive either: it heartbeats on its own slices.
    watchCloud: watchCloud(deps),
    getPool: single('get-pool', (pool: string) => pool, getPool(deps)),
    createVm: single('create-vm', (i: CreateVmInput) => i.claim, create),
    createVms: alive(createVms(create, resolved.heartbeatEveryMs)),
    associateVmToInstance: single(
      'associate-vm-to-instance',
      (i: AssociateInput) => i.instanceId,
      chainable.associateVmToInstance,
    ),
    deleteServer: single('delete-server', (i: DeleteServerInput) => i.serverId, chainable.deleteServer),
    releaseQuota: single('release-quota', (i: ReleaseQuotaInput) => i.allocationId, chainable.releaseQuota),
    detachDisk: single('detach-disk', (i: DetachDiskInput) => i.volumeId, chainable.detachDisk),
    deleteDisk: single('delete-disk', (i: DeleteDiskInput) => i.volumeId, chainable.deleteDisk),
    // A power step (power-off, power-on, reboot) reports as its server's instance-action (waiting.ts).
    instanceAction: single('instance-action', (i: InstanceActionInput) => i.serverId, instanceAction(deps)),
    // A chain is in flight as its first link's step: it reports as that step.
    enactChain: alive(reportingRetries(chainHead, chain)),
    enactChains: alive(enactChains(chain, resolved.heartbeatEveryMs)),
  } satisfies ConvergeActivities;
}

export type ActivityFunctions = ReturnType<typeof createActivities>;

/**
 * The callback delivery activity, signing with the worker's secret (null: deliveries wait). A failed
 * attempt that Temporal retries is reported to the outbox as step `callback`, keyed by the URL.
 */
export function createCallbackActivities(
  deps: Pick<DeliveryDeps, 'secret'> & Partial<DeliveryDeps>,
): CallbackActivities {
  return {
    deliverCallbacks: reportingRetries(
      step('callback', (i: { url: string }) => i.url),
      deliverCallbacks({ timeoutMs: DEFAULT_CALLBACK_TIMEOUT_MS, ...deps }),
    ),
  };
}

/** A chain's first link, the step the workflow holds the chain in flight as. */
function chainHead(input: ChainInput): StepKey {
  const head = input.links[0];
  if (!head) return { kind: 'chain', key: '' };
  switch (head.kind) {
    case 'associate-vm-to-instance':
      return { kind: head.kind, key: head.input.instanceId };
    case 'delete-server':
      return { kind: head.kind, key: head.input.serverId };
    case 'release-quota':
      return { kind: head.kind, key: head.input.allocationId };
    case 'detach-disk':
    case 'delete-disk':
      return { kind: head.kind, key: head.input.volumeId };
  }
}
