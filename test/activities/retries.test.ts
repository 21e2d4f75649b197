// Under error_rate 0.3 (30% of region calls answer 503), every activity still converges when retried
// the way Temporal retries it, and idempotency keys keep it to exactly one server, one allocation and
// one volume per claim.
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities';
import { TAG } from '../../src/domain/cloud';
import { regionForFile } from '../support/region';
import { deploymentName, regionConfig, vmInput, withRetries } from './harness';

const region = regionForFile({
  config: regionConfig([{ name: 'nfs-1', type: 'nfs', can_create: true, capacity_gb: 100 }]),
  faults: { build_ms: 40, delete_ms: 30 },
});

describe('retries under error_rate 0.3', () => {
  it('creates, associates and deprovisions three claims with exactly one server each', async () => {
    // Without in-place repeats, so that Temporal's retry (simulated here) is what absorbs the 503s.
    const activities = createActivities(region.client, {
      pollMs: 15,
      heartbeatEveryMs: 0,
      transientRetries: 0,
    });
    const deployment = deploymentName('chaos');
    const claims = ['api/0', 'api/1', 'api/2'];
    await region.client.setFaults({ error_rate: 0.3 });
    let failures = 0;
    const retried = async <A extends unknown[], T>(
      fn: (...args: A) => Promise<T>,
      ...args: A
    ): Promise<T> => {
      const run = await withRetries(fn, args);
      failures += run.failures.length;
      for (const f of run.failures) expect(f.type).toBe('Unavailable');
      return run.value;
    };

    const built = [];
    for (const claim of claims) {
      const vm = await retried(activities.createVm, vmInput(deployment, claim));
      const instanceId = `uuid-${claim.replace('/', '-')}`;
      const assoc = await retried(activities.associateVmToInstance, {
        deployment,
        serverId: vm.serverId,
        instanceId,
        disk: { size_gb: 1, type: null, cloud_properties: {} },
      });
      built.push({ claim, vm, instanceId, volumeId: assoc.volumeId ?? '' });
    }
    const seen = await retried(activities.observe, { deployment });

    await region.client.setFaults({ error_rate: 0 });
    expect(seen.servers).toHaveLength(3);
    for (const { claim, vm, instanceId } of built) {
      const servers = await region.client.listServers({ [TAG.deployment]: deployment, [TAG.claim]: claim });
      expect(servers.map((s) => [s.id, s.state, s.tags[TAG.instance]])).toEqual([
        [vm.serverId, 'ACTIVE', instanceId],
      ]);
      expect(vm.attempts).toBe(1);
      const volumes = await region.client.listVolumes({
        [TAG.deployment]: deployment,
        [TAG.instance]: instanceId,
      });
      expect(volumes.map((v) => v.server_id)).toEqual([vm.serverId]);
    }
    const created = (await region.client.events()).filter(
      (e) => e.type === 'server.created' && e.tags[TAG.deployment] === deployment,
    );
    expect(created).toHaveLength(3);
    expect(await region.client.listAllocations({ [TAG.deployment]: deployment })).toHaveLength(3);

    await region.client.setFaults({ error_rate: 0.3 });
    for (const { vm, volumeId } of built) {
      await retried(activities.detachDisk, { volumeId, serverId: vm.serverId });
      await retried(activities.deleteServer, { serverId: vm.serverId });
      await retried(activities.releaseQuota, { allocationId: vm.allocationId, serverId: vm.serverId });
      await retried(activities.deleteDisk, { volumeId });
    }
    await region.client.setFaults({ error_rate: 0 });

    const left = await withRetries(activities.observe, [{ deployment }]);
    expect(left.value).toEqual({ servers: [], allocations: [], volumes: [] });
    // With ~80 region calls at 30%, a run without any injected failure would mean the faults never fired.
    expect(failures).toBeGreaterThan(0);
  });
});
