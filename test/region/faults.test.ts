// Fault injection: 503s before anything happens, ERROR builds, stuck builds, latency; set by flag or admin call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Unavailable } from '../../src/cloud/errors';
import { startRegion, type RegionHandle } from '../support/region';
import { deploymentTag, eventually, raw, serverRequest } from './helpers';

let region: RegionHandle;
beforeAll(async () => {
  region = await startRegion({ faults: { build_ms: 20, delete_ms: 20 } });
});
afterAll(async () => {
  await region?.stop();
});

async function lastSeq(): Promise<number> {
  const events = await region.client.events();
  return events[events.length - 1]?.seq ?? 0;
}

describe('error_rate', () => {
  it('at 1, every API call fails with 503 and nothing is stored; admin and events still answer', async () => {
    const tags = deploymentTag();
    const before = await lastSeq();
    const faults = await region.client.setFaults({ error_rate: 1 });
    expect(faults.error_rate).toBe(1);
    try {
      const reply = await raw(region, 'POST', '/v1/servers', serverRequest({ tags }));
      expect(reply).toMatchObject({ status: 503, error: { code: 'unavailable' } });
      const err = await region.client
        .createAllocation({ pool: 'dev', key: 'k-503', cpus: 1, memory_mb: 1, instances: 1, tags })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Unavailable);
      expect((err as Unavailable).retryable).toBe(true);
      expect(await region.client.events(before)).toEqual([]);
      expect((await raw(region, 'GET', '/healthz', undefined, null)).status).toBe(200);
    } finally {
      await region.client.setFaults({ error_rate: 0 });
    }
    expect(await region.client.listServers(tags)).toEqual([]);
  });

  it('at 0.5, roughly half of the calls fail', async () => {
    await region.client.setFaults({ error_rate: 0.5 });
    try {
      const replies = await Promise.all(Array.from({ length: 200 }, () => raw(region, 'GET', '/v1/images')));
      const failed = replies.filter((r) => r.status === 503).length;
      expect(replies.every((r) => r.status === 200 || r.status === 503)).toBe(true);
      // Binomial(200, 0.5): outside 60..140 has probability < 1e-8.
      expect(failed).toBeGreaterThan(60);
      expect(failed).toBeLessThan(140);
    } finally {
      await region.client.setFaults({ error_rate: 0 });
    }
  });
});

describe('builds', () => {
  it('error_build_rate 1: the server lands in ERROR (unhealthy), and can be deleted', async () => {
    await region.client.setFaults({ error_build_rate: 1 });
    try {
      const s = await region.client.createServer(serverRequest());
      const errored = await eventually(async () => {
        const now = await region.client.getServer(s.id);
        return now.state === 'ERROR' ? now : undefined;
      });
      expect(errored).toMatchObject({ health: 'unhealthy', power: 'stopped' });
      await region.client.deleteServer(s.id);
      await eventually(async () =>
        (await raw(region, 'GET', `/v1/servers/${s.id}`)).status === 404 ? true : undefined,
      );
      const types = (await region.client.events()).filter((e) => e.subject === s.id).map((e) => e.type);
      expect(types).toEqual(['server.created', 'server.error', 'server.deleting', 'server.deleted']);
    } finally {
      await region.client.setFaults({ error_build_rate: 0 });
    }
  });

  it('stuck_build_rate 1: the server stays in BUILD while a later normal build finishes, and can be deleted', async () => {
    await region.client.setFaults({ stuck_build_rate: 1 });
    let id = '';
    try {
      id = (await region.client.createServer(serverRequest())).id;
    } finally {
      await region.client.setFaults({ stuck_build_rate: 0 });
    }
    const normal = await region.client.createServer(serverRequest());
    await eventually(async () =>
      (await region.client.getServer(normal.id)).state === 'ACTIVE' ? true : undefined,
    );
    expect((await region.client.getServer(id)).state).toBe('BUILD');
    await region.client.deleteServer(id);
    await eventually(async () =>
      (await raw(region, 'GET', `/v1/servers/${id}`)).status === 404 ? true : undefined,
    );
    const types = (await region.client.events()).filter((e) => e.subject === id).map((e) => e.type);
    expect(types).toEqual(['server.created', 'server.deleting', 'server.deleted']);
  });

  it('build_ms set at runtime applies to servers created after it: a slow build finishes after a later quick one', async () => {
    await region.client.setFaults({ build_ms: 1500 });
    let slow = '';
    try {
      slow = (await region.client.createServer(serverRequest())).id;
    } finally {
      await region.client.setFaults({ build_ms: 20 });
    }
    const quick = (await region.client.createServer(serverRequest())).id;
    await eventually(
      async () => ((await region.client.getServer(slow)).state === 'ACTIVE' ? true : undefined),
      5000,
    );
    const active = (await region.client.events())
      .filter((e) => e.type === 'server.active' && (e.subject === slow || e.subject === quick))
      .map((e) => e.subject);
    expect(active).toEqual([quick, slow]);
  });
});

describe('latency and flags', () => {
  it('holds API calls for latency_ms before they act, but not admin or event calls (order, not time)', async () => {
    const before = await lastSeq();
    await region.client.setFaults({ latency_ms: 2000 });
    try {
      const order: string[] = [];
      const api = region.client.createImage({ os: 'latent', version: '1' }).then(() => order.push('api'));
      // Three admin round trips and an event read, one after another, all while the API call waits.
      for (let i = 0; i < 3; i++) {
        await region.client.getFaults();
        order.push('admin');
      }
      const meanwhile = await region.client.events(before);
      order.push('events');
      await api;
      expect(order).toEqual(['admin', 'admin', 'admin', 'events', 'api']);
      expect(meanwhile.map((e) => e.type)).toEqual([]); // held before it acted, not after
      expect((await region.client.events(before)).map((e) => e.type)).toEqual(['image.created']);
    } finally {
      await region.client.setFaults({ latency_ms: 0 });
    }
  });

  it('takes its initial faults from the command-line flags', async () => {
    const flagged = await startRegion({
      faults: { error_build_rate: 1, latency_ms: 5, build_ms: 15, delete_ms: 7 },
    });
    try {
      expect(await flagged.client.getFaults()).toEqual({
        latency_ms: 5,
        build_ms: 15,
        delete_ms: 7,
        error_rate: 0,
        error_build_rate: 1,
        stuck_build_rate: 0,
      });
      const s = await flagged.client.createServer(serverRequest());
      await eventually(async () =>
        (await flagged.client.getServer(s.id)).state === 'ERROR' ? true : undefined,
      );
    } finally {
      await flagged.stop();
    }
  });
});
