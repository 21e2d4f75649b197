// Instances coming and going: scale up and down, renames, recreate, stop and hard stop.
import { describe, expect, it } from 'vitest';
import { TAG } from '../../../src/domain/cloud';
import { derivedUuid } from '../../../src/planner/index';
import {
  cloudWith,
  deployed,
  group,
  instanceOf,
  kindsOf,
  manifestWith,
  plan,
  planAfter,
  recordOf,
} from './baseline';

describe('scale up', () => {
  it('creates the new indices as new instances with uuids derived from deployment, claim and operation', () => {
    const m = manifestWith((x) => (group(x, 'api').instances = 4));
    const o = plan(deployed(), m, cloudWith(), { operationSeq: 9 });
    const id = derivedUuid('web', 'api/3', '9');
    expect(instanceOf(o, 'api/3')).toEqual({
      instance: `api/${id}`,
      claim: 'api/3',
      action: 'create',
      strategy: null,
      reasons: ['new instance'],
      destructive: false,
    });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(kindsOf(o, `api/${id}`)).toEqual(['create-vm', 'associate-vm-to-instance']);
    expect(o.records.find((r) => r.id === id)).toEqual({
      id,
      group: 'api',
      index: 3,
      az: 'z2',
      bootstrap: false,
      state: 'started',
    });
  });

  it('names the same new instance when the same operation plans again, another one in another operation', () => {
    const m = manifestWith((x) => (group(x, 'api').instances = 4));
    const world = deployed();
    expect(instanceOf(plan(world, m, cloudWith(), { operationSeq: 3 }), 'api/3')?.instance).toBe(
      instanceOf(plan(world, m, cloudWith(), { operationSeq: 3 }), 'api/3')?.instance,
    );
    expect(instanceOf(plan(world, m, cloudWith(), { operationSeq: 3 }), 'api/3')?.instance).not.toBe(
      instanceOf(plan(world, m, cloudWith(), { operationSeq: 4 }), 'api/3')?.instance,
    );
  });

  it('qualifies the uuid seed with the incarnation when one is given, and only then', () => {
    const m = manifestWith((x) => (group(x, 'api').instances = 4));
    const world = deployed();
    const named = (extra: { operationSeq: number; incarnation?: string }): string | undefined =>
      instanceOf(plan(world, m, cloudWith(), extra), 'api/3')?.instance;
    // Without an incarnation the seed is the sequence alone (histories recorded before it replay).
    expect(named({ operationSeq: 1 })).toBe(`api/${derivedUuid('web', 'api/3', '1')}`);
    expect(named({ operationSeq: 1, incarnation: 'ab12cd34' })).toBe(
      `api/${derivedUuid('web', 'api/3', '1@ab12cd34')}`,
    );
    // A deployment deleted and deployed again starts at op-1 again: another incarnation, another uuid.
    expect(named({ operationSeq: 1, incarnation: 'ab12cd34' })).not.toBe(named({ operationSeq: 1 }));
    expect(named({ operationSeq: 1, incarnation: 'ab12cd34' })).not.toBe(
      named({ operationSeq: 1, incarnation: '0f9e8d7c' }),
    );
    expect(named({ operationSeq: 1, incarnation: 'ab12cd34' })).toBe(
      named({ operationSeq: 1, incarnation: 'ab12cd34' }),
    );
  });
});

describe('scale down', () => {
  it('deletes the highest indices, their VMs, quota and disks', () => {
    const world = deployed();
    const o = plan(
      world,
      manifestWith((x) => (group(x, 'worker').instances = 1)),
      cloudWith(),
    );
    const gone = recordOf(world, 'worker/1');
    expect(o.instances.filter((i) => i.action === 'delete')).toEqual([
      {
        instance: `worker/${gone.id}`,
        claim: null,
        action: 'delete',
        strategy: null,
        reasons: ['scale down: worker has 1 instance, index 1 goes'],
        destructive: true,
      },
    ]);
    expect(kindsOf(o, `worker/${gone.id}`)).toEqual([
      'detach-disk',
      'delete-disk',
      'delete-server',
      'release-quota',
    ]);
    expect(o.steps.find((s) => s.kind === 'delete-disk')?.destructive).toBe(true);
    expect(o.records.map((r) => r.id)).not.toContain(gone.id);
    expect(o.steps.every((s) => s.group === 'worker')).toBe(true);
  });

  it('to zero removes the whole group and leaves the rest alone', () => {
    const o = plan(
      deployed(),
      manifestWith((x) => (group(x, 'api').instances = 0)),
      cloudWith(),
    );
    expect(o.instances.filter((i) => i.action === 'delete').map((i) => i.reasons[0])).toEqual([
      'scale down: api has 0 instances, index 0 goes',
      'scale down: api has 0 instances, index 1 goes',
      'scale down: api has 0 instances, index 2 goes',
    ]);
    expect(o.instances.filter((i) => i.action === 'keep')).toHaveLength(3);
  });

  it('of a group removed from the manifest deletes its instances', () => {
    const o = plan(
      deployed(),
      manifestWith((x) => (x.instance_groups = x.instance_groups.filter((g) => g.name !== 'api'))),
      cloudWith(),
    );
    expect(o.instances.filter((i) => i.action === 'delete').map((i) => i.reasons)).toEqual([
      ['group api removed'],
      ['group api removed'],
      ['group api removed'],
    ]);
    expect(o.steps.filter((s) => s.kind === 'delete-server').every((s) => s.group === '')).toBe(true);
    expect(o.warnings).toEqual([]);
  });
});

describe('group rename', () => {
  const renamed = (migrated: boolean) =>
    manifestWith((x) =>
      Object.assign(group(x, 'api'), {
        name: 'frontend',
        ...(migrated ? { migrated_from: [{ name: 'api' }] } : {}),
      }),
    );

  it('with migrated_from keeps every instance uuid and replaces the VMs under the new name', () => {
    const world = deployed();
    const o = plan(world, renamed(true), cloudWith());
    for (const index of [0, 1, 2]) {
      const id = recordOf(world, `api/${index}`).id;
      expect(instanceOf(o, `frontend/${index}`)).toMatchObject({
        instance: `frontend/${id}`,
        action: 'replace',
        strategy: 'hot_swap',
        reasons: ['group renamed api → frontend'],
      });
      expect(o.records.find((r) => r.id === id)).toMatchObject({ group: 'frontend', index });
    }
    expect(o.instances.filter((i) => i.action === 'delete')).toEqual([]);
    expect(o.warnings).toEqual([]);
  });

  it('without migrated_from deletes the old instances, creates new ones and says how to keep them', () => {
    const o = plan(deployed(), renamed(false), cloudWith());
    expect(o.instances.filter((i) => i.action === 'delete').map((i) => i.reasons)).toEqual([
      ['group api removed'],
      ['group api removed'],
      ['group api removed'],
    ]);
    expect(o.instances.filter((i) => i.action === 'create').map((i) => i.claim)).toEqual([
      'frontend/0',
      'frontend/1',
      'frontend/2',
    ]);
    expect(o.warnings).toEqual([
      'group api is gone and frontend is new: its 3 instances will be deleted and new ones created; add migrated_from: [{name: api}] to the new group to keep them',
    ]);
  });
});

describe('digressions: stopped and detached instances', () => {
  it('a detached (hard-stopped) instance gets no VM, even when its claim changed', () => {
    const world = deployed();
    const r = recordOf(world, 'api/1');
    r.state = 'detached';
    world.observed.servers = world.observed.servers.filter((s) => s.tags[TAG.instance] !== r.id);
    const o = plan(
      world,
      manifestWith((x) => (group(x, 'api').stemcell = 'next')),
      cloudWith(),
    );
    expect(instanceOf(o, 'api/1')).toMatchObject({ action: 'keep', reasons: [] });
    expect(kindsOf(o, `api/${r.id}`)).toEqual([]);
    expect(o.records.find((x) => x.id === r.id)?.state).toBe('detached');
  });

  it('a detached instance that still has a VM loses it but keeps its disk', () => {
    const world = deployed();
    const r = recordOf(world, 'worker/0');
    r.state = 'detached';
    const o = plan(world, manifestWith(), cloudWith());
    expect(instanceOf(o, 'worker/0')).toMatchObject({
      action: 'keep',
      reasons: ['detached (hard-stopped): VM deleted, instance and disk kept'],
      destructive: true,
    });
    expect(kindsOf(o, `worker/${r.id}`)).toEqual(['detach-disk', 'delete-server', 'release-quota']);
  });

  it('a stopped instance keeps its VM; what waits for start is a warning', () => {
    const world = deployed();
    const r = recordOf(world, 'api/0');
    r.state = 'stopped';
    const o = plan(
      world,
      manifestWith((x) => (group(x, 'api').stemcell = 'next')),
      cloudWith(),
    );
    expect(instanceOf(o, 'api/0')).toMatchObject({ action: 'keep', reasons: [] });
    expect(o.warnings).toEqual([
      `api/${r.id} is stopped: its VM is kept; on start it needs replacing (stemcell 1.181 → 1.182)`,
    ]);
  });

  it('--recreate passes over stopped and detached instances', () => {
    const world = deployed();
    recordOf(world, 'api/0').state = 'stopped';
    const o = plan(world, manifestWith(), cloudWith(), { recreate: true });
    expect(instanceOf(o, 'api/0')?.action).toBe('keep');
    expect(instanceOf(o, 'api/1')?.reasons).toEqual(['--recreate']);
  });
});

describe('converged', () => {
  it('the baseline, deployed, plans nothing', () => {
    const o = plan(deployed(), manifestWith(), cloudWith());
    expect(o.steps).toEqual([]);
    expect(o.instances.every((i) => i.action === 'keep')).toBe(true);
  });

  it('after enacting a mixed obligation, the same inputs plan nothing', () => {
    const m = manifestWith((x) => {
      group(x, 'api').stemcell = 'next';
      group(x, 'worker').instances = 1;
      group(x, 'db').networks = [{ name: 'default', static_ips: ['10.0.0.11'] }];
      x.instance_groups.push({
        name: 'cache',
        instances: 2,
        azs: ['z3'],
        vm_type: 'small',
        stemcell: 'next',
        networks: [{ name: 'backend' }],
      });
    });
    const world = deployed();
    const o = plan(world, m, cloudWith());
    const { again } = planAfter(world, o, m, cloudWith());
    expect(again.steps).toEqual([]);
  });
});
