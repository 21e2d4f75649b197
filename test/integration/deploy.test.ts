// Deployments on a real Temporal dev server against a real region process. Each test ends by
// checking DESIGN §9 (converged, no leak, no duplicate, two-stage).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../src/domain/cloud';
import type { RegionEvent } from '../../src/cloud/port';
import { cloudConfig, group, smallManifest } from '../support/fixtures';
import { observeDeployment } from '../support/invariants';
import { requestEvents, testClient } from '../support/temporal';
import { operationWorkflowId } from '../../src/workflows/types';
import { startHarness, type Harness } from './harness';

let h: Harness;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('deploy');
});
afterAll(async () => {
  await h?.stop();
});

async function eventsSince(seq: number, deployment: string): Promise<RegionEvent[]> {
  return (await h.region.client.events(seq)).filter((e) => e.tags[TAG.deployment] === deployment);
}

/** The activities an operation's run scheduled, in order (their scheduled events' attributes). */
async function scheduledActivities(workflowId: string) {
  const history = await (await testClient()).workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : [],
  );
}

function firstSeq(events: RegionEvent[], type: string, pred: (e: RegionEvent) => boolean): number {
  return events.find((e) => e.type === type && pred(e))?.seq ?? Number.POSITIVE_INFINITY;
}

describe('deploy', () => {
  it('fresh deploy creates every claimed VM and converges', async () => {
    const m = smallManifest('fresh');
    const r = await h.deploy(m, cc);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(r.summary).toEqual({ create: 5, replace: 0, delete: 0, keep: 0 });
    expect(r.records).toHaveLength(5);
    expect(r.projection.every((row) => row.vm_state === 'ACTIVE' && row.ips.length === 1)).toBe(true);
    const report = await h.expectInvariants(r, { manifest: m, cloudConfig: cc });
    expect(report.observed.servers).toHaveLength(5);
    // worker instances have persistent disks
    expect(report.observed.volumes).toHaveLength(2);
  });

  it('a dry run returns the plan with its steps and writes nothing to the cloud', async () => {
    const m = smallManifest('dryrun');
    const before = await h.seq();
    const ticket = await h.deployments.deploy(m.name, { manifest: m, cloudConfig: cc, dryRun: true });
    const r = await h.wait(ticket);
    expect(r.status).toBe('planned');
    expect(r.summary).toEqual({ create: 5, replace: 0, delete: 0, keep: 0 });
    expect(r.plan?.steps.filter((s) => s.kind === 'create-vm')).toHaveLength(5);
    expect(r.plan?.instances).toEqual(r.instances);
    expect(await h.deployments.plan(m.name)).toEqual(r.plan);
    expect(await eventsSince(before, 'dryrun')).toEqual([]);
  });

  it('no-op redeploy plans nothing and writes nothing to the cloud', async () => {
    const m = smallManifest('noop');
    await h.deploy(m, cc);
    const before = await h.seq();
    const r = await h.deploy(m, cc);
    expect(r.status).toBe('converged');
    expect(r.stepsTotal).toBe(0);
    expect(r.summary).toEqual({ create: 0, replace: 0, delete: 0, keep: 5 });
    expect(await eventsSince(before, 'noop')).toEqual([]);
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc });
  });

  it('stemcell bump with hot_swap: each new VM is ACTIVE before its old VM is deleted', async () => {
    const m = smallManifest('hotswap');
    const first = await h.deploy(m, cc);
    const oldServers = new Map(first.projection.map((row) => [row.instance, row.vm]));
    const before = await h.seq();
    const bumped = smallManifest('hotswap', (x) => {
      x.stemcells[0]!.version = '1.182';
    });
    const ticket = await h.deployments.deploy(bumped.name, { manifest: bumped, cloudConfig: cc });
    const r = await h.wait(ticket);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(r.summary.replace).toBe(5);
    expect(
      r.instances.every((i) => i.strategy === 'hot_swap' && i.reasons.includes('stemcell 1.181 → 1.182')),
    ).toBe(true);
    // uuids survive a replacement
    expect(r.records.map((x) => x.id).sort()).toEqual(first.records.map((x) => x.id).sort());
    const events = await eventsSince(before, 'hotswap');
    for (const row of r.projection) {
      const oldVm = oldServers.get(row.instance);
      const newActive = firstSeq(events, 'server.active', (e) => e.subject === row.vm);
      const oldDeleting = firstSeq(events, 'server.deleting', (e) => e.subject === oldVm);
      expect(newActive, row.instance).toBeLessThan(oldDeleting);
      expect(oldDeleting).toBeLessThan(Number.POSITIVE_INFINITY);
    }
    // The workers' disks move inside associate (no detach-disk step), onto the new VM before the
    // old VM is deleted.
    // An applied operation's result leaves its steps out; the closed operation still answers its plan.
    expect(r.plan).toBeNull();
    const plan = await h.deployments.operationPlan(ticket);
    expect(plan?.steps.filter((s) => s.kind === 'associate-vm-to-instance')).toHaveLength(5);
    expect(plan?.steps.filter((s) => s.kind === 'detach-disk')).toEqual([]);
    const workers = r.projection.filter((row) => row.instance.startsWith('worker/'));
    expect(workers).toHaveLength(2);
    for (const row of workers) {
      const oldDeleting = firstSeq(
        events,
        'server.deleting',
        (e) => e.subject === oldServers.get(row.instance),
      );
      const attached = firstSeq(events, 'volume.attached', (e) => e.data.server_id === row.vm);
      expect(attached, row.instance).toBeLessThan(oldDeleting);
    }
    await h.expectInvariants(r, { manifest: bumped, cloudConfig: cc }, before);
  });

  it('stemcell bump with delete_create: each old VM is gone before its replacement is created', async () => {
    const strategy = (x: ReturnType<typeof smallManifest>) => {
      x.update.vm_strategy = 'delete_create';
    };
    const m = smallManifest('delcreate', strategy);
    const first = await h.deploy(m, cc);
    const oldServers = new Map(first.projection.map((row) => [row.instance, row.vm]));
    const before = await h.seq();
    const bumped = smallManifest('delcreate', (x) => {
      strategy(x);
      x.stemcells[0]!.version = '1.182';
    });
    const r = await h.deploy(bumped, cc);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(r.instances.every((i) => i.strategy === 'delete_create')).toBe(true);
    const events = await eventsSince(before, 'delcreate');
    for (const row of r.projection) {
      const oldGone = firstSeq(events, 'server.deleted', (e) => e.subject === oldServers.get(row.instance));
      const newCreated = firstSeq(events, 'server.created', (e) => e.subject === row.vm);
      expect(oldGone, row.instance).toBeLessThan(newCreated);
    }
    await h.expectInvariants(r, { manifest: bumped, cloudConfig: cc }, before);
  });

  it('canaries finish before the rest start, and at most max_in_flight instances update at once', async () => {
    const shape = (x: ReturnType<typeof smallManifest>) => {
      x.instance_groups = x.instance_groups.filter((g) => g.name === 'api');
      group(x, 'api').instances = 6;
      x.update = { ...x.update, canaries: 1, max_in_flight: 2, vm_strategy: 'hot_swap' };
    };
    const m = smallManifest('canary', shape);
    const first = await h.deploy(m, cc);
    const oldVm = new Map(first.projection.map((row) => [row.instance, row.vm]));
    const before = await h.seq();
    const bumped = smallManifest('canary', (x) => {
      shape(x);
      x.stemcells[0]!.version = '1.182';
    });
    const r = await h.deploy(bumped, cc);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    const events = await eventsSince(before, 'canary');
    // An instance's update window: from its new VM's association to its old VM's deletion.
    const windows = r.projection.map((row) => ({
      instance: row.instance,
      start: firstSeq(
        events,
        'server.tags',
        (e) => e.subject === row.vm && e.tags[TAG.instance] !== undefined,
      ),
      end: firstSeq(events, 'server.deleted', (e) => e.subject === oldVm.get(row.instance)),
    }));
    windows.sort((a, b) => a.start - b.start);
    // Each replacement's associate, delete and release went to Temporal as one chain (STEP_CHAINS):
    // the canary's alone, then the chains ready together as one batch (CHAIN_BATCHES).
    const scheduled = await scheduledActivities(operationWorkflowId('canary', 2));
    const kinds = scheduled.map((a) => a.activityType?.name ?? '?');
    const chainsPer = scheduled.flatMap((a) => {
      const name = a.activityType?.name;
      if (name === 'enactChain') return [1];
      if (name !== 'enactChains') return [];
      const data = a.input?.payloads?.[0]?.data;
      return [(JSON.parse(Buffer.from(data ?? []).toString()) as { chains: unknown[] }).chains.length];
    });
    expect(chainsPer[0]).toBe(1);
    expect(chainsPer.reduce((a, b) => a + b, 0)).toBe(6);
    expect(kinds).toContain('enactChains');
    // The six replacement VMs, all ready at once, were built by one batch (CREATE_BATCHES).
    expect(kinds.filter((k) => k.startsWith('createVm'))).toEqual(['createVms']);
    // The reads before planning went out together, in one workflow task (PATCHES.readsTogether).
    const opening = scheduled.slice(0, 3);
    expect(opening.map((a) => a.activityType?.name).sort()).toEqual(['getPool', 'observe', 'workerSettings']);
    expect(new Set(opening.map((a) => String(a.workflowTaskCompletedEventId))).size).toBe(1);
    expect(
      kinds.filter((k) => ['associateVmToInstance', 'deleteServer', 'releaseQuota'].includes(k)),
    ).toEqual([]);
    const [canary, ...rest] = windows;
    for (const w of rest)
      expect(w.start, `${w.instance} started before the canary finished`).toBeGreaterThan(canary!.end);
    for (const w of windows) {
      const overlapping = windows.filter((o) => o.start <= w.start && o.end >= w.start).length;
      expect(overlapping, `instances updating at once when ${w.instance} started`).toBeLessThanOrEqual(2);
    }
    await h.expectInvariants(r, { manifest: bumped, cloudConfig: cc }, before);
  });

  it("a fresh deploy's associates and a delete's disk steps go to Temporal in batches of chains of one", async () => {
    const shape = (x: ReturnType<typeof smallManifest>) => {
      x.instance_groups = x.instance_groups.filter((g) => g.name === 'worker');
      group(x, 'worker').instances = 6;
      x.update = { ...x.update, canaries: 1, max_in_flight: 6 };
      group(x, 'worker').update = { max_in_flight: 6 };
    };
    const m = smallManifest('ones', shape);
    const r = await h.deploy(m, cc);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc });
    // Per kind: the steps that went alone, and those that rode in an enactChains batch.
    const carried = async (op: number) => {
      const alone: Record<string, number> = {};
      const batched: Record<string, number> = {};
      for (const a of await scheduledActivities(operationWorkflowId('ones', op))) {
        const name = a.activityType?.name ?? '?';
        if (name !== 'enactChains') {
          alone[name] = (alone[name] ?? 0) + 1;
          continue;
        }
        const data = a.input?.payloads?.[0]?.data;
        const { chains } = JSON.parse(Buffer.from(data ?? []).toString()) as {
          chains: Array<{ links: Array<{ kind: string }> }>;
        };
        for (const { links } of chains) for (const l of links) batched[l.kind] = (batched[l.kind] ?? 0) + 1;
      }
      return { alone, batched };
    };
    // The canary's associate alone, the five after it in one batch.
    const fresh = await carried(1);
    expect(fresh.alone.associateVmToInstance).toBe(1);
    expect(fresh.batched['associate-vm-to-instance']).toBe(5);
    expect(fresh.alone.createVms).toBe(1);

    const before = await h.seq();
    const d = await h.wait(await h.deployments.delete('ones'));
    expect(d.status, JSON.stringify(d.failure)).toBe('converged');
    expect(await observeDeployment(h.region.client, 'ones')).toEqual({
      servers: [],
      allocations: [],
      volumes: [],
    });
    await h.expectInvariants(d, undefined, before);
    const gone = await carried(2);
    for (const [kind, activity] of [
      ['detach-disk', 'detachDisk'],
      ['delete-disk', 'deleteDisk'],
    ] as const) {
      // Every disk step ran exactly once, most of them in batches.
      expect((gone.alone[activity] ?? 0) + (gone.batched[kind] ?? 0), kind).toBe(6);
      expect(gone.batched[kind] ?? 0, kind).toBeGreaterThanOrEqual(4);
    }
  });

  it('scales up and then down, deleting the highest indices', async () => {
    const m = smallManifest('scale');
    await h.deploy(m, cc);
    const up = smallManifest('scale', (x) => {
      group(x, 'api').instances = 5;
    });
    const r1 = await h.deploy(up, cc);
    expect(r1.status).toBe('converged');
    expect(r1.summary).toMatchObject({ create: 2, replace: 0, delete: 0 });
    await h.expectInvariants(r1, { manifest: up, cloudConfig: cc });
    const down = smallManifest('scale', (x) => {
      group(x, 'api').instances = 2;
    });
    const r2 = await h.deploy(down, cc);
    expect(r2.status).toBe('converged');
    expect(r2.summary).toMatchObject({ create: 0, delete: 3 });
    const apiIndices = r2.records
      .filter((x) => x.group === 'api')
      .map((x) => x.index)
      .sort();
    expect(apiIndices).toEqual([0, 1]);
    await h.expectInvariants(r2, { manifest: down, cloudConfig: cc });
  });

  it('renames a group with migrated_from: instances keep their uuids', async () => {
    const m = smallManifest('rename');
    const first = await h.deploy(m, cc);
    const apiIds = first.records
      .filter((x) => x.group === 'api')
      .map((x) => x.id)
      .sort();
    const renamed = smallManifest('rename', (x) => {
      const g = group(x, 'api');
      g.name = 'web';
      g.migrated_from = [{ name: 'api' }];
    });
    const r = await h.deploy(renamed, cc);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(
      r.records
        .filter((x) => x.group === 'web')
        .map((x) => x.id)
        .sort(),
    ).toEqual(apiIds);
    expect(
      r.instances
        .filter((i) => i.instance.startsWith('web/'))
        .every((i) => i.reasons.includes('group renamed api → web')),
    ).toBe(true);
    await h.expectInvariants(r, { manifest: renamed, cloudConfig: cc });
  });

  it('--recreate replaces every started instance', async () => {
    const m = smallManifest('recreate');
    await h.deploy(m, cc);
    const r = await h.deploy(m, cc, { recreate: true });
    expect(r.status).toBe('converged');
    expect(r.summary.replace).toBe(5);
    expect(r.instances.every((i) => i.reasons.includes('--recreate'))).toBe(true);
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc });
  });

  it("a create that fails for good in a batch fails its step with the cloud's reason and gives its quota back", async () => {
    // The image is there when the operation plans (a stemcell without one is refused up front) and
    // withdrawn before its creates reach the region (slowed by latency; admin calls are not).
    const image = { os: 'ubuntu-jammy', version: '9.999' };
    await h.region.client.createImage(image);
    const m = smallManifest('noimage', (x) => {
      x.stemcells[0]!.version = image.version;
    });
    // setFaults answers with the faults after the change: read the old latency first to restore it.
    const { latency_ms } = await h.region.client.getFaults();
    await h.region.client.setFaults({ latency_ms: 3000 });
    let r;
    try {
      const ticket = await h.deployments.deploy('noimage', { manifest: m, cloudConfig: cc });
      for (let i = 0; ; i++) {
        const p = await h.deployments.progress(ticket).catch(() => null);
        if (p?.phase === 'enacting') break;
        if (i > 600) throw new Error('never saw enacting');
        await new Promise((done) => setTimeout(done, 50));
      }
      await h.region.client.deleteImage(image);
      r = await h.wait(ticket);
    } finally {
      await h.region.client.setFaults({ latency_ms });
    }
    expect(r.status).toBe('failed');
    expect(r.failure?.type).toBe('ImageNotFound');
    expect(r.failure?.step).toMatch(/:create-vm$/);
    const kinds = (await scheduledActivities(operationWorkflowId('noimage', 1))).map(
      (a) => a.activityType?.name ?? '?',
    );
    // One batch tried every create; none ran again alone (a failure for good is final).
    expect(kinds.filter((k) => k.startsWith('createVm'))).toEqual(['createVms']);
    expect(r.failure?.message).toMatch(/9\.999/);
    const left = await h.region.client.listAllocations({ [TAG.deployment]: 'noimage' });
    expect(left).toEqual([]);
  });

  it('quota exceeded fails before any create, with a clear message', async () => {
    const m = smallManifest('toobig', (x) => {
      group(x, 'api').instances = 150;
      group(x, 'api').vm_type = 'large';
    });
    const before = await h.seq();
    const r = await h.deploy(m, cc);
    expect(r.status).toBe('failed');
    expect(r.failure?.type).toBe('QuotaExceeded');
    expect(r.failure?.message).toMatch(
      /quota exceeded in resource pool 'dev'.*cpus: needs \d+ at peak, limit 400/,
    );
    expect(await eventsSince(before, 'toobig')).toEqual([]);
  });
});

describe('bad input', () => {
  it('rejects a bad manifest through the update and leaves history unchanged', async () => {
    const m = smallManifest('badinput');
    await h.deploy(m, cc);
    const handle = (await import('../support/temporal')).testClient;
    const client = await handle();
    const entity = client.workflow.getHandle('deployment/badinput');
    const before = await requestEvents(entity);
    const bad = smallManifest('badinput', (x) => {
      group(x, 'api').vm_type = 'smal';
    });
    await expect(h.deployments.deploy('badinput', { manifest: bad, cloudConfig: cc })).rejects.toThrow(
      /vm_type/,
    );
    await expect(
      h.deployments.deploy('badinput', { manifest: { name: 'badinput', nonsense: true }, cloudConfig: cc }),
    ).rejects.toThrow(/rejected/);
    expect(await requestEvents(entity)).toEqual(before);
  });
});
