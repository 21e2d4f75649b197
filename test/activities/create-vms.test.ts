// create-vms against a real region: a batch of creates builds every VM through create-vm's own
// function, a second run finds the same servers again, a create that fails for good comes back with
// the failure its own activity would have had, and one that fails retryably comes back `alone` (for
// the workflow to run on its own); neither fails the others.
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities';
import { TAG } from '../../src/domain/cloud';
import { NON_RETRYABLE, type CreateVmBatchResult } from '../../src/domain/activities';
import { regionForFile } from '../support/region';
import { deploymentName, regionConfig, runActivity, vmInput } from './harness';

const region = regionForFile({ config: regionConfig(), faults: { build_ms: 30, delete_ms: 20 } });

const activities = () => createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 0 });

function built(result: CreateVmBatchResult): string[] {
  return result.results.map((r) => ('built' in r ? r.built.serverId : JSON.stringify(r)));
}

describe('create-vms', () => {
  it('builds every VM of the batch; a second run finds the same servers and builds nothing', async () => {
    const deployment = deploymentName('batch');
    const creates = ['api/0', 'api/1', 'web/0'].map((claim) => vmInput(deployment, claim));
    const first = await runActivity(activities().createVms, [{ creates }]);
    const ids = built(first.value);
    expect(new Set(ids).size).toBe(3);
    for (const [i, id] of ids.entries()) {
      const server = await region.client.getServer(id);
      expect(server.state).toBe('ACTIVE');
      expect(server.tags[TAG.claim]).toBe(creates[i]?.claim);
    }

    const again = await runActivity(activities().createVms, [{ creates }]);
    expect(again.value).toEqual(first.value);
    const servers = await region.client.listServers({ [TAG.deployment]: deployment });
    expect(servers).toHaveLength(3);
  });

  it('a create that fails for good comes back with its failure, and the others are built', async () => {
    const deployment = deploymentName('batch');
    const good = vmInput(deployment, 'api/0');
    const bad = vmInput(deployment, 'api/1');
    bad.spec = { ...bad.spec, image: { os: 'ubuntu-jammy', version: '9.999' } };
    const { value } = await runActivity(activities().createVms, [{ creates: [good, bad] }]);

    const [ok, failed] = value.results;
    expect(ok && 'built' in ok).toBe(true);
    const failure = failed && 'failed' in failed ? failed.failed : null;
    expect(failure?.type).toBe(NON_RETRYABLE.imageNotFound);
    expect(failure?.message).toMatch(/create-vm .* api\/1: .*9\.999/);
    const servers = await region.client.listServers({ [TAG.deployment]: deployment });
    expect(servers.map((s) => s.tags[TAG.claim])).toEqual(['api/0']);
    // The failed create gave its reserved quota back, as create-vm does alone.
    const allocations = await region.client.listAllocations({ [TAG.deployment]: deployment });
    expect(allocations).toHaveLength(1);
  });

  it('a create that fails retryably comes back alone, to run again as an activity of its own', async () => {
    const deployment = deploymentName('batch');
    const creates = [vmInput(deployment, 'api/0'), vmInput(deployment, 'api/1')];
    // Every region call answers 503: in-place retries run out and each create fails retryably.
    await region.client.setFaults({ error_rate: 1 });
    try {
      const { value } = await runActivity(
        createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 0, transientRetries: 0 }).createVms,
        [{ creates }],
      );
      expect(value.results.map((r) => ('alone' in r ? 'alone' : JSON.stringify(r)))).toEqual([
        'alone',
        'alone',
      ]);
    } finally {
      await region.client.setFaults({ error_rate: 0 });
    }
    const { value } = await runActivity(activities().createVm, [creates[0]!]);
    expect((await region.client.getServer(value.serverId)).state).toBe('ACTIVE');
  });
});
