// The event log's ordering, and keyset paging of lists (`limit`, `after`, `next`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/region/db';
import { TagTable } from '../../src/region/tagged';
import { startRegion, type RegionHandle } from '../support/region';
import { deploymentTag, eventually, raw, serverRequest } from './helpers';

let region: RegionHandle;
beforeAll(async () => {
  region = await startRegion({ faults: { build_ms: 5, delete_ms: 5 } });
});
afterAll(async () => {
  await region?.stop();
});

describe('events', () => {
  it('logs every change in order with seq, type, at, subject and tags', async () => {
    const start = (await region.client.events()).at(-1)?.seq ?? 0;
    const tags = deploymentTag();
    const a = await region.client.createAllocation({
      pool: 'dev',
      key: `k-${tags['converge.deployment']}`,
      cpus: 1,
      memory_mb: 1,
      instances: 1,
      tags,
    });
    const s = await region.client.createServer(
      serverRequest({ tags: { ...tags, 'converge.allocation': a.id } }),
    );
    await eventually(async () =>
      (await region.client.getServer(s.id)).state === 'ACTIVE' ? true : undefined,
    );
    await region.client.setServerTags(s.id, { 'converge.instance': 'i-1' });
    await region.client.serverAction(s.id, 'stop');
    await region.client.deleteServer(s.id);
    await eventually(async () => ((await region.client.listServers(tags)).length === 0 ? true : undefined));
    await region.client.deleteAllocation(a.id);

    const events = await region.client.events(start);
    expect(events.map((e) => e.type)).toEqual([
      'allocation.created',
      'server.created',
      'server.active',
      'server.tags',
      'server.stopped',
      'server.deleting',
      'server.deleted',
      'allocation.released',
    ]);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    const ats = events.map((e) => Date.parse(e.at));
    expect(ats).toEqual([...ats].sort((x, y) => x - y));
    expect(events[0]).toMatchObject({ subject: a.id, tags });
    expect(events[6]).toMatchObject({ subject: s.id, tags: { ...tags, 'converge.instance': 'i-1' } });
  });

  it('pages with since/limit and a next cursor', async () => {
    for (let i = 0; i < 5; i++) await region.client.createImage({ os: 'paged', version: String(i) });
    const all = await region.client.events();
    const first = await raw(region, 'GET', '/v1/events?since=0&limit=2');
    const body = first.body as { items: { seq: number }[]; next: string | null };
    expect(body.items.map((e) => e.seq)).toEqual(all.slice(0, 2).map((e) => e.seq));
    expect(body.next).toBe(String(all[1]?.seq));
    const last = all.at(-1)?.seq ?? 0;
    expect(await raw(region, 'GET', `/v1/events?since=${last}`)).toMatchObject({
      body: { items: [], next: null },
    });
  });
});

describe('paging lists', () => {
  it('pages servers by tag with limit/after and next; the client follows next to the end', async () => {
    const tags = deploymentTag();
    const made = [];
    for (let i = 0; i < 25; i++)
      made.push(await region.client.createServer(serverRequest({ tags, name: `p${i}` })));
    const q = `tag=${encodeURIComponent(`converge.deployment=${tags['converge.deployment']}`)}`;
    const ids: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const reply = await raw(region, 'GET', `/v1/servers?${q}&limit=10${after ? `&after=${after}` : ''}`);
      const page = reply.body as { items: { id: string }[]; next: string | null };
      ids.push(...page.items.map((s) => s.id));
      after = page.next;
      pages++;
    } while (after !== null);
    expect(pages).toBe(3);
    expect(ids).toEqual(made.map((s) => s.id)); // creation order, no gaps, no repeats
    expect((await region.client.listServers(tags)).map((s) => s.id)).toEqual(ids);
  });

  it('pages by two tags in creation order whichever tag is the rarer (the rarer drives the scan)', async () => {
    const tags = deploymentTag();
    const web: string[] = [];
    for (let i = 0; i < 9; i++) {
      const group = i % 3 === 0 ? 'web' : 'db';
      const s = await region.client.createServer(
        serverRequest({ tags: { ...tags, 'converge.group': group } }),
      );
      if (group === 'web') web.push(s.id);
    }
    const deployment = encodeURIComponent(`converge.deployment=${tags['converge.deployment']}`);
    for (const q of [
      `tag=${deployment}&tag=converge.group=web`,
      `tag=converge.group=web&tag=${deployment}`,
    ]) {
      const ids: string[] = [];
      let after: string | null = null;
      do {
        const reply = await raw(region, 'GET', `/v1/servers?${q}&limit=2${after ? `&after=${after}` : ''}`);
        const page = reply.body as { items: { id: string }[]; next: string | null };
        ids.push(...page.items.map((s) => s.id));
        after = page.next;
      } while (after !== null);
      expect(ids, q).toEqual(web);
    }
  });

  it('answers an exactly full last page with next = null (no empty extra page)', async () => {
    const tags = deploymentTag();
    for (let i = 0; i < 4; i++) await region.client.createVolume({ pool: 'nfs-1', size_gb: 1, tags });
    const q = `tag=${encodeURIComponent(`converge.deployment=${tags['converge.deployment']}`)}`;
    const first = (await raw(region, 'GET', `/v1/volumes?${q}&limit=2`)).body as { next: string | null };
    expect(first.next).not.toBeNull();
    const second = (await raw(region, 'GET', `/v1/volumes?${q}&limit=2&after=${first.next}`)).body as {
      items: unknown[];
      next: string | null;
    };
    expect(second.items).toHaveLength(2);
    expect(second.next).toBeNull();
  });

  it('lists by tag through the tag index, among 5,000 rows of other deployments (query plan, no timing)', () => {
    // The speed itself is `npm run bench:region -- --servers 500 --noise 4500`; here, the reason for it:
    // the (k, v, n) index drives every tag query and rows are fetched by key, never scanned.
    const db = openDb(':memory:');
    try {
      const fill = db.prepare('INSERT INTO server_tags (n, k, v) VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let n = 1; n <= 5000; n++) {
          fill.run(n, 'converge.deployment', n % 10 === 0 ? 'target' : 'other');
          fill.run(n, 'converge.group', n % 3 === 0 ? 'web' : 'db');
          fill.run(n, 'converge.claim', `g/${n}`);
        }
      })();
      db.exec('ANALYZE');
      const servers = new TagTable<unknown>(db, 'servers');
      const queries: Record<string, string>[] = [
        { 'converge.deployment': 'target' },
        { 'converge.deployment': 'target', 'converge.group': 'web' },
        { 'converge.group': 'web', 'converge.deployment': 'target', 'converge.claim': 'g/30' },
      ];
      for (const tags of queries) {
        const plan = servers.queryPlan(tags);
        expect(plan[0], plan.join('\n')).toBe(
          'SEARCH t0 USING COVERING INDEX server_tags_kv (k=? AND v=? AND n>?)',
        );
        expect(plan, plan.join('\n')).toContain('SEARCH s USING INTEGER PRIMARY KEY (rowid=?)');
        expect(
          plan.filter((line) => line.startsWith('SCAN')),
          plan.join('\n'),
        ).toEqual([]);
      }
      for (const table of ['allocations', 'volumes'] as const) {
        const plan = new TagTable<unknown>(db, table).queryPlan({ 'converge.deployment': 'target' });
        expect(plan[0], plan.join('\n')).toMatch(/^SEARCH t0 USING COVERING INDEX \w+_tags_kv /);
        expect(
          plan.filter((line) => line.startsWith('SCAN')),
          plan.join('\n'),
        ).toEqual([]);
      }
    } finally {
      db.close();
    }
  });
});
