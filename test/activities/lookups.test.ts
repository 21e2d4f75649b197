// Waiting activities poll through one coalescer: looks asked together become one region call, and
// each look still gets its own server or 'gone'. Against a real region; the port is wrapped only to
// count the calls that reach it.
import { describe, expect, it } from 'vitest';
import type { CloudPort } from '../../src/cloud/port';
import { Unavailable } from '../../src/cloud/errors';
import { ServerLookups } from '../../src/activities/lookups';
import { regionForFile } from '../support/region';
import { raw, serverRequest } from '../region/helpers';
import { regionConfig } from './harness';

const region = regionForFile({ config: regionConfig(), faults: { build_ms: 0, delete_ms: 0 } });

/** The region client, counting the lookups that reach it and their sizes. */
function counted(cloud: CloudPort): { port: CloudPort; calls: number[] } {
  const calls: number[] = [];
  const port = Object.create(cloud) as CloudPort;
  port.lookupServers = (ids) => {
    calls.push(ids.length);
    return cloud.lookupServers(ids);
  };
  return { port, calls };
}

describe('POST /v1/servers/lookup', () => {
  it('answers the servers that exist, in the order asked, and leaves out the gone', async () => {
    const a = await region.client.createServer(serverRequest());
    const b = await region.client.createServer(serverRequest());
    await region.client.deleteServer(b.id); // delete_ms 0: gone at once
    const found = await region.client.lookupServers([b.id, a.id, 'srv-never']);
    expect(found.map((s) => s.id)).toEqual([a.id]);
    expect(found[0]?.state).toBe('ACTIVE');
  });

  it('refuses no ids, or more than 1,000, with a 400 naming the field', async () => {
    const none = await raw(region, 'POST', '/v1/servers/lookup', { ids: [] });
    expect(none.status).toBe(400);
    const many = Array.from({ length: 1001 }, (_, i) => `srv-${i}`);
    const tooMany = await raw(region, 'POST', '/v1/servers/lookup', { ids: many });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.error)).toContain('ids');
  });
});

describe('ServerLookups', () => {
  it('coalesces looks asked together into one call, each answered on its own', async () => {
    const servers = await Promise.all(
      Array.from({ length: 40 }, () => region.client.createServer(serverRequest())),
    );
    const { port, calls } = counted(region.client);
    const lookups = new ServerLookups(port, 5);
    const ids = [...servers.map((s) => s.id), 'srv-gone', servers[0]!.id];
    const answers = await Promise.all(ids.map((id) => lookups.look(id)));
    expect(calls).toEqual([41]); // 40 servers and one missing id; the repeated id is asked once
    expect(answers.slice(0, 40).map((s) => (s === 'gone' ? s : s.id))).toEqual(servers.map((s) => s.id));
    expect(answers[40]).toBe('gone');
    expect(answers[41]).toMatchObject({ id: servers[0]!.id });

    // Looks asked after the call went out form the next one.
    const later = await lookups.look(servers[1]!.id);
    expect(later).toMatchObject({ id: servers[1]!.id });
    expect(calls).toEqual([41, 1]);
  });

  it('hands a failed lookup to every look in it, and the next look asks again', async () => {
    const s = await region.client.createServer(serverRequest());
    let fail = true;
    const port = Object.create(region.client) as CloudPort;
    port.lookupServers = (ids) =>
      fail
        ? Promise.reject(new Unavailable({ code: 'unavailable', status: 503, message: 'try again' }))
        : region.client.lookupServers(ids);
    const lookups = new ServerLookups(port, 0);
    const both = await Promise.allSettled([lookups.look(s.id), lookups.look('srv-x')]);
    expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(lookups.look(s.id)).resolves.toMatchObject({ id: s.id });
  });
});
