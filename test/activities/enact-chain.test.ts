// enact-chain against a real region: a hot_swap unit's associate, delete-server and release-quota in
// one activity, repeated safely; a non-retryable failure past the first link says how far it got,
// anything else passes through untouched so Temporal retries the whole (idempotent) chain.
// enact-chains: chains ready together as one activity, each with its own outcome: done with its links'
// results, failed for good (with the links done before it), or sent back to run alone after a
// retryable failure. One chain's trouble never fails the others. A step that chains into nothing (a
// fresh VM's associate, a disk's detach or delete) rides in the batch as a chain of one.
import { beforeEach, describe, expect, it } from 'vitest';
import { createActivities, RETRYABLE } from '../../src/activities';
import { NotFound } from '../../src/cloud/errors';
import { NON_RETRYABLE, type ChainBreak, type ChainInput } from '../../src/domain/activities';
import { TAG } from '../../src/domain/cloud';
import { regionForFile } from '../support/region';
import { deploymentName, failActivity, regionConfig, runActivity, vmInput } from './harness';

const region = regionForFile({
  config: regionConfig([{ name: 'nfs-1', type: 'nfs', can_create: true, capacity_gb: 100 }]),
  faults: { build_ms: 20, delete_ms: 60 },
});

beforeEach(async () => {
  await region.client.setFaults({ build_ms: 20, delete_ms: 60, error_rate: 0 });
});

const activities = () => createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 0 });

async function vm(deployment: string, claim: string, operation = 'op-1') {
  const { value } = await runActivity(activities().createVm, [vmInput(deployment, claim, { operation })]);
  return value;
}

describe('enact-chain', () => {
  it('associates the new VM, deletes the old server, then releases its quota; a second run changes nothing', async () => {
    const deployment = deploymentName('chain');
    const old = await vm(deployment, 'api/0');
    const fresh = await vm(deployment, 'api/0', 'op-2');
    const input: ChainInput = {
      links: [
        {
          kind: 'associate-vm-to-instance',
          input: { deployment, serverId: fresh.serverId, instanceId: 'uuid-0', disk: null },
        },
        { kind: 'delete-server', input: { serverId: old.serverId } },
        { kind: 'release-quota', input: { allocationId: old.allocationId, serverId: old.serverId } },
      ],
    };
    const first = await runActivity(activities().enactChain, [input]);
    expect(first.value.results).toEqual([
      { volumeId: null, volumePool: null, volumeCreated: false },
      null,
      null,
    ]);
    expect((await region.client.getServer(fresh.serverId)).tags[TAG.instance]).toBe('uuid-0');
    await expect(region.client.getServer(old.serverId)).rejects.toBeInstanceOf(NotFound);
    const left = await region.client.listAllocations({ [TAG.deployment]: deployment });
    expect(left.map((a) => a.id)).toEqual([fresh.allocationId]);

    const again = await runActivity(activities().enactChain, [input]);
    expect(again.value).toEqual(first.value);
    const events = await region.client.events();
    const deleted = events.filter((e) => e.type === 'server.deleted' && e.subject === old.serverId);
    expect(deleted).toHaveLength(1);
  });

  it('a non-retryable failure past the first link carries the links done before it', async () => {
    const deployment = deploymentName('chain');
    const old = await vm(deployment, 'api/0');
    const foreign = await vm(deploymentName('other'), 'api/0');
    const failure = await failActivity(activities().enactChain, [
      {
        links: [
          { kind: 'delete-server', input: { serverId: old.serverId } },
          // A server of another deployment: associate refuses it, and no retry can change that.
          {
            kind: 'associate-vm-to-instance',
            input: { deployment, serverId: foreign.serverId, instanceId: 'uuid-0', disk: null },
          },
        ],
      },
    ]);
    expect(failure.type).toBe(NON_RETRYABLE.invalidState);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(foreign.serverId);
    const details: ChainBreak = { completed: 1, results: [null] };
    expect(failure.details).toEqual([details]);
    await expect(region.client.getServer(old.serverId)).rejects.toBeInstanceOf(NotFound);
  });

  it('a retryable failure passes through as it is, so Temporal retries the whole chain', async () => {
    const deployment = deploymentName('chain');
    const gone = await vm(deployment, 'api/0');
    const alive = await vm(deployment, 'api/1');
    const failure = await failActivity(activities().enactChain, [
      {
        links: [
          { kind: 'delete-server', input: { serverId: gone.serverId } },
          // Two-stage: the allocation of a server that still exists is not released.
          { kind: 'release-quota', input: { allocationId: alive.allocationId, serverId: alive.serverId } },
        ],
      },
    ]);
    expect(failure.type).toBe(RETRYABLE.serverStillExists);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.details ?? []).toEqual([]);
  });

  it('a failure of the first link is that step’s own failure, with no chain details', async () => {
    const deployment = deploymentName('chain');
    const foreign = await vm(deploymentName('other'), 'api/0');
    const failure = await failActivity(activities().enactChain, [
      {
        links: [
          {
            kind: 'associate-vm-to-instance',
            input: { deployment, serverId: foreign.serverId, instanceId: 'uuid-0', disk: null },
          },
          { kind: 'delete-server', input: { serverId: foreign.serverId } },
        ],
      },
    ]);
    expect(failure.type).toBe(NON_RETRYABLE.invalidState);
    expect((failure.details ?? []).length).toBe(0);
    // The chain stopped at the failed link: the server it would have deleted is still there.
    expect((await region.client.getServer(foreign.serverId)).id).toBe(foreign.serverId);
  });
});

/**
 * A hot_swap unit of `deployment` for claim `api/<i>`: its old VM, the new one, and the chain that
 * associates the new VM with instance `uuid-<i>`, deletes the old server and releases its quota.
 */
async function replaced(deployment: string, i: number) {
  const old = await vm(deployment, `api/${i}`);
  const fresh = await vm(deployment, `api/${i}`, 'op-2');
  const chain: ChainInput = {
    links: [
      {
        kind: 'associate-vm-to-instance',
        input: { deployment, serverId: fresh.serverId, instanceId: `uuid-${i}`, disk: null },
      },
      { kind: 'delete-server', input: { serverId: old.serverId } },
      { kind: 'release-quota', input: { allocationId: old.allocationId, serverId: old.serverId } },
    ],
  };
  return { old, fresh, chain };
}

describe('enact-chains', () => {
  it('runs every chain of the batch; a second run finds them done and deletes nothing twice', async () => {
    const deployment = deploymentName('chains');
    const units = await Promise.all([0, 1, 2].map((i) => replaced(deployment, i)));
    const input = { chains: units.map((u) => u.chain) };
    const first = await runActivity(activities().enactChains, [input]);
    const done = { volumeId: null, volumePool: null, volumeCreated: false };
    expect(first.value.results).toEqual(units.map(() => ({ done: { results: [done, null, null] } })));
    for (const [i, u] of units.entries()) {
      expect((await region.client.getServer(u.fresh.serverId)).tags[TAG.instance]).toBe(`uuid-${i}`);
      await expect(region.client.getServer(u.old.serverId)).rejects.toBeInstanceOf(NotFound);
    }
    const left = await region.client.listAllocations({ [TAG.deployment]: deployment });
    expect(left.map((a) => a.id).sort()).toEqual(units.map((u) => u.fresh.allocationId).sort());

    const again = await runActivity(activities().enactChains, [input]);
    expect(again.value).toEqual(first.value);
    const deleted = (await region.client.events()).filter(
      (e) => e.type === 'server.deleted' && units.some((u) => u.old.serverId === e.subject),
    );
    expect(deleted).toHaveLength(3);
  });

  it('a chain that fails for good comes back failed, with the links done before it; the others finish', async () => {
    const deployment = deploymentName('chains');
    const unit = await replaced(deployment, 0);
    const doomed = await vm(deployment, 'api/1');
    const foreign = await vm(deploymentName('other'), 'api/1');
    const { value } = await runActivity(activities().enactChains, [
      {
        chains: [
          unit.chain,
          {
            links: [
              { kind: 'delete-server', input: { serverId: doomed.serverId } },
              // A server of another deployment: associate refuses it, and no retry can change that.
              {
                kind: 'associate-vm-to-instance',
                input: { deployment, serverId: foreign.serverId, instanceId: 'uuid-1', disk: null },
              },
            ],
          },
        ],
      },
    ]);
    expect(value.results[0]).toHaveProperty('done');
    const failed = value.results[1];
    expect(failed && 'failed' in failed ? failed.failed : null).toMatchObject({
      type: NON_RETRYABLE.invalidState,
      broke: { completed: 1, results: [null] },
    });
    await expect(region.client.getServer(unit.old.serverId)).rejects.toBeInstanceOf(NotFound);
    await expect(region.client.getServer(doomed.serverId)).rejects.toBeInstanceOf(NotFound);
  });

  it('a chain that fails retryably comes back alone; the others finish', async () => {
    const deployment = deploymentName('chains');
    const unit = await replaced(deployment, 0);
    const gone = await vm(deployment, 'api/1');
    const alive = await vm(deployment, 'api/2');
    const { value } = await runActivity(activities().enactChains, [
      {
        chains: [
          unit.chain,
          {
            links: [
              { kind: 'delete-server', input: { serverId: gone.serverId } },
              // Two-stage: the allocation of a server that still exists is not released (retryable).
              {
                kind: 'release-quota',
                input: { allocationId: alive.allocationId, serverId: alive.serverId },
              },
            ],
          },
        ],
      },
    ]);
    expect(value.results[0]).toHaveProperty('done');
    expect(value.results[1]).toHaveProperty('alone');
    expect((await region.client.getServer(alive.serverId)).id).toBe(alive.serverId);
  });

  it('carries chains of one (an associate, a detach-disk, a delete-disk), each with its own step’s outcome', async () => {
    const deployment = deploymentName('ones');
    const fresh = await vm(deployment, 'api/0');
    const [held, attached] = await Promise.all([vm(deployment, 'api/1'), vm(deployment, 'api/2')]);
    const disk = { size_gb: 1, type: null, cloud_properties: {} };
    const volumeOf = async (serverId: string, instanceId: string): Promise<string> => {
      const { value } = await runActivity(activities().associateVmToInstance, [
        { deployment, serverId, instanceId, disk },
      ]);
      return value.volumeId ?? '';
    };
    const heldVolume = await volumeOf(held.serverId, 'uuid-1');
    const attachedVolume = await volumeOf(attached.serverId, 'uuid-2');
    const batch = {
      chains: [
        {
          links: [
            {
              kind: 'associate-vm-to-instance' as const,
              input: { deployment, serverId: fresh.serverId, instanceId: 'uuid-0', disk: null },
            },
          ],
        },
        {
          links: [{ kind: 'detach-disk' as const, input: { volumeId: heldVolume, serverId: held.serverId } }],
        },
        // Still attached: delete-disk's Conflict is retryable, so it comes back to run alone.
        { links: [{ kind: 'delete-disk' as const, input: { volumeId: attachedVolume } }] },
      ],
    };
    const { value } = await runActivity(activities().enactChains, [batch]);
    expect(value.results[0]).toEqual({
      done: { results: [{ volumeId: null, volumePool: null, volumeCreated: false }] },
    });
    expect(value.results[1]).toEqual({ done: { results: [null] } });
    expect(value.results[2]).toHaveProperty('alone');
    expect((await region.client.getServer(fresh.serverId)).tags[TAG.instance]).toBe('uuid-0');
    const volumes = await region.client.listVolumes({ [TAG.deployment]: deployment });
    const byId = new Map(volumes.map((v) => [v.id, v.server_id]));
    expect(byId.get(heldVolume)).toBeNull();
    expect(byId.get(attachedVolume)).toBe(attached.serverId);

    // The detached disk's delete, twice (idempotent); the detach again changes nothing.
    const second = {
      chains: [{ links: [{ kind: 'delete-disk' as const, input: { volumeId: heldVolume } }] }],
    };
    for (let i = 0; i < 2; i++) {
      const again = await runActivity(activities().enactChains, [second]);
      expect(again.value.results).toEqual([{ done: { results: [null] } }]);
    }
    const left = await region.client.listVolumes({ [TAG.deployment]: deployment });
    expect(left.map((v) => v.id)).toEqual([attachedVolume]);
  });
});
