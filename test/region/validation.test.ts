// Auth and bad input: every refusal names what is wrong, and nothing is stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invalid, Unauthorized } from '../../src/cloud/errors';
import { RegionClient } from '../../src/cloud/region-client';
import { startRegion, type RegionHandle } from '../support/region';
import { raw, serverRequest } from './helpers';

let region: RegionHandle;
beforeAll(async () => {
  region = await startRegion();
});
afterAll(async () => {
  await region?.stop();
});

/** Proves "nothing stored": no new event, no new server, allocation or volume. */
async function nothingStoredSince(seq: number): Promise<void> {
  expect(await region.client.events(seq)).toEqual([]);
}

async function lastSeq(): Promise<number> {
  const events = await region.client.events();
  return events[events.length - 1]?.seq ?? 0;
}

describe('auth', () => {
  it('serves /healthz without a token', async () => {
    const reply = await raw(region, 'GET', '/healthz', undefined, null);
    expect(reply).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await region.client.health()).toBe(true);
  });

  it('answers 401 without a token and with a wrong one', async () => {
    for (const token of [null, 'wrong', `${region.token}x`, '']) {
      const reply = await raw(region, 'GET', '/v1/servers', undefined, token);
      expect(reply.status).toBe(401);
      expect(reply.error?.code).toBe('unauthorized');
    }
    const before = await lastSeq();
    expect((await raw(region, 'POST', '/v1/servers', serverRequest(), 'wrong')).status).toBe(401);
    await nothingStoredSince(before);
    const stranger = new RegionClient({ url: region.url, token: 'wrong' });
    await expect(stranger.listServers({})).rejects.toBeInstanceOf(Unauthorized);
    stranger.close();
  });
});

describe('bad input ⇒ 400 naming the field, nothing stored', () => {
  const cases: [string, unknown, string][] = [
    ['malformed JSON', '{"name": "x",', ''],
    ['an unknown field', { ...serverRequest(), colour: 'blue' }, 'colour'],
    [
      'an unknown nested field',
      { ...serverRequest(), image: { os: 'ubuntu-jammy', version: '1.181', arch: 'x' } },
      'image.arch',
    ],
    ['a missing field', (({ cpus: _c, ...rest }) => rest)(serverRequest()), 'cpus'],
    ['a wrong type', { ...serverRequest(), cpus: '2' }, 'cpus'],
    ['a fractional number', { ...serverRequest(), memory_mb: 1.5 }, 'memory_mb'],
    ['a non-string tag value', { ...serverRequest(), tags: { a: 1 } }, 'tags.a'],
    ['a tag key with "="', { ...serverRequest(), tags: { 'a=b': 'c' } }, 'tags.a=b'],
    ['an empty body', '', ''],
    ['an array body', '[]', ''],
  ];
  for (const [what, body, field] of cases) {
    it(`POST /v1/servers with ${what}`, async () => {
      const before = await lastSeq();
      const reply = await raw(region, 'POST', '/v1/servers', body);
      expect(reply.status).toBe(400);
      if (field !== '') {
        expect(reply.error?.field).toBe(field);
        expect(reply.error?.message).toContain(field);
      } else {
        expect(['malformed_json', 'invalid']).toContain(reply.error?.code);
      }
      await nothingStoredSince(before);
    });
  }

  it('names the field for allocations, volumes, tags, actions, attach, images and faults', async () => {
    const before = await lastSeq();
    const expectations: [string, string, unknown, string][] = [
      [
        'POST',
        '/v1/allocations',
        { pool: 'dev', key: 'k', cpus: -1, memory_mb: 1, instances: 1, tags: {} },
        'cpus',
      ],
      ['POST', '/v1/allocations', { pool: 'dev', key: 'k', cpus: 1, memory_mb: 1, instances: 1 }, 'tags'],
      ['POST', '/v1/volumes', { pool: 'lvm-1', size_gb: 0, tags: {} }, 'size_gb'],
      ['POST', '/v1/volumes', { pool: 'lvm-1', size_gb: 1, tags: {}, extra: true }, 'extra'],
      ['PATCH', '/v1/servers/srv-x/tags', { tags: { a: null } }, 'tags.a'],
      ['POST', '/v1/servers/srv-x/actions', { action: 3 }, 'action'],
      ['POST', '/v1/volumes/vol-x/attach', {}, 'server_id'],
      ['POST', '/v1/images', { os: 'x' }, 'version'],
      ['PUT', '/v1/admin/faults', { error_rate: 2 }, 'error_rate'],
      ['PUT', '/v1/admin/faults', { jitter_ms: 2 }, 'jitter_ms'],
    ];
    for (const [method, path, body, field] of expectations) {
      const reply = await raw(region, method, path, body);
      expect({ path, status: reply.status, field: reply.error?.field }).toEqual({ path, status: 400, field });
    }
    await nothingStoredSince(before);
    expect((await region.client.getFaults()).error_rate).toBe(0);
  });

  it('rejects unknown query parameters and bad paging values', async () => {
    expect((await raw(region, 'GET', '/v1/servers?tags=a=b')).error).toMatchObject({
      code: 'invalid',
      field: 'tags',
    });
    expect((await raw(region, 'GET', '/v1/servers?tag=novalue')).error?.field).toBe('tag');
    expect((await raw(region, 'GET', '/v1/servers?limit=0')).error?.field).toBe('limit');
    expect((await raw(region, 'GET', '/v1/servers?limit=5001')).error?.field).toBe('limit');
    expect((await raw(region, 'GET', '/v1/volumes?after=abc')).error?.field).toBe('after');
    expect((await raw(region, 'GET', '/v1/events?since=-1')).error?.field).toBe('since');
  });

  it('maps 400 to Invalid with the field on the typed client', async () => {
    const err = await region.client
      .createServer({ ...serverRequest(), cpus: 0 })
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Invalid);
    expect((err as Invalid).field).toBe('cpus');
    expect((err as Invalid).status).toBe(400);
  });

  it('answers 404 for an unknown endpoint and 405 for a wrong method', async () => {
    expect((await raw(region, 'GET', '/v1/nothing')).status).toBe(404);
    expect((await raw(region, 'PUT', '/v1/servers')).status).toBe(405);
  });
});
