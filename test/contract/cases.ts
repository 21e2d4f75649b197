// The compute port's contract, one set of cases run against every adapter (region.test.ts,
// ec2.test.ts): an adapter passes these or it is not done. Each case works under a deployment tag of
// its own, so cases never see each other's servers.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { Conflict, ImageNotFound, NotFound } from '../../src/cloud/errors';
import type { Cloud, CreateServerRequest } from '../../src/cloud/port';
import { TAG, type Addressing, type Server, type Tags } from '../../src/domain/cloud';
import { inAnyRange, parseCidr, parseIPv4, parseIpRange, type IpRange } from '../../src/domain/ip';

export interface ContractFixture {
  /** Compute and ledger, as the activities get them. */
  cloud(): Cloud;
  /** The same cloud whose lists come in pages of at most `pageSize` (for the paging case). */
  pagedCloud(pageSize: number): Cloud;
  /** A request this cloud can serve (its image, AZ, network, cloud_properties). */
  request(tags: Tags, overrides?: Partial<CreateServerRequest>): CreateServerRequest;
  /** A storage pool that can create volumes. */
  volumePool: string;
  /** A quota pool of the ledger. */
  quotaPool: string;
  /** A well-formed id no server of this cloud has. */
  absentServerId: string;
  /** Two addresses this cloud can give as static IPs, used by no other case. */
  staticIps: readonly [string, string];
  /**
   * A small subnet of a cloud config, inside this cloud's network and used by no other case, with a
   * few addresses left for dynamic VMs once its reserved and static parts are taken out.
   */
  smallSubnet: Addressing;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, look: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await look();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const active = (cloud: Cloud, id: string): Promise<Server> =>
  until(`${id} ACTIVE`, async () => {
    const s = await cloud.getServer(id);
    return s.state === 'ACTIVE' ? s : undefined;
  });

const gone = (cloud: Cloud, id: string): Promise<true> =>
  until(`${id} gone`, async () => {
    try {
      await cloud.getServer(id);
      return undefined;
    } catch (err) {
      if (err instanceof NotFound) return true;
      throw err;
    }
  });

function owner(): Tags {
  return { [TAG.deployment]: `contract-${randomUUID().slice(0, 8)}` };
}

export function computeContract(f: ContractFixture): void {
  it('creates idempotently: the same key twice is one server', async () => {
    const cloud = f.cloud();
    const tags = owner();
    const req = f.request({ ...tags, [TAG.claim]: 'web/0' });
    const first = await cloud.createServer(req);
    const again = await cloud.createServer(req);
    expect(again.id).toBe(first.id);
    const listed = await cloud.listServers(tags);
    expect(listed.map((s) => s.id)).toEqual([first.id]);
    const built = await active(cloud, first.id);
    expect(built.tags).toMatchObject({ ...tags, [TAG.claim]: 'web/0' });
    expect(built.image).toEqual(req.image);
    expect(built.az).toBe(req.az);
    expect(built.name).toBe(req.name);
    expect(built.addresses[0]?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(built.addresses[0]?.network).toBe(req.network);
  });

  it('creates the same key twice at once (a retry while the first is unanswered): one server', async () => {
    // A heartbeat timeout retries a create whose first attempt still waits in the same worker: the
    // retry's lookup finds nothing yet, and a cloud that ignores ClientToken (moto) made two.
    const cloud = f.cloud();
    const tags = owner();
    const req = f.request({ ...tags, [TAG.claim]: 'web/0' });
    const [first, again] = await Promise.all([cloud.createServer(req), cloud.createServer(req)]);
    expect(again.id).toBe(first.id);
    expect((await cloud.listServers(tags)).map((s) => s.id)).toEqual([first.id]);
  });

  it('creates made at once: each key its own server, each key again the same one', async () => {
    // An adapter may look many keys up in one call (EC2's batched lookup): each create must still
    // find only its own server, never a neighbour's.
    const cloud = f.cloud();
    const tags = owner();
    const reqs = [0, 1, 2, 3, 4].map((i) => f.request({ ...tags, [TAG.claim]: `web/${i}` }));
    const first = await Promise.all(reqs.map((r) => cloud.createServer(r)));
    expect(new Set(first.map((s) => s.id)).size).toBe(reqs.length);
    const again = await Promise.all([...reqs].reverse().map((r) => cloud.createServer(r)));
    expect(again.map((s) => s.id).reverse()).toEqual(first.map((s) => s.id));
    const listed = await Promise.all(
      reqs.map((r) => cloud.listServers({ [TAG.claim]: r.tags[TAG.claim] ?? '', ...tags })),
    );
    expect(listed.map((l) => l.map((s) => s.id))).toEqual(first.map((s) => [s.id]));
    const whole = await Promise.all(reqs.map(() => cloud.listServers(tags)));
    for (const l of whole) expect(l.map((s) => s.id).sort()).toEqual(first.map((s) => s.id).sort());
  });

  it('lists by tags (AND), complete across pages, and looks up by ids', async () => {
    const cloud = f.pagedCloud(5);
    const tags = owner();
    const made: Server[] = [];
    for (let i = 0; i < 12; i++) {
      made.push(await cloud.createServer(f.request({ ...tags, [TAG.index]: String(i % 2) })));
    }
    const all = await cloud.listServers(tags);
    expect(all.map((s) => s.id).sort()).toEqual(made.map((s) => s.id).sort());
    const odd = await cloud.listServers({ ...tags, [TAG.index]: '1' });
    expect(odd).toHaveLength(6);
    expect(await cloud.listServers({ ...tags, [TAG.index]: 'none' })).toEqual([]);
    const picked = [made[0]?.id ?? '', made[5]?.id ?? '', f.absentServerId];
    const found = await cloud.lookupServers(picked);
    expect(found.map((s) => s.id).sort()).toEqual([made[0]?.id, made[5]?.id].sort());
  });

  it('deletes: the server is gone from get, lookup and list; deleting again is done', async () => {
    const cloud = f.cloud();
    const tags = owner();
    const server = await cloud.createServer(f.request(tags));
    await active(cloud, server.id);
    expect(['gone', 'deleting']).toContain(await cloud.deleteServer(server.id));
    await gone(cloud, server.id);
    expect(await cloud.lookupServers([server.id])).toEqual([]);
    expect(await cloud.listServers(tags)).toEqual([]);
    expect(await cloud.deleteServer(server.id)).toBe('gone');
  });

  it('merges tags into a server', async () => {
    const cloud = f.cloud();
    const tags = owner();
    const server = await cloud.createServer(f.request(tags));
    const tagged = await cloud.setServerTags(server.id, { [TAG.instance]: 'web/abc' });
    expect(tagged.tags).toMatchObject({ ...tags, [TAG.instance]: 'web/abc' });
    expect(await cloud.listServers({ ...tags, [TAG.instance]: 'web/abc' })).toHaveLength(1);
    // A tag set again takes the new value, in the answer as in a later read.
    const retagged = await cloud.setServerTags(server.id, { [TAG.instance]: 'web/def' });
    expect(retagged.tags[TAG.instance]).toBe('web/def');
    expect((await cloud.getServer(server.id)).tags).toEqual(retagged.tags);
    await expect(cloud.setServerTags(f.absentServerId, { [TAG.instance]: 'web/x' })).rejects.toBeInstanceOf(
      NotFound,
    );
  });

  it('powers a server off and on', async () => {
    const cloud = f.cloud();
    const server = await cloud.createServer(f.request(owner()));
    await active(cloud, server.id);
    await cloud.serverAction(server.id, 'stop');
    const stopped = await until('SHUTOFF', async () => {
      const s = await cloud.getServer(server.id);
      return s.state === 'SHUTOFF' && s.power === 'stopped' ? s : undefined;
    });
    expect(stopped.power).toBe('stopped');
    await cloud.serverAction(server.id, 'start');
    const started = await active(cloud, server.id);
    expect(started.power).toBe('running');
  });

  it('volumes: create beside a server, attach, move to another server, refuse to delete in use, detach, delete', async () => {
    const cloud = f.cloud();
    const tags = owner();
    const a = await active(cloud, (await cloud.createServer(f.request(tags))).id);
    const b = await active(cloud, (await cloud.createServer(f.request(tags))).id);
    const key = `contract/${randomUUID()}`;
    const volTags = { ...tags, [TAG.instance]: 'db/1' };
    const volume = await cloud.createVolume({
      pool: f.volumePool,
      size_gb: 2,
      tags: volTags,
      idempotency_key: key,
      near_server: a.id,
    });
    const same = await cloud.createVolume({
      pool: f.volumePool,
      size_gb: 2,
      tags: volTags,
      idempotency_key: key,
      near_server: a.id,
    });
    expect(same.id).toBe(volume.id);
    expect(volume).toMatchObject({ pool: f.volumePool, size_gb: 2, server_id: null });
    expect((await cloud.attachVolume(volume.id, a.id)).server_id).toBe(a.id);
    expect((await cloud.getVolume(volume.id)).server_id).toBe(a.id);
    expect((await cloud.listVolumes(volTags)).map((v) => v.id)).toEqual([volume.id]);
    await expect(cloud.deleteVolume(volume.id)).rejects.toBeInstanceOf(Conflict);
    expect((await cloud.detachVolume(volume.id)).server_id).toBeNull();
    expect((await cloud.attachVolume(volume.id, b.id)).server_id).toBe(b.id);
    expect((await cloud.detachVolume(volume.id)).server_id).toBeNull();
    await cloud.deleteVolume(volume.id);
    await expect(cloud.getVolume(volume.id)).rejects.toBeInstanceOf(NotFound);
    await cloud.deleteVolume(volume.id); // gone already counts as done
    expect(await cloud.listVolumes(volTags)).toEqual([]);
  });

  it('fails typed: unknown image is ImageNotFound, an absent server NotFound, nothing made', async () => {
    const cloud = f.cloud();
    const tags = owner();
    await expect(
      cloud.createServer(f.request(tags, { image: { os: 'no-such-os', version: '0' } })),
    ).rejects.toBeInstanceOf(ImageNotFound);
    await expect(cloud.getServer(f.absentServerId)).rejects.toBeInstanceOf(NotFound);
    expect(await cloud.deleteServer(f.absentServerId)).toBe('gone');
    expect(await cloud.listServers(tags)).toEqual([]);
  });

  it('knows its stemcells: the image create boots is listed and found, an unknown one neither', async () => {
    const cloud = f.cloud();
    if (!cloud.hasImage) throw new Error('the adapter has no hasImage');
    const { image } = f.request({});
    const same = (i: { os: string; version: string }) => i.os === image.os && i.version === image.version;
    expect((await cloud.listImages()).some(same)).toBe(true);
    expect(await cloud.hasImage(image)).toBe(true);
    const unknown = { os: image.os, version: '0.404' };
    expect(await cloud.hasImage(unknown)).toBe(false);
    expect((await cloud.listImages()).some((i) => i.version === '0.404')).toBe(false);
  });

  it("gives a dynamic VM an address of the cloud config's subnet, outside its reserved and static parts; full, a Conflict", async () => {
    const cloud = f.cloud();
    const tags = owner();
    const { smallSubnet } = f;
    const range = parseCidr(smallSubnet.range);
    if (!range) throw new Error(`bad fixture range ${smallSubnet.range}`);
    const excluded = [...smallSubnet.reserved, ...smallSubnet.static]
      .map(parseIpRange)
      .filter((r): r is IpRange => r !== null);
    const given: string[] = [];
    let refusal: unknown;
    // The fixture leaves a handful of addresses: more tries than that means the subnet was ignored.
    for (let i = 0; i < 16 && refusal === undefined; i++) {
      try {
        const s = await cloud.createServer(f.request(tags, { name: `small-${i}`, addressing: smallSubnet }));
        given.push((await active(cloud, s.id)).addresses[0]?.ip ?? '');
      } catch (err) {
        refusal = err;
      }
    }
    expect(refusal).toBeInstanceOf(Conflict);
    expect((refusal as Conflict).code).toBe('no_free_ip');
    expect(given.length).toBeGreaterThanOrEqual(2);
    expect(new Set(given).size).toBe(given.length);
    for (const ip of given) {
      const n = parseIPv4(ip) ?? -1;
      expect(n >= range.first && n <= range.last, `${ip} in ${smallSubnet.range}`).toBe(true);
      expect(inAnyRange(n, excluded), `${ip} outside reserved and static`).toBe(false);
    }
    expect(await cloud.listServers(tags)).toHaveLength(given.length);
  });

  it('tells who holds an address, whatever deployment it is of; once its server is gone, nobody', async () => {
    const cloud = f.cloud();
    if (!cloud.addressHolders) throw new Error('the adapter has no addressHolders');
    const tags = { ...owner(), [TAG.claim]: 'db/0' };
    const [held, free] = f.staticIps;
    const server = await cloud.createServer(f.request(tags, { name: 'holder-0', static_ip: held }));
    expect(await cloud.addressHolders([held, free])).toEqual([
      { ip: held, kind: 'server', holder: server.id, name: 'holder-0', tags, deleting: false },
    ]);
    await cloud.deleteServer(server.id);
    await gone(cloud, server.id);
    expect(await cloud.addressHolders([held, free])).toEqual([]);
  });

  it('ledger: an allocation is released only once its server is gone', async () => {
    const cloud = f.cloud();
    const tags = owner();
    const allocation = await cloud.createAllocation({
      pool: f.quotaPool,
      key: `contract/${randomUUID()}`,
      cpus: 1,
      memory_mb: 512,
      instances: 1,
      tags,
    });
    const server = await cloud.createServer(f.request({ ...tags, [TAG.allocation]: allocation.id }));
    await active(cloud, server.id);
    await expect(cloud.deleteAllocation(allocation.id)).rejects.toBeInstanceOf(Conflict);
    expect((await cloud.listAllocations(tags)).map((a) => a.id)).toEqual([allocation.id]);
    await cloud.deleteServer(server.id);
    await gone(cloud, server.id);
    await cloud.deleteAllocation(allocation.id);
    expect(await cloud.listAllocations(tags)).toEqual([]);
  });
}
