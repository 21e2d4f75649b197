// Every operation ends, or says why it waits (DESIGN §9.6), on the real stack: a plan that would wait
// forever for a static IP is refused before any cloud write, one whose address is being freed by a
// delete outside the deployment waits for it (within the conflict budget); builds that keep ending in ERROR fail
// the deploy with the region's words and leak nothing; a step retrying shows its last error in the
// operation's progress, `converge status` and the Temporal UI's current details; a cancel does not
// wait for a step stuck in a retry loop, even while the region is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NON_RETRYABLE } from '../../src/domain/activities';
import { TAG } from '../../src/domain/cloud';
import type { Manifest } from '../../src/domain/manifest';
import { BUILD_FAULT } from '../../src/region/servers';
import { CLOUD_CONFIG_MISMATCH, PLAN_REFUSED } from '../../src/workflows/operation';
import type { OperationProgress, OperationTicket } from '../../src/workflows/types';
import { cloudConfig, smallManifest } from '../support/fixtures';
import { testClient } from '../support/temporal';
import { startHarness, type Harness } from './harness';
import { serverRequest } from '../region/helpers';

let h: Harness;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('liveness');
});
afterAll(async () => {
  await h?.stop();
});

/** Groups of one instance each with a static IP on the default network. */
function withStaticIps(name: string, ips: Record<string, string>): Manifest {
  return smallManifest(name, (m) => {
    const template = m.instance_groups[0];
    if (!template) throw new Error('the example has no group');
    m.instance_groups = Object.entries(ips).map(([group, ip]) => ({
      ...structuredClone(template),
      name: group,
      instances: 1,
      azs: ['z1'],
      networks: [{ name: 'default', static_ips: [ip] }],
    }));
  });
}

async function eventsOf(deployment: string, since: number) {
  return (await h.region.client.events(since)).filter((e) => e.tags[TAG.deployment] === deployment);
}

async function progressUntil(
  ticket: OperationTicket,
  test: (p: OperationProgress) => boolean,
  what: string,
): Promise<OperationProgress> {
  for (let i = 0; i < 1800; i++) {
    const p = await h.deployments.progress(ticket).catch(() => null);
    if (p && test(p)) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never saw: ${what}`);
}

describe('liveness', () => {
  it('two groups swapping static IPs: refused before any cloud write, naming the IP and its holder', async () => {
    const first = await h.deploy(withStaticIps('swap', { a: '10.0.0.20', b: '10.0.0.21' }), cc);
    expect(first.status, JSON.stringify(first.failure)).toBe('converged');
    const b = first.records.find((r) => r.group === 'b');
    const before = await h.seq();

    const swapped = await h.deploy(withStaticIps('swap', { a: '10.0.0.21', b: '10.0.0.20' }), cc);
    expect(swapped.status).toBe('failed');
    expect(swapped.failure?.type).toBe(PLAN_REFUSED);
    expect(swapped.failure?.message).toContain('Failed to reserve IP 10.0.0.21 (network default)');
    expect(swapped.failure?.message).toContain(`already reserved by instance b/${b?.id ?? '?'} (b/0`);
    expect(swapped.stepsDone).toBe(0);
    // Nothing was written: no server, allocation or volume event for the deployment.
    expect(await eventsOf('swap', before)).toEqual([]);
    await h.expectInvariants(swapped);
  });

  it('a static IP held by a server of another deployment: refused before any cloud write, naming the IP and its holder', async () => {
    const squatter = await squat('10.0.0.28', 'held');
    try {
      const m = withStaticIps('held', { db: '10.0.0.28' });
      const before = await h.seq();
      const dry = await h.wait(
        await h.deployments.deploy('held', { manifest: m, cloudConfig: cc, dryRun: true }),
      );
      expect(dry.status).toBe('planned');
      expect(dry.failure?.type).toBe(PLAN_REFUSED);

      const r = await h.deploy(m, cc);
      expect(r.status).toBe('failed');
      expect(r.failure?.type).toBe(PLAN_REFUSED);
      const db = r.instances.find((i) => i.claim === 'db/0')?.instance ?? '?';
      expect(r.failure?.message).toBe(
        `Failed to reserve IP 10.0.0.28 (network default) for instance ${db} (db/0): already reserved by ` +
          `server ${squatter.id} (squatter-held) of deployment someone-else, outside deployment held. ` +
          'Free it there, or give db/0 another static IP',
      );
      expect(dry.failure?.message).toContain(`already reserved by server ${squatter.id} (squatter-held)`);
      expect(r.stepsDone).toBe(0);
      expect(r.remaining.length).toBe(r.stepsTotal);
      // Nothing was written: no server, allocation or volume event for the deployment.
      expect(await eventsOf('held', before)).toEqual([]);
      await h.expectInvariants(r);
    } finally {
      await h.region.client.deleteServer(squatter.id);
    }
  });

  it('a static IP whose holder outside the deployment is being deleted: the plan says it waits; the deploy converges once it is gone', async () => {
    const squatter = await squat('10.0.0.29', 'going');
    await deleteSlowly(squatter.id, 30_000);
    const m = withStaticIps('going', { db: '10.0.0.29' });
    const reason =
      `waits for 10.0.0.29 held by server ${squatter.id} (squatter-going) of deployment someone-else ` +
      '(deleting): the create retries until it is free, for at most 10 min (update.conflict_timeout_minutes)';

    const dry = await h.wait(
      await h.deployments.deploy('going', { manifest: m, cloudConfig: cc, dryRun: true }),
    );
    expect(dry.status).toBe('planned');
    expect(dry.failure).toBeNull();
    const create = dry.plan?.steps.find((s) => s.kind === 'create-vm');
    expect(create?.reasons).toContain(reason);

    const ticket = await h.deployments.deploy('going', { manifest: m, cloudConfig: cc });
    // The create meets the squatter (ip_taken) and waits, visibly, while its delete runs.
    const p = await progressUntil(
      ticket,
      (x) => x.waiting.some((w) => w.error.includes('static_ip 10.0.0.29 is already in use')),
      'create-vm waiting for 10.0.0.29',
    );
    expect(p.waiting[0]?.summary).toMatch(/^create-vm db\/0 /);
    const r = await h.wait(ticket);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(r.instances.find((i) => i.claim === 'db/0')?.reasons).toContain(reason);
    expect(await h.region.client.lookupServers([squatter.id])).toEqual([]);
    const db = r.records.find((x) => x.group === 'db');
    const server = (await h.region.client.listServers({ [TAG.deployment]: 'going' }))[0];
    expect(server?.addresses.map((a) => a.ip)).toEqual(['10.0.0.29']);
    expect(server?.tags[TAG.instance]).toBe(db?.id);
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc });
  });

  it('a static IP whose holder outside is being deleted but never goes: the create ends within update.conflict_timeout_minutes', async () => {
    const squatter = await squat('10.0.0.30', 'lingering');
    // Gone long after the test: the budget, not the delete, must end the create.
    await deleteSlowly(squatter.id, 10 * 60_000);
    const m = withStaticIps('lingering', { db: '10.0.0.30' });
    m.update.conflict_timeout_minutes = 0.1;
    const r = await h.deploy(m, cc);
    expect(r.status).toBe('failed');
    expect(r.failure?.type).toBe(NON_RETRYABLE.persistentConflict);
    expect(r.failure?.message).toContain('static_ip 10.0.0.30 is already in use');
    expect(r.failure?.message).toContain('(update.conflict_timeout_minutes 0.1)');
    expect(r.instances.find((i) => i.claim === 'db/0')?.reasons.join('\n')).toContain(
      `waits for 10.0.0.30 held by server ${squatter.id} (squatter-lingering) of deployment someone-else (deleting)`,
    );
    // Still DELETING: the step ended on its budget, not because the address came free.
    expect((await h.region.client.lookupServers([squatter.id]))[0]?.state).toBe('DELETING');
    // Nothing leaked: the failed create released its allocation.
    await h.expectInvariants(r);
  });

  it("builds that keep ending in ERROR: the deploy fails with the region's error and leaks nothing; cleared, it converges", async () => {
    const m = smallManifest('broken', (x) => {
      x.update.max_failed_builds = 2;
      for (const g of x.instance_groups) g.instances = 1;
    });
    const before = await h.seq();
    await h.region.client.setFaults({ error_build_rate: 1 });
    let failed;
    try {
      failed = await h.deploy(m, cc);
    } finally {
      await h.region.client.setFaults({ error_build_rate: 0 });
    }
    expect(failed.status).toBe('failed');
    expect(failed.failure?.type).toBe(NON_RETRYABLE.buildsFailed);
    expect(failed.failure?.message).toContain(
      '2 builds ended without an ACTIVE server (update.max_failed_builds 2)',
    );
    expect(failed.failure?.message).toContain(BUILD_FAULT);
    // Only steps of this plan that were not done remain.
    expect(failed.remaining.length).toBeLessThanOrEqual(failed.stepsTotal - failed.stepsDone);
    await h.expectInvariants(failed, undefined, before);
    const leftovers = await h.region.client.listAllocations({ [TAG.deployment]: 'broken' });
    const servers = await h.region.client.listServers({ [TAG.deployment]: 'broken' });
    expect(servers.filter((s) => s.state !== 'DELETING').length).toBe(leftovers.length);

    const again = await h.deploy(m, cc);
    expect(again.status, JSON.stringify(again.failure)).toBe('converged');
    await h.expectInvariants(again, { manifest: m, cloudConfig: cc });
  });

  it('a hot_swap of two instances a /29 cannot hold: the plan says, before any cloud write, which one deletes first', async () => {
    const small = structuredClone(cc);
    const net = small.networks[0];
    if (!net) throw new Error('no network');
    net.subnets = [
      {
        range: '10.0.0.0/29',
        gateway: '10.0.0.1',
        azs: ['z1', 'z2'],
        reserved: ['10.0.0.2-10.0.0.3'],
        static: [],
        cloud_properties: {},
      },
    ];
    const two = (version: string) =>
      smallManifest('surge', (x) => {
        x.stemcells = [{ alias: 'default', os: 'ubuntu-jammy', version }];
        x.update.vm_strategy = 'hot_swap';
        x.instance_groups = x.instance_groups.slice(0, 1);
        const g = x.instance_groups[0];
        if (g) g.instances = 2;
      });
    const first = await h.deploy(two('1.181'), small);
    expect(first.status, JSON.stringify(first.failure)).toBe('converged');
    const before = await h.seq();
    const ticket = await h.deployments.deploy('surge', {
      manifest: two('1.182'),
      cloudConfig: small,
      dryRun: true,
    });
    const r = await h.wait(ticket);
    expect(r.status).toBe('planned');
    const byClaim = new Map(r.instances.map((i) => [i.claim, i]));
    expect(byClaim.get('api/0')?.strategy).toBe('hot_swap');
    expect(byClaim.get('api/1')?.strategy).toBe('delete_create');
    expect(byClaim.get('api/1')?.reasons.join('\n')).toContain(
      'delete_create instead of hot_swap: subnet 10.0.0.0/29 (network default) has 3 dynamic addresses',
    );
    expect(await eventsOf('surge', before)).toEqual([]);
  });

  it("a /29 of the cloud config inside the region's network: dynamic VMs get its addresses outside gateway and reserved; full, the create fails naming it", async () => {
    const tight = structuredClone(cc);
    const net = tight.networks[0];
    if (!net) throw new Error('no network');
    // Hosts .33-.38 of the region's 10.0.0.0/16 (whose own dynamic space they are): .35-.38 are free.
    net.subnets = [
      {
        range: '10.0.0.32/29',
        gateway: '10.0.0.33',
        azs: ['z1', 'z2'],
        reserved: ['10.0.0.34'],
        static: [],
        cloud_properties: {},
      },
    ];
    const sized = (name: string, instances: number) =>
      smallManifest(name, (x) => {
        x.instance_groups = x.instance_groups.slice(0, 1);
        const g = x.instance_groups[0];
        if (g) g.instances = instances;
        x.update.conflict_timeout_minutes = 0.1;
      });
    const first = await h.deploy(sized('tight', 3), tight);
    expect(first.status, JSON.stringify(first.failure)).toBe('converged');
    const ips = async (deployment: string) =>
      (await h.region.client.listServers({ [TAG.deployment]: deployment }))
        .map((s) => s.addresses[0]?.ip ?? '')
        .sort();
    expect(await ips('tight')).toEqual(['10.0.0.35', '10.0.0.36', '10.0.0.37']);
    await h.expectInvariants(first, { manifest: sized('tight', 3), cloudConfig: tight });
    // Another deployment in the same /29: one address left for two VMs.
    const second = await h.deploy(sized('tighter', 2), tight);
    expect(second.status).toBe('failed');
    expect(second.failure?.type).toBe(NON_RETRYABLE.persistentConflict);
    expect(second.failure?.message).toMatch(
      /no free dynamic address for az z[12] in 10\.0\.0\.32\/29 outside its reserved and static ranges/,
    );
    expect(await ips('tighter')).toEqual(['10.0.0.38']);
    await h.expectInvariants(second);
  });

  it('a step retrying for 30 s shows its last error in progress, status and current details', async () => {
    // A server outside the deployment takes the static IP the new VM asks for, after the plan was made.
    const { m, ticket, squatter } = await redeployThenSquat('waiter', '10.0.0.25', '10.0.0.15');
    try {
      const p = await progressUntil(
        ticket,
        (x) => (x.waiting[0]?.forMs ?? 0) >= 30_000,
        'create-vm retrying for 30 s',
      );
      const wait = p.waiting[0];
      expect(wait?.summary).toMatch(/^create-vm db\/0 /);
      expect(wait?.attempt).toBeGreaterThanOrEqual(2);
      expect(wait?.error).toContain('static_ip 10.0.0.25 is already in use');
      expect(wait?.line).toMatch(/^create-vm db\/0 .*: retrying for \d+s \(attempt \d+\): /);

      // `converge status --json` carries the same wait.
      const status = await h.deployments.status('waiter');
      expect(status.progress?.waiting[0]?.error).toContain('static_ip 10.0.0.25 is already in use');

      // The Temporal UI's current details say it too.
      const client = await testClient();
      const meta = await client.workflow
        .getHandle(ticket.workflowId)
        .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(meta.currentDetails).toContain('waiting (1):');
      expect(meta.currentDetails).toContain('static_ip 10.0.0.25 is already in use');
    } finally {
      // The address frees up: the wait ends and the deploy converges.
      await h.region.client.deleteServer(squatter.id);
    }
    const r = await h.wait(ticket);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc });
  });

  /**
   * Deploys `name` with db on another address, then moves db to `ip` (delete_create: its create waits
   * for the old VM to be gone, slowed to 3 s) and, once the operation enacts (its opening read found
   * `ip` free), takes `ip` with a server outside the deployment: db's create retries (409) without end.
   */
  async function redeployThenSquat(name: string, ip: string, from: string) {
    const first = await h.deploy(withStaticIps(name, { db: from }), cc);
    expect(first.status, JSON.stringify(first.failure)).toBe('converged');
    const m = withStaticIps(name, { db: ip });
    const { delete_ms } = await h.region.client.getFaults();
    await h.region.client.setFaults({ delete_ms: 3000 });
    try {
      const ticket = await h.deployments.deploy(name, { manifest: m, cloudConfig: cc });
      await progressUntil(ticket, (x) => x.phase === 'enacting', 'enacting');
      const squatter = await squat(ip, name);
      return { m, ticket, squatter };
    } finally {
      await h.region.client.setFaults({ delete_ms });
    }
  }

  /** Deletes the squatter and waits until it is gone: a redeploy's opening read must find its address free. */
  async function unsquat(id: string): Promise<void> {
    await h.region.client.deleteServer(id);
    for (let i = 0; i < 600; i++) {
      if ((await h.region.client.lookupServers([id])).length === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`squatter ${id} never went`);
  }

  /** Starts deleting server `id` with deletion taking `ms`: it holds its address, DELETING, meanwhile. */
  async function deleteSlowly(id: string, ms: number): Promise<void> {
    // setFaults answers the faults as set: what to restore is read first.
    const { delete_ms } = await h.region.client.getFaults();
    await h.region.client.setFaults({ delete_ms: ms });
    try {
      await h.region.client.deleteServer(id);
    } finally {
      await h.region.client.setFaults({ delete_ms });
    }
    expect((await h.region.client.lookupServers([id]))[0]?.state).toBe('DELETING');
  }

  /** A server outside the deployment holding `ip`, so a create asking for it retries (409) without end. */
  function squat(ip: string, key: string) {
    return h.region.client.createServer(
      serverRequest({
        name: `squatter-${key}`,
        static_ip: ip,
        tags: { [TAG.deployment]: 'someone-else' },
        idempotency_key: `liveness-squatter-${key}`,
      }),
    );
  }

  it('converge cancel during an endless retry: the step is abandoned, its allocation swept, the operation cancelled', async () => {
    const { m, ticket, squatter } = await redeployThenSquat('stuck', '10.0.0.26', '10.0.0.16');
    try {
      const p = await progressUntil(ticket, (x) => (x.waiting[0]?.attempt ?? 0) >= 2, 'create-vm retrying');
      expect(p.waiting[0]?.summary).toMatch(/^create-vm db\/0 /);
      expect(p.waiting[0]?.error).toContain('static_ip 10.0.0.26 is already in use');
      await h.deployments.cancel('stuck');
      const r = await h.wait(ticket);
      expect(r.status, JSON.stringify(r.failure)).toBe('cancelled');
      expect(r.failure).toBeNull();
      // The old VM's delete was done before the create began; the create was not.
      expect(r.remaining.length).toBe(r.stepsTotal - r.stepsDone);
      expect(r.remaining.some((id) => id.endsWith(':create-vm'))).toBe(true);
      // The create reserved an allocation before it met the held address: the sweep released it.
      expect(await h.region.client.listServers({ [TAG.deployment]: 'stuck' })).toEqual([]);
      expect(await h.region.client.listAllocations({ [TAG.deployment]: 'stuck' })).toEqual([]);
      await h.expectInvariants(r);
    } finally {
      await unsquat(squatter.id);
    }
    const again = await h.deploy(m, cc);
    expect(again.status, JSON.stringify(again.failure)).toBe('converged');
    await h.expectInvariants(again, { manifest: m, cloudConfig: cc });
  });

  it('converge cancel while the region is down: the wait shows the outage, the cancel ends the operation; a redeploy cleans up', async () => {
    const { m, ticket, squatter } = await redeployThenSquat('outage', '10.0.0.27', '10.0.0.17');
    try {
      await progressUntil(ticket, (x) => (x.waiting[0]?.attempt ?? 0) >= 2, 'create-vm retrying');
      // The region goes down: every call answers 503 from now on.
      await h.region.client.setFaults({ error_rate: 1 });
      const down = await progressUntil(
        ticket,
        (x) => (x.waiting[0]?.error ?? '').includes('injected failure (error_rate)'),
        'the outage in the wait',
      );
      const wait = down.waiting[0];
      expect(wait?.summary).toMatch(/^create-vm db\/0 /);
      expect(wait?.since).toBeLessThanOrEqual(Date.now());
      const status = await h.deployments.status('outage');
      expect(status.progress?.waiting[0]?.error).toContain('injected failure (error_rate)');

      await h.deployments.cancel('outage');
      const r = await h.wait(ticket);
      expect(r.status, JSON.stringify(r.failure)).toBe('cancelled');
    } finally {
      await h.region.client.setFaults({ error_rate: 0 });
      await unsquat(squatter.id);
    }
    // What the sweep could not remove during the outage, the next plan does.
    const again = await h.deploy(m, cc);
    expect(again.status, JSON.stringify(again.failure)).toBe('converged');
    await h.expectInvariants(again, { manifest: m, cloudConfig: cc });
    expect(await h.region.client.listAllocations({ [TAG.deployment]: 'outage' })).toHaveLength(1);
  });

  it('a stemcell the region has no image for: refused before any cloud write, naming it and what the region has', async () => {
    const m = smallManifest('imageless', (x) => {
      x.stemcells = [{ alias: 'default', os: 'ubuntu-jammy', version: '9.404' }];
    });
    const before = await h.seq();
    const dry = await h.wait(
      await h.deployments.deploy('imageless', { manifest: m, cloudConfig: cc, dryRun: true }),
    );
    expect(dry.status).toBe('planned');
    expect(dry.failure?.type).toBe(NON_RETRYABLE.imageNotFound);

    const r = await h.deploy(m, cc);
    expect(r.status).toBe('failed');
    expect(r.failure?.type).toBe(NON_RETRYABLE.imageNotFound);
    expect(r.failure?.step).toBeNull();
    const theirs = (await h.region.client.listImages()).map((i) => `${i.os}/${i.version}`);
    expect(theirs).toContain('ubuntu-jammy/1.181');
    expect(r.failure?.message).toMatch(
      /^stemcell default \(ubuntu-jammy\/9\.404\) has no image in the cloud, so the new VMs of api\/0, /,
    );
    expect(r.failure?.message).toContain(`cannot be created; the cloud has ${theirs.sort().join(', ')}.`);
    expect(r.stepsDone).toBe(0);
    expect(r.remaining.length).toBe(r.stepsTotal);
    expect(await eventsOf('imageless', before)).toEqual([]);

    // Uploaded, the same manifest deploys.
    await h.region.client.createImage({ os: 'ubuntu-jammy', version: '9.404' });
    const again = await h.deploy(m, cc);
    expect(again.status, JSON.stringify(again.failure)).toBe('converged');
    await h.expectInvariants(again, { manifest: m, cloudConfig: cc });
  });

  it('a cloud config whose subnet and static range the region does not have: refused before any cloud write', async () => {
    const elsewhere = structuredClone(cc);
    const subnet = elsewhere.networks[0]?.subnets[0];
    if (!subnet) throw new Error('no subnet');
    subnet.range = '10.20.0.0/24';
    subnet.gateway = '10.20.0.1';
    subnet.reserved = [];
    subnet.static = ['10.20.0.10-10.20.0.40'];
    const m = smallManifest('elsewhere');
    const before = await h.seq();
    const r = await h.deploy(m, elsewhere);
    expect(r.status).toBe('failed');
    expect(r.failure?.type).toBe(CLOUD_CONFIG_MISMATCH);
    expect(r.failure?.message).toContain(
      "cloud config networks[0].subnets[0].range: subnet 10.20.0.0/24 of network 'default' is not one the cloud has (its network 'default' has 10.0.0.0/16)",
    );
    expect(r.stepsDone).toBe(0);
    expect(r.remaining.length).toBe(r.stepsTotal);
    expect(await eventsOf('elsewhere', before)).toEqual([]);

    // The subnet fits, the static range does not: named with what the region hands out statically.
    subnet.range = '10.0.0.0/16';
    subnet.gateway = '10.0.0.1';
    subnet.static = ['10.0.1.10-10.0.1.20'];
    const again = await h.deploy(m, elsewhere);
    expect(again.failure?.type).toBe(CLOUD_CONFIG_MISMATCH);
    expect(again.failure?.message).toContain(
      "cloud config networks[0].subnets[0].static[0]: static 10.0.1.10-10.0.1.20 of network 'default' is outside the cloud's static ranges (it has 10.0.0.10-10.0.0.30)",
    );
    expect(await eventsOf('elsewhere', before)).toEqual([]);
  });
});
