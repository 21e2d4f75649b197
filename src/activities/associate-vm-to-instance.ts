// associate-vm-to-instance: the server becomes the instance's VM (tag converge.instance), and the
// instance's persistent volume is attached to it (attach-or-create). Repeating it changes nothing.
import type { AssociateInput, AssociateResult } from '../domain/activities';
import { DEFAULT_FAILURE_BUDGET, NON_RETRYABLE } from '../domain/activities';
import { TAG, type Server, type Tags } from '../domain/cloud';
import { Gone, QuotaExceeded } from '../cloud/errors';
import type { Volume } from '../domain/cloud';
import type { ActivityDeps } from './deps';
import { asFailures, conflictPastBudget, nonRetryable, retryable, RETRYABLE } from './failures';
import { pulse, type Pulse } from './pulse';
import { describeVerdicts, judgePools, pickOwnVolume, type DiskRequest } from './storage';

/** Volumes a Gone key may skip before we suspect a loop rather than a history of deleted disks. */
const MAX_VOLUME_GENERATIONS = 100;

export function associateVmToInstance(
  deps: ActivityDeps,
): (input: AssociateInput) => Promise<AssociateResult> {
  return (input) => {
    const what = `associate-vm-to-instance ${input.serverId} → ${input.instanceId}`;
    const p = pulse(deps.options.heartbeatEveryMs);
    // A disk busy elsewhere past the budget is persistent (it is the instance's own: nothing else frees it).
    return asFailures(what, () =>
      associate(deps, p, input).catch((err: unknown) => {
        throw conflictPastBudget(err, what, p.firstScheduledAt, input.budget ?? DEFAULT_FAILURE_BUDGET);
      }),
    );
  };
}

async function associate(deps: ActivityDeps, p: Pulse, input: AssociateInput): Promise<AssociateResult> {
  p.throwIfCancelled();
  const { cloud } = deps;
  // The server and the instance's volumes are read together, and the tag and the volume are
  // written together: they are different resources, and a disk unit's five calls in a row were
  // its whole lead over a unit without one on every wave of a hot_swap. Nothing is written
  // before the server passed refuseForeign.
  const [server, volumes] = await Promise.all([
    cloud.getServer(input.serverId),
    input.disk === null ? null : cloud.listVolumes(volumeTags(input)),
  ]);
  refuseForeign(server, input);
  const tagged = async (): Promise<void> => {
    if (server.tags[TAG.instance] !== input.instanceId) {
      await cloud.setServerTags(server.id, { [TAG.instance]: input.instanceId });
    }
    p.heartbeat({ serverId: server.id, tagged: true });
  };
  if (input.disk === null || volumes === null) {
    await tagged();
    return { volumeId: null, volumePool: null, volumeCreated: false };
  }
  const [, attached] = await settledTogether(tagged(), attachOrCreate(deps, p, input, input.disk, volumes));
  return attached;
}

/**
 * Both results once both have settled, or the first failure: an attempt never fails while one of its
 * writes is still under way (a retry could otherwise overlap it).
 */
async function settledTogether<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/** Fail closed: a server of another deployment or already another instance's VM is a planning error. */
function refuseForeign(server: Server, input: AssociateInput): void {
  const deployment = server.tags[TAG.deployment];
  if (deployment !== input.deployment) {
    throw nonRetryable(
      NON_RETRYABLE.invalidState,
      `server ${server.id} belongs to deployment ${deployment ?? '(none)'}, not ${input.deployment}`,
    );
  }
  const owner = server.tags[TAG.instance];
  if (owner !== undefined && owner !== input.instanceId) {
    throw nonRetryable(
      NON_RETRYABLE.invalidState,
      `server ${server.id} is already the VM of instance ${owner}; refusing to associate it with ${input.instanceId}`,
    );
  }
}

async function attachOrCreate(
  deps: ActivityDeps,
  p: Pulse,
  input: AssociateInput,
  disk: DiskRequest,
  volumes: readonly Volume[],
): Promise<AssociateResult> {
  const { cloud } = deps;
  const own = pickOwnVolume(volumes, input.serverId);
  if (own !== null) {
    p.throwIfCancelled();
    if (own.action === 'move') await cloud.detachVolume(own.volume.id);
    if (own.action !== 'none') await cloud.attachVolume(own.volume.id, input.serverId);
    return { volumeId: own.volume.id, volumePool: own.volume.pool, volumeCreated: false };
  }

  const verdicts = judgePools(await cloud.listStoragePools(), disk);
  const chosen = verdicts.find((v) => v.reason === null);
  if (chosen === undefined) {
    throw nonRetryable(
      NON_RETRYABLE.noStorage,
      `no storage pool can hold a ${disk.size_gb} GiB volume for instance ${input.instanceId}: ${describeVerdicts(verdicts)}`,
      { pools: verdicts },
    );
  }
  p.throwIfCancelled();
  const volume = await createVolume(deps, input, chosen.pool, disk.size_gb, volumeTags(input));
  p.heartbeat({ serverId: input.serverId, volumeId: volume.id });
  await cloud.attachVolume(volume.id, input.serverId);
  return { volumeId: volume.id, volumePool: chosen.pool, volumeCreated: true };
}

/**
 * Keyed per instance and generation: a lost answer or a concurrent retry gets the same volume back.
 * A generation whose volume was deleted (Gone) is skipped; the tag lookup above already found any
 * live one, so the first key that is not Gone is the one to create.
 */
async function createVolume(
  deps: ActivityDeps,
  input: AssociateInput,
  pool: string,
  sizeGb: number,
  tags: Tags,
): Promise<Volume> {
  for (let generation = 1; generation <= MAX_VOLUME_GENERATIONS; generation += 1) {
    try {
      return await deps.cloud.createVolume({
        pool,
        size_gb: sizeGb,
        tags,
        idempotency_key: `${input.deployment}/${input.instanceId}/disk/${generation}`,
        // A cloud whose volumes live in one AZ (EBS) creates it beside the server it is for.
        near_server: input.serverId,
      });
    } catch (err) {
      // The pool filled up between our look and the create: a retry judges the pools afresh.
      if (err instanceof QuotaExceeded)
        throw retryable(RETRYABLE.conflict, `storage pool ${pool} filled up meanwhile: ${err.message}`);
      if (!(err instanceof Gone)) throw err;
    }
  }
  throw nonRetryable(
    NON_RETRYABLE.invalidState,
    `instance ${input.instanceId} has had ${MAX_VOLUME_GENERATIONS} volumes deleted; refusing to create another`,
  );
}

function volumeTags(input: AssociateInput): Tags {
  return { [TAG.deployment]: input.deployment, [TAG.instance]: input.instanceId };
}
