// create-vm against a real region: one server and one allocation however often it runs, quota and
// image refusals that never retry, and ERROR or stuck builds replaced by the next attempt.
import { beforeEach, describe, expect, it } from 'vitest';
import { createActivities, RETRYABLE } from '../../src/activities';
import { NON_RETRYABLE } from '../../src/domain/activities';
import { BUILD_FAULT } from '../../src/region/servers';
import { TAG } from '../../src/domain/cloud';
import { RegionClient } from '../../src/cloud/region-client';
import { regionForFile } from '../support/region';
import { deploymentName, failActivity, regionConfig, runActivity, vmInput } from './harness';

const region = regionForFile({ config: regionConfig(), faults: { build_ms: 60, delete_ms: 30 } });

beforeEach(async () => {
  await region.client.setFaults({
    latency_ms: 0,
    build_ms: 60,
    delete_ms: 30,
    error_rate: 0,
    error_build_rate: 0,
    stuck_build_rate: 0,
  });
});

const fast = () => createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 0 });

async function serversOf(deployment: string, claim: string) {
  return region.client.listServers({ [TAG.deployment]: deployment, [TAG.claim]: claim });
}

async function allocationsOf(deployment: string) {
  return region.client.listAllocations({ [TAG.deployment]: deployment });
}

describe('create-vm', () => {
  it('builds one ACTIVE server on one allocation, and a second run returns the same pair', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/0');
    const first = await runActivity(activities.createVm, [input]);
    const second = await runActivity(activities.createVm, [input]);

    expect(second.value).toEqual(first.value);
    expect(first.value.attempts).toBe(1);
    const servers = await serversOf(input.deployment, input.claim);
    expect(servers.map((s) => s.id)).toEqual([first.value.serverId]);
    expect(servers[0]?.state).toBe('ACTIVE');
    expect(servers[0]?.tags).toMatchObject({
      [TAG.allocation]: first.value.allocationId,
      [TAG.deployment]: input.deployment,
      [TAG.claim]: 'api/0',
      [TAG.operation]: 'op-1',
      [TAG.group]: 'api',
      [TAG.fingerprint]: 'fp-1',
    });
    const allocations = await allocationsOf(input.deployment);
    expect(allocations.map((a) => a.id)).toEqual([first.value.allocationId]);
    expect(allocations[0]?.key).toBe(`${input.deployment}/api/0/op-1`);
    // It waited for BUILD → ACTIVE, heartbeating with what a retry needs to resume.
    expect(first.heartbeats).toContainEqual(
      expect.objectContaining({
        allocationId: first.value.allocationId,
        attempt: 1,
        serverId: first.value.serverId,
      }),
    );
  });

  it('heartbeats only once heartbeatEveryMs has passed: a quick build sends none, a slow one does', async () => {
    const quick = await runActivity(
      createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 2_000 }).createVm,
      [vmInput(deploymentName('web'), 'api/7')],
    );
    expect(quick.value.attempts).toBe(1);
    expect(quick.heartbeats).toEqual([]);

    await region.client.setFaults({ build_ms: 400 });
    const slow = await runActivity(
      createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 150 }).createVm,
      [vmInput(deploymentName('web'), 'api/8')],
    );
    // A 400 ms build with heartbeats due every 150 ms: at least one (how many depends on the clock).
    expect(slow.heartbeats.length).toBeGreaterThanOrEqual(1);
    expect(slow.heartbeats.at(-1)).toMatchObject({ serverId: slow.value.serverId, state: 'BUILD' });
  });

  it('heartbeats while a cloud call is in flight: no gap between heartbeats as long as one slow answer', async () => {
    // A loaded cloud (moto at 400 instances answered in 30-120 s) must not look like a dead worker:
    // before keepAlive, heartbeats went only between calls, so each slow answer was a silent gap, and
    // past the 20 s heartbeat timeout Temporal retried the create while it still ran.
    const latencyMs = 2_000;
    await region.client.setFaults({ latency_ms: latencyMs });
    const beats: number[] = [];
    const startedAt = Date.now();
    const run = await runActivity(
      createActivities(region.client, { pollMs: 20, heartbeatEveryMs: 100 }).createVm,
      [vmInput(deploymentName('web'), 'api/9')],
      { onHeartbeat: () => beats.push(Date.now()) },
    );
    const endedAt = Date.now();
    await region.client.setFaults({ latency_ms: 0 });
    expect(run.value.attempts).toBe(1);
    const marks = [startedAt, ...beats, endedAt];
    const gaps = marks.slice(1).map((t, i) => t - (marks[i] ?? t));
    // Reserve, create and the first look each took one slow answer; none of them went unheard.
    expect(Math.max(...gaps)).toBeLessThan(latencyMs);
  });

  it('two concurrent runs of the same step still leave one server and one allocation', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/1');
    const [a, b] = await Promise.all([
      runActivity(activities.createVm, [input]),
      runActivity(activities.createVm, [input]),
    ]);
    expect(a.value).toEqual(b.value);
    expect(await serversOf(input.deployment, input.claim)).toHaveLength(1);
    expect(await allocationsOf(input.deployment)).toHaveLength(1);
  });

  it('another operation for the same claim gets its own allocation and server (keys include the operation)', async () => {
    const activities = fast();
    const deployment = deploymentName('web');
    const one = await runActivity(activities.createVm, [vmInput(deployment, 'api/0')]);
    const two = await runActivity(activities.createVm, [vmInput(deployment, 'api/0', { operation: 'op-2' })]);
    expect(two.value.serverId).not.toBe(one.value.serverId);
    expect(two.value.allocationId).not.toBe(one.value.allocationId);
  });

  it('quota exceeded is a non-retryable QuotaExceeded that builds nothing', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/0', {
      pool: 'tiny',
      quota: { cpus: 4, memory_mb: 512, instances: 1 },
    });
    const failure = await failActivity(activities.createVm, [input]);
    expect(failure.type).toBe(NON_RETRYABLE.quotaExceeded);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('cpus');
    expect(await serversOf(input.deployment, input.claim)).toHaveLength(0);
    expect(await allocationsOf(input.deployment)).toHaveLength(0);
  });

  it('an unknown image is a non-retryable ImageNotFound and the reserved quota is given back', async () => {
    const activities = fast();
    const base = vmInput(deploymentName('web'), 'api/0');
    const input = { ...base, spec: { ...base.spec, image: { os: 'ubuntu-jammy', version: '9.999' } } };
    const failure = await failActivity(activities.createVm, [input]);
    expect(failure.type).toBe(NON_RETRYABLE.imageNotFound);
    expect(failure.nonRetryable).toBe(true);
    expect(await serversOf(input.deployment, input.claim)).toHaveLength(0);
    expect(await allocationsOf(input.deployment)).toHaveLength(0);
  });

  it('a static IP still held by another server is a retryable Conflict; once it is free the retry builds', async () => {
    const activities = fast();
    const deployment = deploymentName('web');
    const withIp = (claim: string, operation: string) => {
      const base = vmInput(deployment, claim, { operation });
      return { ...base, spec: { ...base.spec, static_ip: '10.1.0.12' } };
    };
    const { value: holder } = await runActivity(activities.createVm, [withIp('api/0', 'op-1')]);
    const failure = await failActivity(activities.createVm, [withIp('api/1', 'op-1')]);
    expect(failure.type).toBe(RETRYABLE.conflict);
    expect(failure.nonRetryable).toBe(false);
    await runActivity(activities.deleteServer, [{ serverId: holder.serverId }]);
    const { value: taker } = await runActivity(activities.createVm, [withIp('api/1', 'op-1')]);
    const server = await region.client.getServer(taker.serverId);
    expect(server.addresses.map((a) => a.ip)).toEqual(['10.1.0.12']);
  });

  it("a dynamic VM gets the lowest free address of the spec's subnet (addressing), outside its reserved and static", async () => {
    const activities = fast();
    const deployment = deploymentName('web');
    const addressing = { range: '10.1.2.0/29', reserved: ['10.1.2.1-10.1.2.3'], static: ['10.1.2.4'] };
    const inSubnet = (claim: string) => {
      const base = vmInput(deployment, claim);
      return { ...base, spec: { ...base.spec, addressing } };
    };
    const ips = [];
    for (const claim of ['api/0', 'api/1']) {
      const { value } = await runActivity(activities.createVm, [inSubnet(claim)]);
      ips.push((await region.client.getServer(value.serverId)).addresses[0]?.ip);
    }
    expect(ips).toEqual(['10.1.2.5', '10.1.2.6']);
  });

  it('wrong credentials are a non-retryable Unauthorized', async () => {
    const stranger = new RegionClient({ url: region.url, token: 'not-the-token' });
    try {
      const failure = await failActivity(
        createActivities(stranger, { pollMs: 20, heartbeatEveryMs: 0 }).createVm,
        [vmInput(deploymentName('web'), 'api/0')],
      );
      expect(failure.type).toBe(NON_RETRYABLE.unauthorized);
      expect(failure.nonRetryable).toBe(true);
    } finally {
      stranger.close();
    }
  });

  it('an ERROR build is deleted and replaced by the next attempt, on the same allocation', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/0');
    const since = (await region.client.events()).at(-1)?.seq ?? 0;
    await region.client.setFaults({ error_build_rate: 1 });
    // The first build's fate is fixed at creation: once it is building, later builds may succeed.
    let healed: Promise<unknown> | undefined;
    const run = await runActivity(activities.createVm, [input], {
      onHeartbeat: (d) => {
        if (healed === undefined && isProgress(d) && d.serverId !== undefined) {
          healed = region.client.setFaults({ error_build_rate: 0 });
        }
      },
    });
    await healed;

    expect(run.value.attempts).toBe(2);
    const servers = await serversOf(input.deployment, input.claim);
    expect(servers.map((s) => s.id)).toEqual([run.value.serverId]);
    expect(await allocationsOf(input.deployment)).toHaveLength(1);
    // The ERROR server was gone before its replacement was created.
    const mine = (await region.client.events(since)).filter(
      (e) => e.tags[TAG.deployment] === input.deployment,
    );
    const order = mine.filter((e) => e.type.startsWith('server.')).map((e) => e.type);
    expect(order).toEqual([
      'server.created',
      'server.error',
      'server.deleting',
      'server.deleted',
      'server.created',
      'server.active',
    ]);
  });

  it('builds that keep failing exhaust one execution retryably; the retry continues the attempts', async () => {
    const activities = createActivities(region.client, {
      pollMs: 20,
      heartbeatEveryMs: 0,
      maxBuildAttempts: 2,
    });
    const input = vmInput(deploymentName('web'), 'api/0');
    await region.client.setFaults({ error_build_rate: 1 });
    const failure = await failActivity(activities.createVm, [input]);
    expect(failure.type).toBe(RETRYABLE.buildFailed);
    expect(failure.nonRetryable).toBe(false);
    expect(await serversOf(input.deployment, input.claim)).toHaveLength(0);
    expect(await allocationsOf(input.deployment)).toHaveLength(1);

    // A retry with no heartbeat to resume from walks past the two deleted attempts (410 Gone).
    await region.client.setFaults({ error_build_rate: 0 });
    const retry = await runActivity(activities.createVm, [input]);
    expect(retry.value.attempts).toBe(3);
    expect(await serversOf(input.deployment, input.claim)).toHaveLength(1);
    expect(await allocationsOf(input.deployment)).toHaveLength(1);
  });

  it("builds that keep ending in ERROR fail the step for good at the budget, with the region's words, leaving nothing", async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/0', {
      budget: { failedBuilds: 2, conflictMs: 60_000 },
    });
    await region.client.setFaults({ error_build_rate: 1 });
    const failure = await failActivity(activities.createVm, [input]);
    expect(failure.type).toBe(NON_RETRYABLE.buildsFailed);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('2 builds ended without an ACTIVE server (update.max_failed_builds 2)');
    expect(failure.message).toContain(`ERROR: ${BUILD_FAULT}`);
    // Both ERROR servers were deleted and the allocation released: nothing leaks.
    expect(await serversOf(input.deployment, input.claim)).toHaveLength(0);
    expect(await allocationsOf(input.deployment)).toHaveLength(0);
  });

  it('the build budget counts the builds of earlier executions (walked past by their Gone keys)', async () => {
    const activities = createActivities(region.client, {
      pollMs: 20,
      heartbeatEveryMs: 0,
      maxBuildAttempts: 2,
    });
    const input = vmInput(deploymentName('web'), 'api/0', {
      budget: { failedBuilds: 3, conflictMs: 60_000 },
    });
    await region.client.setFaults({ error_build_rate: 1 });
    expect((await failActivity(activities.createVm, [input])).type).toBe(RETRYABLE.buildFailed);
    const second = await failActivity(activities.createVm, [input]);
    expect([second.type, second.nonRetryable]).toEqual([NON_RETRYABLE.buildsFailed, true]);
    expect(second.message).toContain(BUILD_FAULT);
    expect(await serversOf(input.deployment, input.claim)).toHaveLength(0);
    expect(await allocationsOf(input.deployment)).toHaveLength(0);
  });

  it('a static IP held by another server: retried within the conflict budget, then fails for good', async () => {
    const activities = fast();
    const deployment = deploymentName('web');
    const withIp = (claim: string) => {
      const input = vmInput(deployment, claim);
      return { ...input, spec: { ...input.spec, static_ip: '10.1.0.20' } };
    };
    await runActivity(activities.createVm, [withIp('db/0')]);
    const taken = { ...withIp('db/1'), budget: { failedBuilds: 3, conflictMs: 60_000 } };
    const early = await failActivity(activities.createVm, [taken]);
    expect([early.type, early.nonRetryable]).toEqual([RETRYABLE.conflict, false]);

    const late = await failActivity(activities.createVm, [taken], { scheduledAt: Date.now() - 61_000 });
    expect([late.type, late.nonRetryable]).toEqual([NON_RETRYABLE.persistentConflict, true]);
    expect(late.message).toContain('static_ip 10.1.0.20 is already in use');
    expect(late.message).toContain('update.conflict_timeout_minutes 1');
    // The step that failed for good holds no allocation.
    const mine = (await allocationsOf(deployment)).filter((a) => a.tags[TAG.claim] === 'db/1');
    expect(mine).toHaveLength(0);
  });

  it('a build stuck past its deadline is deleted and replaced', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/0', { buildDeadlineMs: 300 });
    await region.client.setFaults({ stuck_build_rate: 1 });
    let healed: Promise<unknown> | undefined;
    const run = await runActivity(activities.createVm, [input], {
      onHeartbeat: (d) => {
        if (healed === undefined && isProgress(d) && d.serverId !== undefined) {
          healed = region.client.setFaults({ stuck_build_rate: 0 });
        }
      },
    });
    await healed;
    expect(run.value.attempts).toBe(2);
    const servers = await serversOf(input.deployment, input.claim);
    expect(servers.map((s) => [s.id, s.state])).toEqual([[run.value.serverId, 'ACTIVE']]);
  });

  it('a retry resumes from the heartbeat: it creates nothing new and reports the same attempt', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/0');
    const first = await runActivity(activities.createVm, [input]);
    const since = (await region.client.events()).at(-1)?.seq ?? 0;
    const resumed = await runActivity(activities.createVm, [input], { resume: first.heartbeats.at(-1) });
    expect(resumed.value).toEqual(first.value);
    const created = (await region.client.events(since)).filter((e) => e.type === 'server.created');
    expect(created).toHaveLength(0);
  });

  it('cancellation stops the wait for a build that never ends: a CancelledFailure, no heartbeat after the cancel', async () => {
    const activities = fast();
    const input = vmInput(deploymentName('web'), 'api/0');
    // A stuck build never turns ACTIVE: only the cancel can end this run (else the test times out).
    await region.client.setFaults({ stuck_build_rate: 1 });
    const { MockActivityEnvironment } = await import('@temporalio/testing');
    const env = new MockActivityEnvironment();
    let beats = 0;
    let beatsAtCancel = -1;
    env.on('heartbeat', () => {
      beats += 1;
      if (beats === 2) {
        beatsAtCancel = beats;
        env.cancel();
      }
    });
    await expect(env.run(activities.createVm, input)).rejects.toMatchObject({ name: 'CancelledFailure' });
    expect(beatsAtCancel).toBe(2);
    expect(beats).toBe(beatsAtCancel);
    const servers = await serversOf(input.deployment, input.claim);
    expect(servers.map((s) => s.state)).toEqual(['BUILD']);
  });
});

function isProgress(d: unknown): d is { serverId?: string; attempt: number } {
  return typeof d === 'object' && d !== null && 'attempt' in d;
}
