// Restart persistence: stop (or kill) the process, start it on the same file: everything is still there,
// idempotency still holds, and pending BUILD/DELETING transitions finish on their stored deadlines.
import { afterEach, describe, expect, it } from 'vitest';
import { Gone } from '../../src/cloud/errors';
import { TAG } from '../../src/domain/cloud';
import { startRegion, type RegionHandle } from '../support/region';
import { deploymentTag, eventually, raw, serverRequest, sleep } from './helpers';

let region: RegionHandle | undefined;
afterEach(async () => {
  await region?.stop();
  region = undefined;
});

describe.each(['SIGTERM', 'SIGKILL'] as const)('after %s and a restart on the same file', (signal) => {
  it('keeps servers, allocations, volumes, images, events and idempotency keys', async () => {
    region = await startRegion({ faults: { build_ms: 10, delete_ms: 10 } });
    const c = region.client;
    const d = deploymentTag();
    const a = await c.createAllocation({
      pool: 'dev',
      key: 'restart-alloc',
      cpus: 2,
      memory_mb: 2048,
      instances: 1,
      tags: d,
    });
    const req = serverRequest({ tags: { ...d, [TAG.allocation]: a.id }, static_ip: '10.0.0.22' });
    const s = await c.createServer(req);
    await eventually(async () => ((await c.getServer(s.id)).state === 'ACTIVE' ? true : undefined));
    const v = await c.createVolume({ pool: 'nfs-1', size_gb: 3, tags: d, idempotency_key: 'restart-vol' });
    await c.attachVolume(v.id, s.id);
    await c.createImage({ os: 'restart-os', version: '1' });
    const goneReq = serverRequest({ tags: d });
    const gone = await c.createServer(goneReq);
    await c.deleteServer(gone.id);
    await eventually(async () =>
      (await raw(region as RegionHandle, 'GET', `/v1/servers/${gone.id}`)).status === 404 ? true : undefined,
    );
    const eventsBefore = await c.events();
    const portBefore = region.port;

    await region.restart({ signal });
    const c2 = region.client;
    expect(region.port).toBe(portBefore);

    expect(await c2.getServer(s.id)).toMatchObject({
      state: 'ACTIVE',
      addresses: [{ ip: '10.0.0.22', mac: s.addresses[0]?.mac }],
    });
    expect((await c2.listServers(d)).map((x) => x.id)).toEqual([s.id]);
    expect(await c2.listAllocations(d)).toEqual([a]);
    expect(await c2.getVolume(v.id)).toMatchObject({ server_id: s.id, size_gb: 3 });
    expect(await c2.listImages()).toContainEqual({ os: 'restart-os', version: '1' });
    expect((await c2.events()).slice(0, eventsBefore.length)).toEqual(eventsBefore);
    expect((await c2.getPool('dev')).usage).toMatchObject({ cpus: 2, memory_mb: 2048, instances: 1 });

    // Idempotency survives: same key ⇒ same things; deleted ⇒ 410.
    expect((await c2.createServer(req)).id).toBe(s.id);
    expect(
      (
        await c2.createAllocation({
          pool: 'dev',
          key: 'restart-alloc',
          cpus: 2,
          memory_mb: 2048,
          instances: 1,
          tags: d,
        })
      ).id,
    ).toBe(a.id);
    expect(
      (await c2.createVolume({ pool: 'nfs-1', size_gb: 3, tags: d, idempotency_key: 'restart-vol' })).id,
    ).toBe(v.id);
    await expect(c2.createServer(goneReq)).rejects.toBeInstanceOf(Gone);

    // The static IP is still taken; new servers get new MACs.
    expect((await raw(region, 'POST', '/v1/servers', serverRequest({ static_ip: '10.0.0.22' }))).status).toBe(
      409,
    );
    const fresh = await c2.createServer(serverRequest({ tags: d }));
    expect(fresh.addresses[0]?.mac).not.toBe(s.addresses[0]?.mac);
    expect(fresh.addresses[0]?.mac).not.toBe(gone.addresses[0]?.mac);
    expect(fresh.addresses[0]?.ip).not.toBe(s.addresses[0]?.ip);

    // The two-stage guard still holds.
    await expect(c2.deleteAllocation(a.id)).rejects.toThrow(/still used/);
  });
});

describe('pending transitions across a restart', () => {
  it('an in-flight BUILD still goes ACTIVE, on the deadline measured from its creation', async () => {
    region = await startRegion({ faults: { build_ms: 6000, delete_ms: 10 } });
    const s = await region.client.createServer(serverRequest());
    expect(s.state).toBe('BUILD');
    // Restart halfway: a deadline counted from the restart would land 3 s after one counted from creation.
    await sleep(3000);
    const restartedAt = Date.now();
    await region.restart({ signal: 'SIGKILL' });
    expect((await region.client.getServer(s.id)).state).toBe('BUILD');
    await eventually(
      async () => ((await region?.client.getServer(s.id))?.state === 'ACTIVE' ? true : undefined),
      15_000,
    );
    // The region's own stamps: not early, and not pushed back by the restart.
    const stamp = async (type: string): Promise<number> =>
      Date.parse(
        ((await region?.client.events()) ?? []).find((e) => e.subject === s.id && e.type === type)?.at ?? '',
      );
    // From the server's own created_at: the created event is stamped a moment after it (may be 1 ms on).
    const created = Date.parse(s.created_at);
    const active = await stamp('server.active');
    expect(active - created).toBeGreaterThanOrEqual(6000);
    expect(active).toBeLessThan(restartedAt + 6000);
  }, 30_000);

  it('a build that was due while the region was down completes right at start', async () => {
    region = await startRegion({ faults: { build_ms: 300, delete_ms: 300 } });
    const building = await region.client.createServer(serverRequest());
    const deleting = await region.client.createServer(serverRequest());
    await eventually(async () =>
      (await region?.client.getServer(deleting.id))?.state === 'ACTIVE' ? true : undefined,
    );
    await region.client.deleteServer(deleting.id);
    // SIGKILL: no chance to finish anything on the way out; down longer than the 300 ms deadlines.
    await region.restart({ signal: 'SIGKILL', downMs: 600 });
    expect((await region.client.getServer(building.id)).state).toBe('ACTIVE');
    expect((await raw(region, 'GET', `/v1/servers/${deleting.id}`)).status).toBe(404);
  }, 30_000);

  it('a stuck build stays stuck after a restart, while a later build finishes', async () => {
    region = await startRegion({ faults: { stuck_build_rate: 1, build_ms: 10 } });
    const s = await region.client.createServer(serverRequest());
    await region.restart();
    await region.client.setFaults({ stuck_build_rate: 0 });
    const later = await region.client.createServer(serverRequest());
    await eventually(async () =>
      (await region?.client.getServer(later.id))?.state === 'ACTIVE' ? true : undefined,
    );
    expect((await region.client.getServer(s.id)).state).toBe('BUILD');
  }, 30_000);
});
