// Quota allocations, pool usage and the cloud-enforced two-stage deprovision.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, Gone, Invalid, NotFound, QuotaExceeded } from '../../src/cloud/errors';
import type { CreateAllocationRequest } from '../../src/cloud/port';
import { TAG } from '../../src/domain/cloud';
import { startRegion, type RegionHandle } from '../support/region';
import { deploymentTag, eventually, raw, serverRequest } from './helpers';

let region: RegionHandle;
beforeAll(async () => {
  region = await startRegion({
    faults: { build_ms: 10, delete_ms: 150 },
    config: {
      pools: [
        { name: 'small', limits: { cpus: 8, memory_mb: 8192, instances: 3 } },
        { name: 'big', limits: { cpus: 1000, memory_mb: 1_000_000, instances: 1000 } },
      ],
      azs: ['z1'],
      networks: [{ name: 'default', subnets: [{ range: '10.1.0.0/24', gateway: '10.1.0.1' }] }],
      images: [{ os: 'ubuntu-jammy', version: '1.181' }],
    },
  });
});
afterAll(async () => {
  await region?.stop();
});

const alloc = (overrides: Partial<CreateAllocationRequest> = {}): CreateAllocationRequest => ({
  pool: 'big',
  key: `alloc-${randomUUID()}`,
  cpus: 2,
  memory_mb: 1024,
  instances: 1,
  tags: {},
  ...overrides,
});

describe('allocations', () => {
  it('answers 201, and the same key returns the same allocation (200), never a second', async () => {
    const tags = deploymentTag();
    const req = alloc({ tags });
    const first = await raw(region, 'POST', '/v1/allocations', req);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      pool: 'big',
      key: req.key,
      cpus: 2,
      memory_mb: 1024,
      instances: 1,
      tags,
    });
    const again = await raw(region, 'POST', '/v1/allocations', req);
    expect(again.status).toBe(200);
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    const parallel = await Promise.all([1, 2, 3].map(() => region.client.createAllocation(req)));
    expect(new Set(parallel.map((a) => a.id)).size).toBe(1);
    expect(await region.client.listAllocations(tags)).toHaveLength(1);
  });

  it('counts allocations in the pool usage and frees them on release', async () => {
    const before = await region.client.getPool('big');
    const a = await region.client.createAllocation(alloc({ cpus: 4, memory_mb: 4096, instances: 2 }));
    const during = await region.client.getPool('big');
    expect(during.usage).toEqual({
      cpus: before.usage.cpus + 4,
      memory_mb: before.usage.memory_mb + 4096,
      instances: before.usage.instances + 2,
    });
    expect(during.limits).toEqual({ cpus: 1000, memory_mb: 1_000_000, instances: 1000 });
    await region.client.deleteAllocation(a.id);
    expect((await region.client.getPool('big')).usage).toEqual(before.usage);
  });

  it('answers 409 quota_exceeded naming the resource and the overshoot, and stores nothing', async () => {
    const ok = await region.client.createAllocation(
      alloc({ pool: 'small', cpus: 6, memory_mb: 1000, instances: 1 }),
    );
    const reply = await raw(
      region,
      'POST',
      '/v1/allocations',
      alloc({ pool: 'small', cpus: 4, memory_mb: 1000, instances: 1 }),
    );
    expect(reply.status).toBe(409);
    expect(reply.error).toMatchObject({
      code: 'quota_exceeded',
      details: { resource: 'cpus', overshoot: 2, limit: 8, usage: 6 },
    });
    expect(reply.error?.message).toMatch(/cpus would exceed its limit by 2/);

    const err = await region.client
      .createAllocation(alloc({ pool: 'small', cpus: 1, memory_mb: 1, instances: 3 }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceeded);
    expect((err as QuotaExceeded).resource).toBe('instances');
    expect((err as QuotaExceeded).overshoot).toBe(1);
    expect((await region.client.getPool('small')).usage).toEqual({ cpus: 6, memory_mb: 1000, instances: 1 });
    await region.client.deleteAllocation(ok.id);
  });

  it('answers 422 for an unknown pool, 404 for an unknown pool status', async () => {
    const reply = await raw(region, 'POST', '/v1/allocations', alloc({ pool: 'nope' }));
    expect(reply).toMatchObject({ status: 422, error: { code: 'pool_not_found', field: 'pool' } });
    await expect(region.client.createAllocation(alloc({ pool: 'nope' }))).rejects.toBeInstanceOf(Invalid);
    await expect(region.client.getPool('nope')).rejects.toBeInstanceOf(NotFound);
    expect((await region.client.listPools()).map((p) => p.name)).toEqual(['small', 'big']);
  });

  it('release: 204, then 404 (which the client treats as done), and the key then answers 410', async () => {
    const req = alloc();
    const a = await region.client.createAllocation(req);
    expect((await raw(region, 'DELETE', `/v1/allocations/${a.id}`)).status).toBe(204);
    expect((await raw(region, 'DELETE', `/v1/allocations/${a.id}`)).status).toBe(404);
    await expect(region.client.deleteAllocation(a.id)).resolves.toBeUndefined();
    await expect(region.client.getAllocation(a.id)).rejects.toBeInstanceOf(NotFound);
    const replay = await raw(region, 'POST', '/v1/allocations', req);
    expect(replay).toMatchObject({ status: 410, error: { code: 'gone', field: 'key' } });
    await expect(region.client.createAllocation(req)).rejects.toBeInstanceOf(Gone);
  });
});

describe('two-stage deprovision, enforced by the region', () => {
  it('refuses to release an allocation while a server tagged with it exists, even while DELETING', async () => {
    const d = deploymentTag();
    const a = await region.client.createAllocation(alloc({ tags: d }));
    const s = await region.client.createServer(serverRequest({ tags: { ...d, [TAG.allocation]: a.id } }));

    await eventually(async () =>
      (await region.client.getServer(s.id)).state === 'ACTIVE' ? true : undefined,
    );
    const refused = await raw(region, 'DELETE', `/v1/allocations/${a.id}`);
    expect(refused).toMatchObject({ status: 409, error: { code: 'allocation_in_use' } });
    await expect(region.client.deleteAllocation(a.id)).rejects.toBeInstanceOf(Conflict);

    // A slow delete, so the DELETING window is wide enough to probe even on a busy machine.
    await region.client.setFaults({ delete_ms: 1500 });
    try {
      await region.client.deleteServer(s.id);
    } finally {
      await region.client.setFaults({ delete_ms: 150 });
    }
    expect((await region.client.getServer(s.id)).state).toBe('DELETING');
    await expect(region.client.deleteAllocation(a.id)).rejects.toBeInstanceOf(Conflict);

    await eventually(
      async () => ((await region.client.listServers(d)).length === 0 ? true : undefined),
      10_000,
    );
    await region.client.deleteAllocation(a.id);
    expect(await region.client.listAllocations(d)).toEqual([]);

    const types = (await region.client.events())
      .filter((e) => e.subject === a.id || e.subject === s.id)
      .map((e) => e.type);
    expect(types).toEqual([
      'allocation.created',
      'server.created',
      'server.active',
      'server.deleting',
      'server.deleted',
      'allocation.released',
    ]);
  });
});
