import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, Gone, ImageNotFound, Invalid, InvalidState, NotFound } from '../../src/cloud/errors';
import { startRegion, type RegionHandle } from '../support/region';
import { deploymentTag, eventually, raw, serverRequest } from './helpers';

let region: RegionHandle;
beforeAll(async () => {
  region = await startRegion({
    faults: { build_ms: 40, delete_ms: 40 },
    config: {
      pools: [{ name: 'dev', limits: { cpus: 1000, memory_mb: 1_000_000, instances: 1000 } }],
      azs: ['z1', 'z2'],
      networks: [
        {
          name: 'default',
          subnets: [{ range: '10.0.0.0/16', gateway: '10.0.0.1', static: ['10.0.0.2-10.0.0.255'] }],
        },
        {
          name: 'tiny',
          subnets: [
            {
              range: '192.168.7.0/29',
              gateway: '192.168.7.1',
              static: ['192.168.7.2'],
              reserved: ['192.168.7.3'],
              azs: ['z1'],
            },
          ],
        },
      ],
      images: [{ os: 'ubuntu-jammy', version: '1.181' }],
    },
  });
});
afterAll(async () => {
  await region?.stop();
});

const active = (id: string) =>
  eventually(
    async () => ((await region.client.getServer(id)).state === 'ACTIVE' ? true : undefined),
    5000,
    `${id} ACTIVE`,
  );

describe('creating servers', () => {
  it('answers 202 with the server in BUILD, then it becomes ACTIVE, running and healthy', async () => {
    const tags = deploymentTag();
    const reply = await raw(region, 'POST', '/v1/servers', serverRequest({ tags }));
    expect(reply.status).toBe(202);
    const created = reply.body as { id: string; state: string; power: string; health: string; tags: unknown };
    expect(created).toMatchObject({ state: 'BUILD', power: 'stopped', health: 'unknown', tags });
    await active(created.id);
    const server = await region.client.getServer(created.id);
    expect(server).toMatchObject({
      state: 'ACTIVE',
      power: 'running',
      health: 'healthy',
      az: 'z1',
      cpus: 2,
      memory_mb: 2048,
      disk_gb: 10,
    });
    expect(Date.parse(server.created_at)).not.toBeNaN();
  });

  it('returns the same server for the same idempotency key, never a second one', async () => {
    const tags = deploymentTag();
    const req = serverRequest({ tags });
    const [a, b, c] = await Promise.all([
      region.client.createServer(req),
      region.client.createServer(req),
      region.client.createServer({ ...req, name: 'renamed' }),
    ]);
    expect(b?.id).toBe(a?.id);
    expect(c?.id).toBe(a?.id);
    expect(await region.client.listServers(tags)).toHaveLength(1);
    const again = await raw(region, 'POST', '/v1/servers', req);
    expect(again.status).toBe(200);
    // What create answered is what was stored (apart from the lifecycle having moved on).
    const lifecycle = ({ state: _s, power: _p, health: _h, ...rest }: Record<string, unknown>) => rest;
    expect(lifecycle(again.body as Record<string, unknown>)).toEqual(lifecycle({ ...a }));
  });

  it('answers 410 gone for a key whose server was deleted', async () => {
    const req = serverRequest({ tags: deploymentTag() });
    const server = await region.client.createServer(req);
    await region.client.deleteServer(server.id);
    await eventually(async () =>
      (await region.client.listServers(req.tags)).length === 0 ? true : undefined,
    );
    const reply = await raw(region, 'POST', '/v1/servers', req);
    expect(reply.status).toBe(410);
    expect(reply.error).toMatchObject({ code: 'gone', field: 'idempotency_key' });
    await expect(region.client.createServer(req)).rejects.toBeInstanceOf(Gone);
  });

  it('refuses an unknown image with 422 image_not_found and stores nothing', async () => {
    const tags = deploymentTag();
    const reply = await raw(
      region,
      'POST',
      '/v1/servers',
      serverRequest({ tags, image: { os: 'ubuntu-jammy', version: '9.9' } }),
    );
    expect(reply.status).toBe(422);
    expect(reply.error).toMatchObject({ code: 'image_not_found', field: 'image' });
    await expect(
      region.client.createServer(serverRequest({ image: { os: 'nope', version: '1' } })),
    ).rejects.toBeInstanceOf(ImageNotFound);
    expect(await region.client.listServers(tags)).toEqual([]);
  });

  it('refuses unknown az and network with 422 naming the field', async () => {
    expect((await raw(region, 'POST', '/v1/servers', serverRequest({ az: 'z9' }))).error).toMatchObject({
      code: 'az_not_found',
      field: 'az',
    });
    expect(
      (await raw(region, 'POST', '/v1/servers', serverRequest({ network: 'nope' }))).error,
    ).toMatchObject({
      code: 'network_not_found',
      field: 'network',
    });
    // tiny only has a subnet in z1
    const reply = await raw(region, 'POST', '/v1/servers', serverRequest({ network: 'tiny', az: 'z2' }));
    expect(reply.status).toBe(422);
    expect(reply.error?.field).toBe('az');
  });
});

describe('addresses', () => {
  it('hands out distinct dynamic IPs outside gateway/static ranges, and unique MACs', async () => {
    const tags = deploymentTag();
    const servers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        region.client.createServer(serverRequest({ tags, name: `s${i}` })),
      ),
    );
    const ips = servers.map((s) => s.addresses[0]?.ip);
    const macs = servers.map((s) => s.addresses[0]?.mac);
    expect(new Set(ips).size).toBe(30);
    expect(new Set(macs).size).toBe(30);
    for (const ip of ips) {
      expect(ip).toMatch(/^10\.0\.\d+\.\d+$/);
      expect(ip).not.toBe('10.0.0.1');
      expect(ip?.startsWith('10.0.0.')).toBe(false); // 10.0.0.2-255 is static-only
    }
    for (const mac of macs) expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(servers[0]?.addresses[0]?.network).toBe('default');
  });

  it('gives a requested static IP, and 409 when it is taken', async () => {
    const a = await region.client.createServer(serverRequest({ static_ip: '10.0.0.77' }));
    expect(a.addresses[0]?.ip).toBe('10.0.0.77');
    const reply = await raw(region, 'POST', '/v1/servers', serverRequest({ static_ip: '10.0.0.77' }));
    expect(reply.status).toBe(409);
    expect(reply.error).toMatchObject({ code: 'ip_taken', field: 'static_ip' });
    await expect(
      region.client.createServer(serverRequest({ static_ip: '10.0.0.77' })),
    ).rejects.toBeInstanceOf(Conflict);
  });

  it('refuses a static IP outside the static ranges with 422', async () => {
    const reply = await raw(region, 'POST', '/v1/servers', serverRequest({ static_ip: '10.0.5.5' }));
    expect(reply.status).toBe(422);
    expect(reply.error).toMatchObject({ code: 'invalid_ip', field: 'static_ip' });
    await expect(region.client.createServer(serverRequest({ static_ip: '10.0.5.5' }))).rejects.toBeInstanceOf(
      Invalid,
    );
  });

  it('frees a deleted server IP and reports 409 when a small network runs out', async () => {
    // 192.168.7.0/29: hosts .1-.6; gateway .1, static .2, reserved .3 ⇒ dynamic .4, .5, .6
    const tags = deploymentTag();
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(await region.client.createServer(serverRequest({ tags, network: 'tiny' })));
    expect(made.map((s) => s.addresses[0]?.ip).sort()).toEqual(['192.168.7.4', '192.168.7.5', '192.168.7.6']);
    const full = await raw(region, 'POST', '/v1/servers', serverRequest({ network: 'tiny' }));
    expect(full.status).toBe(409);
    expect(full.error).toMatchObject({ code: 'no_free_ip', field: 'network' });
    const first = made[0];
    if (!first) throw new Error('no server');
    await region.client.deleteServer(first.id);
    await eventually(async () => ((await region.client.listServers(tags)).length === 2 ? true : undefined));
    const next = await region.client.createServer(serverRequest({ network: 'tiny' }));
    expect(next.addresses[0]?.ip).toBe(first.addresses[0]?.ip);
    expect(next.addresses[0]?.mac).not.toBe(first.addresses[0]?.mac);
  });
});

describe("addresses from the caller's subnet (addressing)", () => {
  it('gives the lowest free address inside both the range and the dynamic space, outside reserved and static; then 409', async () => {
    const tags = deploymentTag();
    const addressing = { range: '10.0.3.0/29', reserved: ['10.0.3.1'], static: ['10.0.3.6'] };
    const made = [];
    for (let i = 0; i < 4; i++)
      made.push(await region.client.createServer(serverRequest({ tags, name: `a${i}`, addressing })));
    expect(made.map((s) => s.addresses[0]?.ip)).toEqual(['10.0.3.2', '10.0.3.3', '10.0.3.4', '10.0.3.5']);
    const full = await raw(region, 'POST', '/v1/servers', serverRequest({ addressing }));
    expect(full.status).toBe(409);
    expect(full.error).toMatchObject({
      code: 'no_free_ip',
      field: 'network',
      message: expect.stringContaining('in 10.0.3.0/29 outside its reserved and static ranges') as unknown,
    });
    await expect(region.client.createServer(serverRequest({ addressing }))).rejects.toBeInstanceOf(Conflict);
    // A freed address is the lowest free one again.
    const second = made[1];
    if (!second) throw new Error('no server');
    await region.client.deleteServer(second.id);
    await eventually(async () => ((await region.client.listServers(tags)).length === 3 ? true : undefined));
    const next = await region.client.createServer(serverRequest({ tags, addressing }));
    expect(next.addresses[0]?.ip).toBe('10.0.3.3');
  });

  it("never gives the region's static or gateway addresses, even when the caller's range holds them", async () => {
    // 10.0.0.0/24 lies in the region's static-only 10.0.0.2-10.0.0.255 and its gateway: nothing is dynamic.
    const addressing = { range: '10.0.0.0/24', reserved: [], static: [] };
    const reply = await raw(region, 'POST', '/v1/servers', serverRequest({ addressing }));
    expect(reply.status).toBe(409);
    expect(reply.error).toMatchObject({ code: 'no_free_ip' });
    // A static IP is the caller's choice: addressing does not limit it.
    const held = await region.client.createServer(serverRequest({ static_ip: '10.0.0.78', addressing }));
    expect(held.addresses[0]?.ip).toBe('10.0.0.78');
  });

  it('refuses malformed addressing with 400 naming the field, and creates nothing', async () => {
    const tags = deploymentTag();
    const cases: [Record<string, unknown>, string][] = [
      [{ range: '10.0.3.1/29', reserved: [], static: [] }, 'addressing.range'],
      [{ range: '10.0.3.0/29', reserved: ['10.0.3.x'], static: [] }, 'addressing.reserved[0]'],
      [{ range: '10.0.3.0/29', reserved: [], static: [], gateway: '10.0.3.1' }, 'addressing.gateway'],
    ];
    for (const [addressing, field] of cases) {
      const reply = await raw(region, 'POST', '/v1/servers', { ...serverRequest({ tags }), addressing });
      expect(reply.status, field).toBe(400);
      expect(reply.error).toMatchObject({ code: 'invalid', field });
    }
    expect(await region.client.listServers(tags)).toEqual([]);
  });
});

describe('listing and tags', () => {
  it('filters by every given tag (AND)', async () => {
    const d = deploymentTag();
    const web = await region.client.createServer(serverRequest({ tags: { ...d, 'converge.group': 'web' } }));
    const db = await region.client.createServer(serverRequest({ tags: { ...d, 'converge.group': 'db' } }));
    await region.client.createServer(serverRequest({ tags: { 'converge.group': 'web' } }));
    expect((await region.client.listServers(d)).map((s) => s.id).sort()).toEqual([web.id, db.id].sort());
    expect((await region.client.listServers({ ...d, 'converge.group': 'web' })).map((s) => s.id)).toEqual([
      web.id,
    ]);
    expect(await region.client.listServers({ ...d, 'converge.group': 'cache' })).toEqual([]);
    const rawList = await raw(
      region,
      'GET',
      `/v1/servers?tag=${encodeURIComponent(`converge.deployment=${d['converge.deployment']}`)}&tag=converge.group=db`,
    );
    expect(rawList.body).toMatchObject({ items: [{ id: db.id }], next: null });
  });

  it('merges tags with PATCH and keeps the others', async () => {
    const d = deploymentTag();
    const s = await region.client.createServer(serverRequest({ tags: { ...d, a: '1', b: '2' } }));
    const patched = await region.client.setServerTags(s.id, { b: '3', 'converge.instance': 'i-1' });
    expect(patched.tags).toEqual({ ...d, a: '1', b: '3', 'converge.instance': 'i-1' });
    expect((await region.client.listServers({ 'converge.instance': 'i-1', ...d })).map((x) => x.id)).toEqual([
      s.id,
    ]);
    expect((await raw(region, 'PATCH', '/v1/servers/srv-nope/tags', { tags: {} })).status).toBe(404);
  });

  it('answers 404 for a server that does not exist', async () => {
    const reply = await raw(region, 'GET', '/v1/servers/srv-missing');
    expect(reply.status).toBe(404);
    expect(reply.error?.code).toBe('not_found');
    await expect(region.client.getServer('srv-missing')).rejects.toBeInstanceOf(NotFound);
  });
});

describe('deleting', () => {
  it('answers 202 DELETING, then the server is gone (404); deleting again is harmless', async () => {
    const s = await region.client.createServer(serverRequest());
    const reply = await raw(region, 'DELETE', `/v1/servers/${s.id}`);
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ id: s.id, state: 'DELETING' });
    expect((await raw(region, 'DELETE', `/v1/servers/${s.id}`)).status).toBe(202);
    await eventually(async () =>
      (await raw(region, 'GET', `/v1/servers/${s.id}`)).status === 404 ? true : undefined,
    );
    expect((await raw(region, 'DELETE', `/v1/servers/${s.id}`)).status).toBe(404);
    await expect(region.client.deleteServer(s.id)).resolves.toBe('gone'); // 404 on delete = done
  });

  it('a cloud without latency answers ACTIVE to the create and 204 to the delete: nothing to wait for', async () => {
    const before = await region.client.setFaults({});
    try {
      await region.client.setFaults({ build_ms: 0, delete_ms: 0 });
      const s = await region.client.createServer(serverRequest());
      expect(s.state).toBe('ACTIVE');
      const reply = await raw(region, 'DELETE', `/v1/servers/${s.id}`);
      expect(reply.status).toBe(204);
      expect((await raw(region, 'GET', `/v1/servers/${s.id}`)).status).toBe(404);
      const t = await region.client.createServer(serverRequest());
      await expect(region.client.deleteServer(t.id)).resolves.toBe('gone');
    } finally {
      await region.client.setFaults({ build_ms: before.build_ms, delete_ms: before.delete_ms });
    }
  });

  it('freezes tags while DELETING (409)', async () => {
    const s = await region.client.createServer(serverRequest());
    // A ten-minute delete: the server is surely still DELETING when the tag write comes.
    const before = await region.client.setFaults({});
    await region.client.setFaults({ delete_ms: 600_000 });
    try {
      await region.client.deleteServer(s.id);
    } finally {
      await region.client.setFaults({ delete_ms: before.delete_ms });
    }
    expect((await region.client.getServer(s.id)).state).toBe('DELETING');
    const reply = await raw(region, 'PATCH', `/v1/servers/${s.id}/tags`, { tags: { x: 'y' } });
    expect(reply.status).toBe(409);
    expect(reply.error?.code).toBe('invalid_state');
    expect((await region.client.getServer(s.id)).tags).not.toHaveProperty('x');
  });
});

describe('actions', () => {
  it('follows the state machine: stop, start, reboot; 409 when invalid; 422 when unknown', async () => {
    const s = await region.client.createServer(serverRequest());
    // BUILD: nothing is allowed yet
    const early = await raw(region, 'POST', `/v1/servers/${s.id}/actions`, { action: 'stop' });
    expect(early.status).toBe(409);
    expect(early.error?.code).toBe('invalid_state');
    await active(s.id);

    await expect(region.client.serverAction(s.id, 'start')).rejects.toBeInstanceOf(InvalidState);
    expect(await region.client.serverAction(s.id, 'reboot')).toMatchObject({
      state: 'ACTIVE',
      power: 'running',
    });
    expect(await region.client.serverAction(s.id, 'stop')).toMatchObject({
      state: 'SHUTOFF',
      power: 'stopped',
    });
    await expect(region.client.serverAction(s.id, 'stop')).rejects.toBeInstanceOf(InvalidState);
    await expect(region.client.serverAction(s.id, 'reboot')).rejects.toBeInstanceOf(InvalidState);
    expect(await region.client.serverAction(s.id, 'start')).toMatchObject({
      state: 'ACTIVE',
      health: 'healthy',
    });

    const unknown = await raw(region, 'POST', `/v1/servers/${s.id}/actions`, { action: 'hibernate' });
    expect(unknown.status).toBe(422);
    expect(unknown.error).toMatchObject({ code: 'unknown_action', field: 'action' });
    expect((await raw(region, 'POST', '/v1/servers/srv-nope/actions', { action: 'start' })).status).toBe(404);

    await region.client.deleteServer(s.id);
    const deleting = await raw(region, 'POST', `/v1/servers/${s.id}/actions`, { action: 'start' });
    expect([409, 404]).toContain(deleting.status);
  });
});
