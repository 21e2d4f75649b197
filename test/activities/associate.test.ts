// associate-vm-to-instance and the disk steps against a real region whose storage pools this test
// writes: the instance's own volume is reused, otherwise the first pool that can create volumes and
// has room is chosen, otherwise the failure names every pool and why it was passed over.
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities';
import { NON_RETRYABLE } from '../../src/domain/activities';
import type { AssociateInput } from '../../src/domain/activities';
import { TAG } from '../../src/domain/cloud';
import { regionForFile } from '../support/region';
import { deploymentName, failActivity, regionConfig, runActivity, vmInput } from './harness';

// Region order matters: san-1 comes first but cannot create; lvm-small is next and nearly full.
const STORAGE = [
  { name: 'san-1', type: 'iscsi', can_create: false, capacity_gb: 1000 },
  { name: 'lvm-small', type: 'lvm', can_create: true, capacity_gb: 15 },
  { name: 'nfs-1', type: 'nfs', can_create: true, capacity_gb: 100 },
];

const region = regionForFile({ config: regionConfig(STORAGE), faults: { build_ms: 40, delete_ms: 30 } });

const activities = () => createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 0 });

function disk(size_gb: number, cloud_properties: Record<string, unknown> = {}): AssociateInput['disk'] {
  return { size_gb, type: null, cloud_properties };
}

async function newVm(deployment: string, claim: string, operation = 'op-1'): Promise<string> {
  const { value } = await runActivity(activities().createVm, [vmInput(deployment, claim, { operation })]);
  return value.serverId;
}

async function volumesOf(deployment: string, instanceId: string) {
  return region.client.listVolumes({ [TAG.deployment]: deployment, [TAG.instance]: instanceId });
}

describe('associate-vm-to-instance', () => {
  it('tags the server with the instance uuid; twice is the same as once', async () => {
    const deployment = deploymentName('assoc');
    const serverId = await newVm(deployment, 'api/0');
    const input = { deployment, serverId, instanceId: 'uuid-nodisk', disk: null };
    const first = await runActivity(activities().associateVmToInstance, [input]);
    const second = await runActivity(activities().associateVmToInstance, [input]);
    expect(first.value).toEqual({ volumeId: null, volumePool: null, volumeCreated: false });
    expect(second.value).toEqual(first.value);
    expect((await region.client.getServer(serverId)).tags[TAG.instance]).toBe('uuid-nodisk');
  });

  it('creates the volume in the first pool that can create and has room, skipping one that cannot create; twice leaves one volume', async () => {
    const deployment = deploymentName('assoc');
    const serverId = await newVm(deployment, 'api/0');
    const input = { deployment, serverId, instanceId: 'uuid-a', disk: disk(10) };
    const first = await runActivity(activities().associateVmToInstance, [input]);
    expect(first.value).toMatchObject({ volumePool: 'lvm-small', volumeCreated: true });
    const second = await runActivity(activities().associateVmToInstance, [input]);
    expect(second.value).toEqual({ ...first.value, volumeCreated: false });
    const volumes = await volumesOf(deployment, 'uuid-a');
    expect(volumes).toEqual([
      expect.objectContaining({ id: first.value.volumeId, server_id: serverId, size_gb: 10 }),
    ]);

    // lvm-small now has 5 GiB left: the next 10 GiB volume goes to nfs-1.
    const otherServer = await newVm(deployment, 'api/1');
    const next = await runActivity(activities().associateVmToInstance, [
      { deployment, serverId: otherServer, instanceId: 'uuid-b', disk: disk(10) },
    ]);
    expect(next.value).toMatchObject({ volumePool: 'nfs-1', volumeCreated: true });
  });

  it("reuses the instance's existing free volume for its new VM instead of creating one", async () => {
    const deployment = deploymentName('assoc');
    const oldServer = await newVm(deployment, 'api/0');
    const created = await runActivity(activities().associateVmToInstance, [
      { deployment, serverId: oldServer, instanceId: 'uuid-c', disk: disk(3) },
    ]);
    await runActivity(activities().deleteServer, [{ serverId: oldServer }]); // the region detaches its volumes
    const newServer = await newVm(deployment, 'api/0', 'op-2');
    const reused = await runActivity(activities().associateVmToInstance, [
      { deployment, serverId: newServer, instanceId: 'uuid-c', disk: disk(3) },
    ]);
    expect(reused.value).toEqual({
      volumeId: created.value.volumeId,
      volumePool: created.value.volumePool,
      volumeCreated: false,
    });
    expect(await volumesOf(deployment, 'uuid-c')).toEqual([
      expect.objectContaining({ id: created.value.volumeId, server_id: newServer }),
    ]);
  });

  it("moves the instance's volume off its old VM onto the new one (hot swap)", async () => {
    const deployment = deploymentName('assoc');
    const oldServer = await newVm(deployment, 'api/0');
    const created = await runActivity(activities().associateVmToInstance, [
      { deployment, serverId: oldServer, instanceId: 'uuid-d', disk: disk(2) },
    ]);
    const newServer = await newVm(deployment, 'api/0', 'op-2');
    const moved = await runActivity(activities().associateVmToInstance, [
      { deployment, serverId: newServer, instanceId: 'uuid-d', disk: disk(2) },
    ]);
    expect(moved.value.volumeId).toBe(created.value.volumeId);
    expect(await volumesOf(deployment, 'uuid-d')).toEqual([
      expect.objectContaining({ server_id: newServer }),
    ]);
  });

  it("honours a disk type's pool_type even when an earlier pool has room", async () => {
    const deployment = deploymentName('assoc');
    const serverId = await newVm(deployment, 'api/0');
    const { value } = await runActivity(activities().associateVmToInstance, [
      {
        deployment,
        serverId,
        instanceId: 'uuid-e',
        disk: { size_gb: 1, type: 'shared', cloud_properties: { pool_type: 'nfs' } },
      },
    ]);
    expect(value.volumePool).toBe('nfs-1');
  });

  it('fails non-retryably with NoStorageAvailable naming every pool and why, creating nothing', async () => {
    const deployment = deploymentName('assoc');
    const serverId = await newVm(deployment, 'api/0');
    const failure = await failActivity(activities().associateVmToInstance, [
      { deployment, serverId, instanceId: 'uuid-f', disk: disk(500) },
    ]);
    expect(failure.type).toBe(NON_RETRYABLE.noStorage);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('san-1 (cannot create volumes)');
    expect(failure.message).toMatch(/lvm-small \(\d+ GiB free, 500 GiB needed\)/);
    expect(failure.message).toMatch(/nfs-1 \(\d+ GiB free, 500 GiB needed\)/);
    expect(await volumesOf(deployment, 'uuid-f')).toEqual([]);
  });

  it("refuses a server that is already another instance's VM", async () => {
    const deployment = deploymentName('assoc');
    const serverId = await newVm(deployment, 'api/0');
    await runActivity(activities().associateVmToInstance, [
      { deployment, serverId, instanceId: 'uuid-g', disk: null },
    ]);
    const failure = await failActivity(activities().associateVmToInstance, [
      { deployment, serverId, instanceId: 'uuid-h', disk: null },
    ]);
    expect(failure.type).toBe(NON_RETRYABLE.invalidState);
    expect(failure.message).toContain('uuid-g');
    expect((await region.client.getServer(serverId)).tags[TAG.instance]).toBe('uuid-g');
  });
});

describe('detach-disk and delete-disk', () => {
  it('detach twice and delete twice leave no volume; a stale detach never takes the disk off its new VM', async () => {
    const deployment = deploymentName('disk');
    const oldServer = await newVm(deployment, 'api/0');
    const { value } = await runActivity(activities().associateVmToInstance, [
      { deployment, serverId: oldServer, instanceId: 'uuid-i', disk: disk(1) },
    ]);
    const volumeId = value.volumeId ?? '';
    const newServer = await newVm(deployment, 'api/0', 'op-2');
    await runActivity(activities().associateVmToInstance, [
      { deployment, serverId: newServer, instanceId: 'uuid-i', disk: disk(1) },
    ]);
    // The disk moved on: detaching it from the old server must leave it where it is.
    await runActivity(activities().detachDisk, [{ volumeId, serverId: oldServer }]);
    expect((await volumesOf(deployment, 'uuid-i'))[0]?.server_id).toBe(newServer);

    await runActivity(activities().detachDisk, [{ volumeId, serverId: newServer }]);
    await runActivity(activities().detachDisk, [{ volumeId, serverId: newServer }]);
    expect((await volumesOf(deployment, 'uuid-i'))[0]?.server_id).toBeNull();
    await runActivity(activities().deleteDisk, [{ volumeId }]);
    await runActivity(activities().deleteDisk, [{ volumeId }]);
    expect(await volumesOf(deployment, 'uuid-i')).toEqual([]);
  });

  it('deleting an attached disk is a retryable Conflict', async () => {
    const deployment = deploymentName('disk');
    const serverId = await newVm(deployment, 'api/0');
    const { value } = await runActivity(activities().associateVmToInstance, [
      { deployment, serverId, instanceId: 'uuid-j', disk: disk(1) },
    ]);
    const failure = await failActivity(activities().deleteDisk, [{ volumeId: value.volumeId ?? '' }]);
    expect(failure.type).toBe('Conflict');
    expect(failure.nonRetryable).toBe(false);
  });
});
