// Stop, start, cancel, hard stop, delete and flaky builds, on the real stack. Each ends on DESIGN §9.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../src/domain/cloud';
import type { OperationProgress, OperationTicket } from '../../src/workflows/types';
import type { Manifest } from '../../src/domain/manifest';
import { cloudConfig, group, smallManifest } from '../support/fixtures';
import { observeDeployment } from '../support/invariants';
import { startHarness, type Harness } from './harness';

let h: Harness;
const cc = cloudConfig();

beforeAll(async () => {
  h = await startHarness('lifecycle');
});
afterAll(async () => {
  await h?.stop();
});

/** Waits until the running operation has done at least `steps` steps (or is enacting with builds in flight). */
async function waitForProgress(
  ticket: OperationTicket,
  test: (p: OperationProgress) => boolean,
): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const p = await h.deployments.progress(ticket);
      if (test(p)) return;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('operation made no progress');
}

async function waitIdle(name: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const s = await h.deployments.status(name);
    if (!s.current) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} never became idle`);
}

describe('lifecycle', () => {
  it('stop --hard deletes every VM two-stage and keeps identities and disks; deploy keeps them detached; start brings them back', async () => {
    const m = smallManifest('hardstop');
    const first = await h.deploy(m, cc);
    const ids = first.records.map((r) => r.id).sort();
    const before = await h.seq();
    const stopped = await h.wait(await h.deployments.stop('hardstop', { hard: true }));
    expect(stopped.status, JSON.stringify(stopped.failure)).toBe('converged');
    expect(stopped.records.every((r) => r.state === 'detached')).toBe(true);
    expect(stopped.records.map((r) => r.id).sort()).toEqual(ids);
    const observed = await observeDeployment(h.region.client, 'hardstop');
    expect(observed.servers).toEqual([]);
    expect(observed.allocations).toEqual([]);
    expect(observed.volumes).toHaveLength(2); // disks kept
    await h.expectInvariants(stopped, undefined, before);

    const redeploy = await h.deploy(m, cc);
    expect(redeploy.status).toBe('converged');
    expect(redeploy.stepsTotal).toBe(0);
    expect(redeploy.records.every((r) => r.state === 'detached')).toBe(true);

    const started = await h.wait(await h.deployments.start('hardstop'));
    expect(started.status, JSON.stringify(started.failure)).toBe('converged');
    expect(started.records.every((r) => r.state === 'started')).toBe(true);
    expect(started.records.map((r) => r.id).sort()).toEqual(ids);
    const after = await h.expectInvariants(started, { manifest: m, cloudConfig: cc });
    expect(after.observed.servers).toHaveLength(5);
    // the same disks came back
    expect(after.observed.volumes.map((v) => v.id).sort()).toEqual(observed.volumes.map((v) => v.id).sort());
  });

  it('cancel mid-update finishes the instance updates in flight, starts none after the cancel, and ends consistent; a follow-up deploy converges', async () => {
    // An update, not a fresh deploy: creates of new instances launch together, so at a cancel they are
    // all in flight already. Replacing six existing VMs one at a time leaves most still queued.
    const shape = (x: Manifest) => {
      x.instance_groups = x.instance_groups.filter((g) => g.name === 'api');
      group(x, 'api').instances = 6;
      x.update = { ...x.update, canaries: 1, max_in_flight: 1, vm_strategy: 'delete_create' };
    };
    const m = smallManifest('cancel', shape);
    const first = await h.deploy(m, cc);
    expect(first.status).toBe('converged');
    const bumped = smallManifest('cancel', (x) => {
      shape(x);
      x.stemcells[0]!.version = '1.182';
    });
    const before = await h.seq();
    await h.region.client.setFaults({ build_ms: 1500 });
    let acceptedAt = 0;
    try {
      const ticket = await h.deployments.deploy('cancel', { manifest: bumped, cloudConfig: cc });
      await waitForProgress(
        ticket,
        (p) => p.phase === 'enacting' && p.stepsDone > 0 && p.inFlight.length > 0,
      );
      await h.deployments.cancel('cancel');
      // The cancel is accepted once the operation says so; from then on no new step may start.
      await waitForProgress(ticket, (p) => p.cancelRequested);
      acceptedAt = await h.seq();
      const r = await h.wait(ticket);

      // Each instance's update begins with its first event in the region; none may begin after the cancel.
      const instanceOfClaim = new Map(first.records.map((rec) => [`${rec.group}/${rec.index}`, rec.id]));
      const began = new Map<string, number>();
      for (const e of await h.region.client.events(before)) {
        if (e.tags[TAG.deployment] !== 'cancel') continue;
        const instance = e.tags[TAG.instance] ?? instanceOfClaim.get(e.tags[TAG.claim] ?? '');
        if (instance !== undefined && !began.has(instance)) began.set(instance, e.seq);
      }
      const late = [...began].filter(([, seq]) => seq > acceptedAt);
      expect(late, `cancel accepted at seq ${acceptedAt}`).toEqual([]);
      // The cancel came while updates were still queued: some instances were never touched.
      expect(began.size).toBeGreaterThan(0);
      expect(began.size).toBeLessThan(first.records.length);
      expect(r.status).toBe('cancelled');
      expect(r.remaining.length).toBeGreaterThan(0);
      await h.expectInvariants(r, undefined, before);
      // The updates in flight finished (their VMs are gone or replaced, nothing half-deleted).
      const observed = await observeDeployment(h.region.client, 'cancel');
      expect(observed.servers.filter((s) => s.state === 'DELETING')).toEqual([]);
    } finally {
      await h.region.client.setFaults({ build_ms: 30 });
    }
    await waitIdle('cancel');
    const again = await h.deploy(bumped, cc);
    expect(again.status, JSON.stringify(again.failure)).toBe('converged');
    await h.expectInvariants(again, { manifest: bumped, cloudConfig: cc });
  });

  it('hardStop signal mid-deploy cancels, then deletes every VM and detaches every instance', async () => {
    const m = smallManifest('hardsignal');
    await h.deploy(m, cc);
    const bumped = smallManifest('hardsignal', (x) => {
      x.stemcells[0]!.version = '1.182';
      x.update.max_in_flight = 1;
    });
    await h.region.client.setFaults({ build_ms: 1500 });
    try {
      const ticket = await h.deployments.deploy('hardsignal', { manifest: bumped, cloudConfig: cc });
      await waitForProgress(ticket, (p) => p.phase === 'enacting' && p.inFlight.length > 0);
      await h.deployments.hardStop('hardsignal');
      const r = await h.wait(ticket);
      expect(r.status).toBe('cancelled');
    } finally {
      await h.region.client.setFaults({ build_ms: 30 });
    }
    await waitIdle('hardsignal');
    const status = await h.deployments.status('hardsignal');
    expect(status.recent[0]?.kind).toBe('stop');
    expect(status.recent[0]?.status).toBe('converged');
    expect(status.instances.every((row) => row.state === 'detached' && row.vm === null)).toBe(true);
    const observed = await observeDeployment(h.region.client, 'hardsignal');
    expect(observed.servers.filter((s) => s.state !== 'DELETING')).toEqual([]);
    expect(observed.allocations).toEqual([]);
  });

  it('recreate takes a group name and replaces only that group', async () => {
    const m = smallManifest('recreategroup');
    const first = await h.deploy(m, cc);
    const r = await h.wait(await h.deployments.recreate('recreategroup', ['worker']));
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    expect(r.summary).toMatchObject({ replace: 2, keep: 3 });
    expect(
      r.instances.filter((i) => i.action === 'replace').every((i) => i.instance.startsWith('worker/')),
    ).toBe(true);
    expect(r.records.map((x) => x.id).sort()).toEqual(first.records.map((x) => x.id).sort());
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc });
  });

  it('delete removes everything: each allocation is released only after its server is gone', async () => {
    const m = smallManifest('deleteme');
    await h.deploy(m, cc);
    const before = await h.seq();
    const r = await h.wait(await h.deployments.delete('deleteme'));
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    const observed = await observeDeployment(h.region.client, 'deleteme');
    expect(observed).toEqual({ servers: [], allocations: [], volumes: [] });
    const events = (await h.region.client.events(before)).filter(
      (e) => e.tags[TAG.deployment] === 'deleteme',
    );
    const released = events.filter((e) => e.type === 'allocation.released');
    expect(released).toHaveLength(5);
    await h.expectInvariants(r, undefined, before);
  });

  it('replaces ERROR builds under retries and converges', async () => {
    // Every build fails until the first ERROR is seen; then builds succeed. Deterministic, no luck needed.
    await h.region.client.setFaults({ error_build_rate: 1 });
    const m = smallManifest('flaky');
    const before = await h.seq();
    let ticket: OperationTicket | null = null;
    try {
      ticket = await h.deployments.deploy('flaky', { manifest: m, cloudConfig: cc });
      for (let i = 0; i < 600; i++) {
        const events = await h.region.client.events(before);
        if (events.some((e) => e.type === 'server.error' && e.tags[TAG.deployment] === 'flaky')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await h.region.client.setFaults({ error_build_rate: 0 });
    }
    if (!ticket) throw new Error('deploy did not start');
    const r = await h.wait(ticket);
    expect(r.status, JSON.stringify(r.failure)).toBe('converged');
    const events = (await h.region.client.events(before)).filter((e) => e.tags[TAG.deployment] === 'flaky');
    expect(events.some((e) => e.type === 'server.error')).toBe(true);
    await h.expectInvariants(r, { manifest: m, cloudConfig: cc }, before);
  });
});
