// Two-stage deprovision against a real region: delete-server returns only once the server is gone,
// release-quota refuses while any server consumes the allocation, and both are safe to repeat.
import { beforeEach, describe, expect, it } from 'vitest';
import { createActivities, RETRYABLE } from '../../src/activities';
import { NotFound } from '../../src/cloud/errors';
import { NON_RETRYABLE } from '../../src/domain/activities';
import { TAG } from '../../src/domain/cloud';
import { regionForFile } from '../support/region';
import { deploymentName, failActivity, regionConfig, runActivity, vmInput } from './harness';

const region = regionForFile({ config: regionConfig(), faults: { build_ms: 40, delete_ms: 150 } });

beforeEach(async () => {
  await region.client.setFaults({
    build_ms: 40,
    delete_ms: 150,
    error_rate: 0,
    error_build_rate: 0,
    stuck_build_rate: 0,
  });
});

const fast = () => createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 0 });

async function expectGone(serverId: string): Promise<void> {
  await expect(region.client.getServer(serverId)).rejects.toBeInstanceOf(NotFound);
}

describe('delete-server', () => {
  it('returns only when the server answers 404, heartbeating while it waits; a second run is a no-op', async () => {
    const activities = fast();
    const { value: vm } = await runActivity(activities.createVm, [vmInput(deploymentName('del'), 'api/0')]);
    const first = await runActivity(activities.deleteServer, [{ serverId: vm.serverId }]);
    // Gone the moment it returns (a return at DELETING would still find it), and it saw DELETING on the way.
    await expectGone(vm.serverId);
    expect(first.heartbeats).toContainEqual(
      expect.objectContaining({ serverId: vm.serverId, state: 'DELETING' }),
    );
    await runActivity(activities.deleteServer, [{ serverId: vm.serverId }]);
    await expectGone(vm.serverId);
  });

  it('a server that never existed counts as deleted', async () => {
    await runActivity(fast().deleteServer, [{ serverId: 'srv-does-not-exist' }]);
  });

  it('fails retryably when the server outlives the delete deadline, and a retry finishes the job', async () => {
    const { value: vm } = await runActivity(fast().createVm, [vmInput(deploymentName('del'), 'api/0')]);
    await region.client.setFaults({ delete_ms: 600 });
    const impatient = createActivities(region.client, {
      pollMs: 20,
      heartbeatEveryMs: 0,
      deleteDeadlineMs: 100,
    });
    const failure = await failActivity(impatient.deleteServer, [{ serverId: vm.serverId }]);
    expect(failure.type).toBe(RETRYABLE.deleteTimeout);
    expect(failure.nonRetryable).toBe(false);
    await runActivity(fast().deleteServer, [{ serverId: vm.serverId }]);
    await expectGone(vm.serverId);
  });
});

describe('release-quota (two-stage guard)', () => {
  it('refuses retryably while the server exists, succeeds once delete-server has finished, and repeats safely', async () => {
    const activities = fast();
    const deployment = deploymentName('two-stage');
    const { value: vm } = await runActivity(activities.createVm, [vmInput(deployment, 'api/0')]);

    const named = await failActivity(activities.releaseQuota, [
      { allocationId: vm.allocationId, serverId: vm.serverId },
    ]);
    expect(named.type).toBe(RETRYABLE.serverStillExists);
    expect(named.nonRetryable).toBe(false);
    expect(named.message).toContain(vm.serverId);
    // Without a server named in the step, the allocation tag still finds the consumer.
    const unnamed = await failActivity(activities.releaseQuota, [
      { allocationId: vm.allocationId, serverId: null },
    ]);
    expect(unnamed.type).toBe(RETRYABLE.serverStillExists);

    // Deletion requested but not finished: DELETING still holds the quota.
    await region.client.deleteServer(vm.serverId);
    const deleting = await failActivity(activities.releaseQuota, [
      { allocationId: vm.allocationId, serverId: vm.serverId },
    ]);
    expect(deleting.message).toContain('DELETING');
    expect(await region.client.listAllocations({ [TAG.deployment]: deployment })).toHaveLength(1);

    await runActivity(activities.deleteServer, [{ serverId: vm.serverId }]);
    await runActivity(activities.releaseQuota, [{ allocationId: vm.allocationId, serverId: vm.serverId }]);
    await runActivity(activities.releaseQuota, [{ allocationId: vm.allocationId, serverId: vm.serverId }]);
    expect(await region.client.listAllocations({ [TAG.deployment]: deployment })).toHaveLength(0);

    const events = (await region.client.events()).filter((e) => e.tags[TAG.deployment] === deployment);
    const deletedAt = events.findIndex((e) => e.type === 'server.deleted');
    const releasedAt = events.findIndex((e) => e.type === 'allocation.released');
    expect(deletedAt).toBeGreaterThanOrEqual(0);
    expect(releasedAt).toBeGreaterThan(deletedAt);
  });

  it('a create-vm retried after its quota was released fails non-retryably as stale (Gone)', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('stale'), 'api/0');
    const { value: vm } = await runActivity(activities.createVm, [input]);
    await runActivity(activities.deleteServer, [{ serverId: vm.serverId }]);
    await runActivity(activities.releaseQuota, [{ allocationId: vm.allocationId, serverId: vm.serverId }]);
    const failure = await failActivity(activities.createVm, [input]);
    expect(failure.type).toBe(NON_RETRYABLE.gone);
    expect(failure.nonRetryable).toBe(true);
    expect(await region.client.listServers({ [TAG.deployment]: input.deployment })).toHaveLength(0);
  });
});

describe('observe, get-pool, instance-action', () => {
  it('observe finds exactly the deployment’s servers, allocations and volumes', async () => {
    const activities = fast();
    const deployment = deploymentName('obs');
    const other = deploymentName('obs');
    const a = await runActivity(activities.createVm, [vmInput(deployment, 'api/0')]);
    const b = await runActivity(activities.createVm, [vmInput(deployment, 'api/1')]);
    await runActivity(activities.createVm, [vmInput(other, 'api/0')]);
    const { value: seen } = await runActivity(activities.observe, [{ deployment }]);
    expect(seen.servers.map((s) => s.id)).toEqual([a.value.serverId, b.value.serverId].sort());
    expect(seen.allocations.map((x) => x.id)).toEqual([a.value.allocationId, b.value.allocationId].sort());
    expect(seen.volumes).toEqual([]);
  });

  it('get-pool reports usage; an unknown pool is a non-retryable NotFound', async () => {
    const activities = fast();
    const { value: pool } = await runActivity(activities.getPool, ['dev']);
    expect(pool.name).toBe('dev');
    expect(pool.limits.cpus).toBe(1000);
    const failure = await failActivity(activities.getPool, ['no-such-pool']);
    expect(failure.type).toBe(NON_RETRYABLE.notFound);
    expect(failure.nonRetryable).toBe(true);
  });

  it('stop and start are idempotent; an action on a vanished server is a non-retryable NotFound', async () => {
    const activities = fast();
    const { value: vm } = await runActivity(activities.createVm, [vmInput(deploymentName('act'), 'api/0')]);
    const stop = { serverId: vm.serverId, action: 'stop' as const };
    expect((await runActivity(activities.instanceAction, [stop])).value.state).toBe('SHUTOFF');
    expect((await runActivity(activities.instanceAction, [stop])).value.power).toBe('stopped');
    const start = { serverId: vm.serverId, action: 'start' as const };
    expect((await runActivity(activities.instanceAction, [start])).value.power).toBe('running');
    expect((await runActivity(activities.instanceAction, [start])).value.state).toBe('ACTIVE');
    expect((await runActivity(activities.instanceAction, [{ ...start, action: 'reboot' }])).value.state).toBe(
      'ACTIVE',
    );

    await runActivity(activities.deleteServer, [{ serverId: vm.serverId }]);
    const failure = await failActivity(activities.instanceAction, [start]);
    expect(failure.type).toBe(NON_RETRYABLE.notFound);
  });

  it('a stopped server counts as built: a retried create-vm returns it instead of replacing it', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('act'), 'api/0');
    const { value: vm } = await runActivity(activities.createVm, [input]);
    await runActivity(activities.instanceAction, [{ serverId: vm.serverId, action: 'stop' }]);
    const again = await runActivity(activities.createVm, [input]);
    expect(again.value).toEqual(vm);
    expect((await region.client.getServer(vm.serverId)).state).toBe('SHUTOFF');
  });
});
