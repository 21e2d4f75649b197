// RegionClient transport behaviour: unreachable regions, timeouts, one cached client, no leaked token.
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_REGION_TOKEN, cloudFromEnv } from '../../src/cloud';
import { CloudError, Unavailable, errorFromResponse } from '../../src/cloud/errors';
import { RegionClient } from '../../src/cloud/region-client';
import { startRegion, type RegionHandle } from '../support/region';

let region: RegionHandle;
beforeAll(async () => {
  region = await startRegion();
});
afterAll(async () => {
  await region?.stop();
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('transport failures are Unavailable (retryable)', () => {
  it('connection refused', async () => {
    const client = new RegionClient({ url: `http://127.0.0.1:${await closedPort()}`, token: 't' });
    const err = await client.listServers({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Unavailable).code).toBe('ECONNREFUSED');
    expect((err as Unavailable).retryable).toBe(true);
    expect(await client.health()).toBe(false);
    client.close();
  });

  it('a region slower than the timeout', async () => {
    await region.client.setFaults({ latency_ms: 600 });
    const impatient = new RegionClient({ url: region.url, token: region.token, timeoutMs: 100 });
    try {
      const err = await impatient.listImages().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Unavailable);
      expect((err as Unavailable).code).toBe('timeout');
      expect((err as Error).message).toContain('100 ms');
    } finally {
      impatient.close();
      await region.client.setFaults({ latency_ms: 0 });
    }
  });
});

describe('error mapping', () => {
  const cases: [number, string, string][] = [
    [400, 'invalid', 'Invalid'],
    [401, 'unauthorized', 'Unauthorized'],
    [404, 'not_found', 'NotFound'],
    [409, 'quota_exceeded', 'QuotaExceeded'],
    [409, 'capacity_exceeded', 'QuotaExceeded'],
    [409, 'invalid_state', 'InvalidState'],
    [409, 'ip_taken', 'Conflict'],
    [410, 'gone', 'Gone'],
    [422, 'image_not_found', 'ImageNotFound'],
    [422, 'unknown_action', 'Invalid'],
    [500, 'internal', 'Unavailable'],
    [503, 'unavailable', 'Unavailable'],
  ];
  for (const [status, code, name] of cases) {
    it(`${status} ${code} → ${name}`, () => {
      const err = errorFromResponse(status, { code, message: 'm', field: 'f' }, 'GET /x');
      expect(err).toBeInstanceOf(CloudError);
      expect(err.name).toBe(name);
      expect(err).toMatchObject({ status, code, field: 'f', message: 'GET /x: m' });
      expect(err.retryable).toBe(name === 'Unavailable');
    });
  }
});

describe('cloudFromEnv', () => {
  it('returns one cached client per settings, with the documented defaults', () => {
    const env = { CONVERGE_REGION_URL: region.url, CONVERGE_REGION_TOKEN: region.token };
    const a = cloudFromEnv(env);
    expect(cloudFromEnv({ ...env })).toBe(a);
    const defaults = cloudFromEnv({});
    expect(defaults).not.toBe(a);
    expect(defaults.url).toBe('http://127.0.0.1:7480');
    expect(cloudFromEnv({})).toBe(defaults);
    expect(DEV_REGION_TOKEN).toBe('dev-token');
  });

  it('works against the region, and never shows the token', async () => {
    const client = cloudFromEnv({ CONVERGE_REGION_URL: region.url, CONVERGE_REGION_TOKEN: region.token });
    expect(await client.listImages()).not.toEqual([]);
    expect(inspect(client, { depth: 5 })).not.toContain(region.token);
    expect(JSON.stringify(client)).not.toContain(region.token);
    const err = await new RegionClient({ url: region.url, token: 'secret-wrong-token' })
      .listServers({})
      .catch((e: unknown) => e);
    expect(String(err)).not.toContain('secret-wrong-token');
    expect(inspect(err)).not.toContain('secret-wrong-token');
  });
});
