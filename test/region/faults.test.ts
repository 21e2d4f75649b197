// Fault injection: 503s before anything happens, ERROR builds, stuck builds, latency; set by flag or admin call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Unavailable } from '../../src/cloud/errors';
import { startRegion, type RegionHandle } from '../support/region';
import { deploymentTag, eventually, raw, serverRequest, sleep } from './helpers';

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

  it('stuck_build_rate 1: the server stays in BUILD well past build_ms, and can be deleted', async () => {
    await region.client.setFaults({ stuck_build_rate: 1 });
    let id = '';
    try {
      id = (await region.client.createServer(serverRequest())).id;
    } finally {
      await region.client.setFaults({ stuck_build_rate: 0 });
    }
    await sleep(300); // 15× build_ms
    expect((await region.client.getServer(id)).state).toBe('BUILD');
    await region.client.deleteServer(id);
    await eventually(async () =>
      (await raw(region, 'GET', `/v1/servers/${id}`)).status === 404 ? true : undefined,
    );
  });

  it('build_ms set at runtime applies to new servers', async () => {
    await region.client.setFaults({ build_ms: 1500 });
    try {
      const s = await region.client.createServer(serverRequest());
      await sleep(100);
      expect((await region.client.getServer(s.id)).state).toBe('BUILD');
      await eventually(
        async () => ((await region.client.getServer(s.id)).state === 'ACTIVE' ? true : undefined),
        3000,
      );
    } finally {
      await region.client.setFaults({ build_ms: 20 });
    }
  });
});

describe('latency and flags', () => {
  it('adds latency_ms to API calls but not to admin calls', async () => {
    await region.client.setFaults({ latency_ms: 400 });
    try {
      let t = Date.now();
      await region.client.listImages();
      expect(Date.now() - t).toBeGreaterThanOrEqual(390);
      t = Date.now();
      await region.client.getFaults();
      expect(Date.now() - t).toBeLessThan(390);
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
