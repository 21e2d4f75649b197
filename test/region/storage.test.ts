// Storage pools, volumes (create, attach, detach, delete) and images.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, Gone, Invalid, InvalidState, NotFound, QuotaExceeded } from '../../src/cloud/errors';
import { startRegion, type RegionHandle } from '../support/region';
import { deploymentTag, eventually, raw, serverRequest } from './helpers';

let region: RegionHandle;
beforeAll(async () => {
  region = await startRegion({
    faults: { build_ms: 10, delete_ms: 10 },
    config: {
      pools: [{ name: 'dev', limits: { cpus: 100, memory_mb: 100_000, instances: 100 } }],
      azs: ['z1'],
      networks: [{ name: 'default', subnets: [{ range: '10.2.0.0/24', gateway: '10.2.0.1' }] }],
      storage_pools: [
        { name: 'iscsi-1', type: 'iscsi', can_create: false, capacity_gb: 100 },
        { name: 'lvm-1', type: 'lvm', can_create: true, capacity_gb: 50 },
        { name: 'nfs-1', type: 'nfs', can_create: true, capacity_gb: 10_000 },
      ],
      images: [{ os: 'ubuntu-jammy', version: '1.181' }],
    },
  });
});
afterAll(async () => {
  await region?.stop();
});

async function activeServer(tags = deploymentTag()) {
  const s = await region.client.createServer(serverRequest({ tags }));
  await eventually(async () => ((await region.client.getServer(s.id)).state === 'ACTIVE' ? true : undefined));
  return s;
}

describe('storage pools', () => {
  it('lists pools in config order with type, can_create, capacity and usage', async () => {
    const before = await region.client.listStoragePools();
    expect(before.map((p) => [p.name, p.type, p.can_create, p.capacity_gb])).toEqual([
      ['iscsi-1', 'iscsi', false, 100],
      ['lvm-1', 'lvm', true, 50],
      ['nfs-1', 'nfs', true, 10_000],
    ]);
    const v = await region.client.createVolume({ pool: 'nfs-1', size_gb: 7, tags: {} });
    const after = await region.client.listStoragePools();
    expect(after[2]?.used_gb).toBe((before[2]?.used_gb ?? 0) + 7);
    await region.client.deleteVolume(v.id);
    expect((await region.client.listStoragePools())[2]?.used_gb).toBe(before[2]?.used_gb);
  });
});

describe('volumes', () => {
  it('creates (201), finds by tag, and is idempotent with a key; 410 after deletion', async () => {
    const tags = deploymentTag();
    const key = `vol-${randomUUID()}`;
    const first = await raw(region, 'POST', '/v1/volumes', {
      pool: 'nfs-1',
      size_gb: 5,
      tags,
      idempotency_key: key,
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ pool: 'nfs-1', size_gb: 5, tags, server_id: null });
    const again = await raw(region, 'POST', '/v1/volumes', {
      pool: 'nfs-1',
      size_gb: 5,
      tags,
      idempotency_key: key,
    });
    expect(again.status).toBe(200);
    const id = (first.body as { id: string }).id;
    expect((again.body as { id: string }).id).toBe(id);
    expect((await region.client.listVolumes(tags)).map((v) => v.id)).toEqual([id]);
    expect((await region.client.getVolume(id)).size_gb).toBe(5);
    await region.client.deleteVolume(id);
    await expect(
      region.client.createVolume({ pool: 'nfs-1', size_gb: 5, tags, idempotency_key: key }),
    ).rejects.toBeInstanceOf(Gone);
  });

  it('refuses pools that cannot create (422), unknown pools (422) and pools without room (409)', async () => {
    const tags = deploymentTag();
    expect(await raw(region, 'POST', '/v1/volumes', { pool: 'iscsi-1', size_gb: 1, tags })).toMatchObject({
      status: 422,
      error: { code: 'pool_cannot_create', field: 'pool' },
    });
    expect(await raw(region, 'POST', '/v1/volumes', { pool: 'ceph', size_gb: 1, tags })).toMatchObject({
      status: 422,
      error: { code: 'storage_pool_not_found', field: 'pool' },
    });
    await expect(region.client.createVolume({ pool: 'iscsi-1', size_gb: 1, tags })).rejects.toBeInstanceOf(
      Invalid,
    );
    const full = await raw(region, 'POST', '/v1/volumes', { pool: 'lvm-1', size_gb: 51, tags });
    expect(full).toMatchObject({
      status: 409,
      error: { code: 'capacity_exceeded', details: { resource: 'size_gb', overshoot: 1 } },
    });
    await expect(region.client.createVolume({ pool: 'lvm-1', size_gb: 60, tags })).rejects.toBeInstanceOf(
      QuotaExceeded,
    );
    expect(await region.client.listVolumes(tags)).toEqual([]);
  });

  it('attaches to an ACTIVE server, refuses a second server (409), detaches, deletes', async () => {
    const a = await activeServer();
    const b = await activeServer();
    const v = await region.client.createVolume({ pool: 'nfs-1', size_gb: 3, tags: deploymentTag() });
    expect((await region.client.attachVolume(v.id, a.id)).server_id).toBe(a.id);
    expect((await region.client.attachVolume(v.id, a.id)).server_id).toBe(a.id); // again: same answer
    const clash = await raw(region, 'POST', `/v1/volumes/${v.id}/attach`, { server_id: b.id });
    expect(clash).toMatchObject({ status: 409, error: { code: 'volume_in_use' } });
    await expect(region.client.attachVolume(v.id, b.id)).rejects.toBeInstanceOf(Conflict);
    expect(await raw(region, 'DELETE', `/v1/volumes/${v.id}`)).toMatchObject({
      status: 409,
      error: { code: 'volume_in_use' },
    });

    expect((await region.client.detachVolume(v.id)).server_id).toBeNull();
    expect((await region.client.detachVolume(v.id)).server_id).toBeNull();
    expect((await raw(region, 'DELETE', `/v1/volumes/${v.id}`)).status).toBe(204);
    expect((await raw(region, 'DELETE', `/v1/volumes/${v.id}`)).status).toBe(404);
    await expect(region.client.deleteVolume(v.id)).resolves.toBeUndefined();
    await expect(region.client.getVolume(v.id)).rejects.toBeInstanceOf(NotFound);
  });

  it('refuses attaching to a missing server (422) or one still in BUILD (409)', async () => {
    const v = await region.client.createVolume({ pool: 'nfs-1', size_gb: 1, tags: {} });
    expect(await raw(region, 'POST', `/v1/volumes/${v.id}/attach`, { server_id: 'srv-nope' })).toMatchObject({
      status: 422,
      error: { code: 'server_not_found', field: 'server_id' },
    });
    await region.client.setFaults({ build_ms: 60_000 });
    try {
      const building = await region.client.createServer(serverRequest());
      await expect(region.client.attachVolume(v.id, building.id)).rejects.toBeInstanceOf(InvalidState);
      await region.client.deleteServer(building.id);
    } finally {
      await region.client.setFaults({ build_ms: 10 });
    }
    expect((await raw(region, 'POST', '/v1/volumes/vol-nope/attach', { server_id: 'x' })).status).toBe(404);
  });

  it('keeps a volume when its server is deleted: it is detached, not destroyed', async () => {
    const s = await activeServer();
    const v = await region.client.createVolume({ pool: 'nfs-1', size_gb: 2, tags: deploymentTag() });
    await region.client.attachVolume(v.id, s.id);
    await region.client.deleteServer(s.id);
    const detached = await eventually(async () => {
      const now = await region.client.getVolume(v.id);
      return now.server_id === null ? now : undefined;
    });
    expect(detached.id).toBe(v.id);
    const types = (await region.client.events())
      .filter((e) => e.subject === v.id || e.subject === s.id)
      .map((e) => e.type);
    expect(types.slice(-3)).toEqual(['server.deleting', 'volume.detached', 'server.deleted']);
  });
});

describe('images', () => {
  it('lists seeded images, adds new ones (201, then 200), and servers may then use them', async () => {
    expect(await region.client.listImages()).toContainEqual({ os: 'ubuntu-jammy', version: '1.181' });
    const image = { os: 'ubuntu-noble', version: `1.${Date.now() % 1000}` };
    await expect(region.client.createServer(serverRequest({ image }))).rejects.toThrow(/does not exist/);
    expect((await raw(region, 'POST', '/v1/images', image)).status).toBe(201);
    expect((await raw(region, 'POST', '/v1/images', image)).status).toBe(200);
    expect(await region.client.listImages()).toContainEqual(image);
    const s = await region.client.createServer(serverRequest({ image }));
    expect(s.image).toEqual(image);
  });
});
