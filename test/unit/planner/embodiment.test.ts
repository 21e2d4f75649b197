// The embodiment: servers, allocations and volumes found by reserved tags, joined with records.
import { describe, expect, it } from 'vitest';
import { TAG, type Server } from '../../../src/domain/cloud';
import { embodiment } from '../../../src/planner/index';
import { cloudWith, deployed, group, instanceOf, manifestWith, plan, recordOf, serverOf } from './baseline';

const clone = (s: Server, patch: Partial<Server>): Server => ({ ...structuredClone(s), ...patch });

describe('joining by tags', () => {
  it('ties each server to its instance, the allocation to its server, the volume to its instance', () => {
    const world = deployed();
    const e = embodiment('web', world.observed, world.records);
    const worker = e.instances.find((i) => i.record.group === 'worker' && i.record.index === 0);
    expect(worker?.server?.tags[TAG.instance]).toBe(worker?.record.id);
    expect(worker?.allocation?.id).toBe(worker?.server?.tags[TAG.allocation]);
    expect(worker?.volume?.server_id).toBe(worker?.server?.id);
    expect(e.instances.map((i) => i.condition)).toEqual(e.instances.map(() => 'ok'));
    expect([e.orphans, e.strayAllocations, e.strayVolumes]).toEqual([[], [], []]);
  });

  it('sorts instances by group, index, id', () => {
    const world = deployed();
    const e = embodiment('web', world.observed, [...world.records].reverse());
    expect(e.instances.map((i) => `${i.record.group}/${i.record.index}`)).toEqual([
      'api/0',
      'api/1',
      'api/2',
      'db/0',
      'worker/0',
      'worker/1',
    ]);
  });

  it('ignores what is tagged for another deployment (never ours to delete)', () => {
    const world = deployed();
    const foreign = clone(world.observed.servers[0] as Server, { id: 'other-1' });
    foreign.tags = { ...foreign.tags, [TAG.deployment]: 'other', [TAG.instance]: 'x' };
    world.observed.servers.push(foreign);
    world.observed.allocations.push({
      id: 'other-a',
      pool: 'dev',
      key: 'k',
      cpus: 1,
      memory_mb: 1,
      instances: 1,
      tags: { [TAG.deployment]: 'other' },
    });
    const e = embodiment('web', world.observed, world.records);
    expect(e.orphans).toEqual([]);
    expect(e.strayAllocations).toEqual([]);
  });
});

describe('conditions', () => {
  const conditionAfter = (change: (s: Server) => void) => {
    const world = deployed();
    change(serverOf(world.observed, recordOf(world, 'api/0').id));
    return embodiment('web', world.observed, world.records).instances[0];
  };
  it.each([
    ['an ACTIVE server is ok', 'ACTIVE', 'ok'],
    ['a powered-off (SHUTOFF) server is ok', 'SHUTOFF', 'ok'],
    ['an ERROR server is failed', 'ERROR', 'failed'],
    ['a BUILD server is in flight', 'BUILD', 'in-flight'],
    ['a DELETING server is not the VM: in flight, no server', 'DELETING', 'in-flight'],
  ] as const)('%s', (_, state, condition) => {
    const i = conditionAfter((s) => (s.state = state));
    expect(i?.condition).toBe(condition);
    expect(i?.server === null).toBe(state === 'DELETING');
  });

  it('no server at all is a missing VM', () => {
    const i = conditionAfter((s) => delete s.tags[TAG.instance]);
    expect(i?.condition).toBe('missing-vm');
  });

  it('a detached record is detached whatever the cloud holds', () => {
    const world = deployed();
    recordOf(world, 'api/0').state = 'detached';
    expect(embodiment('web', world.observed, world.records).instances[0]?.condition).toBe('detached');
  });
});

describe('duplicates: two live servers for one instance, kept by ranked tie-breakers', () => {
  // Each case adds a second server for worker/0 and says which one is kept, and why.
  const cases: {
    name: string;
    original: Partial<Server>;
    twin: Partial<Server>;
    kept: 'original' | 'twin';
    why: string;
    twinHasDisk?: boolean;
  }[] = [
    {
      name: 'ACTIVE beats ERROR, whatever else',
      original: { state: 'ERROR' },
      twin: { created_at: '2000-01-01T00:00:00.000Z' },
      kept: 'twin',
      why: 'ACTIVE over ERROR',
    },
    {
      name: 'ACTIVE beats SHUTOFF beats BUILD',
      original: { state: 'BUILD' },
      twin: { state: 'SHUTOFF' },
      kept: 'twin',
      why: 'SHUTOFF over BUILD',
    },
    {
      name: 'then the one holding the persistent disk',
      original: {},
      twin: { created_at: '2099-01-01T00:00:00.000Z' },
      kept: 'original',
      why: 'it holds the persistent disk',
    },
    {
      name: 'then the newest',
      original: {},
      twin: { created_at: '2099-01-01T00:00:00.000Z' },
      kept: 'twin',
      why: 'newer',
      twinHasDisk: false,
    },
    {
      name: 'then the lowest id',
      original: {},
      twin: { id: 'a-first' },
      kept: 'twin',
      why: 'lower id',
      twinHasDisk: false,
    },
  ];
  it.each(cases)('$name', ({ original, twin, kept, why, twinHasDisk }) => {
    const world = deployed();
    const r = recordOf(world, 'worker/0');
    const server = serverOf(world.observed, r.id);
    const copy = clone(server, {
      id: 'zz-twin',
      ...twin,
      tags: { ...server.tags, [TAG.allocation]: 'zz-alloc' },
    });
    Object.assign(server, original);
    world.observed.servers.push(copy);
    world.observed.allocations.push({
      id: 'zz-alloc',
      pool: 'dev',
      key: 'k',
      cpus: 4,
      memory_mb: 4096,
      instances: 1,
      tags: { [TAG.deployment]: 'web' },
    });
    if (twinHasDisk === false) {
      for (const v of world.observed.volumes) if (v.server_id === server.id) v.server_id = null;
      if (twin.created_at === undefined) copy.created_at = server.created_at;
    }
    const e = embodiment('web', world.observed, world.records).instances.find((i) => i.record.id === r.id);
    const [keptServer, lost] = kept === 'twin' ? [copy, server] : [server, copy];
    expect(e?.server?.id).toBe(keptServer.id);
    expect(e?.duplicates.map((s) => s.id)).toEqual([lost.id]);
    const o = plan(world, manifestWith(), cloudWith());
    const deletion = o.steps.find((s) => s.kind === 'delete-server' && s.serverId === lost.id);
    expect(deletion?.reasons.at(-1)).toBe(
      `duplicate server ${lost.id} of worker/${r.id}: kept ${keptServer.id} (${why})`,
    );
  });
});

describe('orphans and strays', () => {
  it('a tagged server without an instance tag, or owned by an unknown instance, is an orphan', () => {
    const world = deployed();
    const base = world.observed.servers[0] as Server;
    const unassociated = clone(base, { id: 'o-1' });
    delete unassociated.tags[TAG.instance];
    const unknown = clone(base, { id: 'o-2' });
    unknown.tags[TAG.instance] = 'no-such-instance';
    world.observed.servers.push(unassociated, unknown);
    expect(embodiment('web', world.observed, world.records).orphans.map((s) => s.id)).toEqual(['o-1', 'o-2']);
  });

  it('an allocation no server consumes is stray; one a DELETING server holds is not', () => {
    const world = deployed();
    world.observed.allocations.push({
      id: 'a-stray',
      pool: 'dev',
      key: 'k',
      cpus: 1,
      memory_mb: 1,
      instances: 1,
      tags: { [TAG.deployment]: 'web' },
    });
    serverOf(world.observed, recordOf(world, 'api/0').id).state = 'DELETING';
    expect(embodiment('web', world.observed, world.records).strayAllocations.map((a) => a.id)).toEqual([
      'a-stray',
    ]);
  });

  it('a volume of an instance that no longer exists is stray', () => {
    const world = deployed();
    world.observed.volumes.push({
      id: 'v-old',
      pool: 'p',
      size_gb: 1,
      server_id: null,
      tags: { [TAG.deployment]: 'web', [TAG.instance]: 'gone' },
    });
    world.observed.volumes.push({
      id: 'v-foreign',
      pool: 'p',
      size_gb: 1,
      server_id: null,
      tags: { [TAG.instance]: 'gone' },
    });
    expect(embodiment('web', world.observed, world.records).strayVolumes.map((v) => v.id)).toEqual(['v-old']);
  });
});

describe('cleanup in the obligation', () => {
  it('deletes an orphan, then releases its allocation', () => {
    const world = deployed();
    const orphan = clone(world.observed.servers[0] as Server, { id: 'o-1' });
    orphan.tags = { ...orphan.tags, [TAG.allocation]: 'a-o' };
    delete orphan.tags[TAG.instance];
    world.observed.servers.push(orphan);
    world.observed.allocations.push({
      id: 'a-o',
      pool: 'dev',
      key: 'k',
      cpus: 2,
      memory_mb: 2048,
      instances: 1,
      tags: { [TAG.deployment]: 'web' },
    });
    const o = plan(world, manifestWith(), cloudWith());
    expect(o.steps.map((s) => [s.id, s.dependsOn, s.group, s.reasons])).toEqual([
      [
        'orphan/o-1:delete-server:o-1',
        [],
        '',
        ['orphan: a server tagged for the deployment that no instance owns'],
      ],
      [
        'orphan/o-1:release-quota:a-o',
        ['orphan/o-1:delete-server:o-1'],
        '',
        ['orphan: a server tagged for the deployment that no instance owns'],
      ],
    ]);
    expect(o.instances.every((i) => i.action === 'keep')).toBe(true);
  });

  it('releases a stray allocation with no server to wait for', () => {
    const world = deployed();
    world.observed.allocations.push({
      id: 'a-stray',
      pool: 'dev',
      key: 'k',
      cpus: 1,
      memory_mb: 1,
      instances: 1,
      tags: { [TAG.deployment]: 'web' },
    });
    const o = plan(world, manifestWith(), cloudWith());
    expect(o.steps).toMatchObject([
      {
        id: 'stray/a-stray:release-quota:a-stray',
        serverId: null,
        reasons: ['stray allocation: no live server consumes it'],
      },
    ]);
  });

  it('deletes a free stray volume', () => {
    const world = deployed();
    world.observed.volumes.push({
      id: 'v-old',
      pool: 'p',
      size_gb: 3,
      server_id: null,
      tags: { [TAG.deployment]: 'web', [TAG.instance]: 'gone' },
    });
    const o = plan(world, manifestWith(), cloudWith());
    expect(o.steps).toMatchObject([
      { id: 'stray/v-old:delete-disk:v-old', destructive: true, summary: 'delete-disk v-old (3 GiB)' },
    ]);
  });

  it('awaits a DELETING server of a kept instance and releases its quota', () => {
    const world = deployed();
    const r = recordOf(world, 'api/0');
    const server = serverOf(world.observed, r.id);
    world.observed.servers.push(
      clone(server, { id: 'old-1', state: 'DELETING', tags: { ...server.tags, [TAG.allocation]: 'a-old' } }),
    );
    world.observed.allocations.push({
      id: 'a-old',
      pool: 'dev',
      key: 'k',
      cpus: 2,
      memory_mb: 2048,
      instances: 1,
      tags: { [TAG.deployment]: 'web' },
    });
    const o = plan(world, manifestWith(), cloudWith());
    expect(instanceOf(o, 'api/0')).toMatchObject({
      action: 'keep',
      reasons: [`server old-1 of api/${r.id} is being deleted: await it and release its quota`],
    });
    expect(o.steps.map((s) => s.kind)).toEqual(['delete-server', 'release-quota']);
  });

  it("deletes a DELETING twin that shares the kept VM's allocation (a retried create) without releasing it", () => {
    const world = deployed();
    const r = recordOf(world, 'api/0');
    const server = serverOf(world.observed, r.id);
    world.observed.servers.push(clone(server, { id: 'old-1', state: 'DELETING', tags: { ...server.tags } }));
    const o = plan(world, manifestWith(), cloudWith());
    expect(o.steps.map((s) => s.kind)).toEqual(['delete-server']);
    expect(o.quotaPeak).toEqual(plan(deployed(), manifestWith(), cloudWith()).quotaPeak);
  });

  it('releases an allocation two deleted servers shared once, after both are gone', () => {
    const world = deployed();
    const r = recordOf(world, 'api/0');
    const server = serverOf(world.observed, r.id);
    const orphan = clone(server, { id: 'o-1', tags: { ...server.tags } });
    delete orphan.tags[TAG.instance];
    world.observed.servers.push(orphan);
    const o = plan(
      world,
      manifestWith((m) => (group(m, 'api').instances = 0)),
      cloudWith(),
    );
    const unit = `api/${r.id}`;
    const releases = o.steps.filter((s) => s.kind === 'release-quota');
    expect(releases.filter((s) => s.unit === unit)).toHaveLength(1);
    expect(releases.find((s) => s.unit === unit)?.dependsOn).toEqual(
      [`${unit}:delete-server:o-1`, `${unit}:delete-server:${server.id}`].sort(),
    );
    expect(o.steps.filter((s) => s.unit.startsWith('orphan/'))).toEqual([]);
  });
});
