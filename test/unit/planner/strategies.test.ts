// Strategies: the order of steps inside one instance update (DESIGN §4).
import { describe, expect, it } from 'vitest';
import { TAG } from '../../../src/domain/cloud';
import type { Obligation, Step } from '../../../src/planner/types';
import {
  cloudWith,
  deployed,
  group,
  instanceOf,
  manifestWith,
  plan,
  planAfter,
  recordOf,
  serverOf,
} from './baseline';

/** A unit's steps as `kind ← dependency kinds`, in the obligation's order. */
function chain(o: Obligation, claim: string): string[] {
  const unit = instanceOf(o, claim)?.instance;
  const steps = o.steps.filter((s) => s.unit === unit);
  const kind = new Map(steps.map((s) => [s.id, s.kind]));
  return steps.map((s) => `${s.kind} ← ${s.dependsOn.map((d) => kind.get(d) ?? `?${d}`).join(', ') || '∅'}`);
}

const newStemcell = (groups: string[], strategy?: 'hot_swap' | 'delete_create') =>
  manifestWith((m) => {
    for (const g of groups) {
      group(m, g).stemcell = 'next';
      if (strategy) group(m, g).update = { vm_strategy: strategy };
    }
  });

describe('hot_swap: create and associate first, then delete, then release', () => {
  it('without a persistent disk', () => {
    const o = plan(deployed(), newStemcell(['api']), cloudWith());
    expect(instanceOf(o, 'api/0')).toMatchObject({
      action: 'replace',
      strategy: 'hot_swap',
      destructive: true,
    });
    expect(chain(o, 'api/0')).toEqual([
      'create-vm ← ∅',
      'associate-vm-to-instance ← create-vm',
      'delete-server ← associate-vm-to-instance',
      'release-quota ← delete-server',
    ]);
  });

  it('associate takes the disk from the old VM: no detach-disk step', () => {
    const world = deployed();
    const o = plan(world, newStemcell(['worker']), cloudWith());
    expect(chain(o, 'worker/1')).toEqual([
      'create-vm ← ∅',
      'associate-vm-to-instance ← create-vm',
      'delete-server ← associate-vm-to-instance',
      'release-quota ← delete-server',
    ]);
    const unit = instanceOf(o, 'worker/1')?.instance;
    const associate = o.steps.find((s) => s.unit === unit && s.kind === 'associate-vm-to-instance');
    const old = world.observed.servers.find((s) => s.tags[TAG.instance] === recordOf(world, 'worker/1').id);
    const volume = world.observed.volumes.find((v) => v.server_id === old?.id);
    expect(associate).toMatchObject({ movesDisk: { volumeId: volume?.id, from: old?.id } });
    expect(associate?.summary).toContain(`(moves disk ${volume?.id ?? '?'} from ${old?.id ?? '?'})`);
    // Enacted, the disk is on the new VM and a second plan has nothing left to do.
    const { again } = planAfter(world, o, newStemcell(['worker']), cloudWith());
    expect(again.steps).toEqual([]);
  });

  it('delete_create still detaches before the old VM goes', () => {
    const o = plan(deployed(), newStemcell(['worker'], 'delete_create'), cloudWith());
    expect(chain(o, 'worker/0')[0]).toBe('detach-disk ← ∅');
  });

  it('creates every new VM of the obligation up front (no create waits on another unit)', () => {
    const o = plan(deployed(), newStemcell(['api', 'worker']), cloudWith());
    const creates = o.steps.filter((s) => s.kind === 'create-vm');
    expect(creates).toHaveLength(5);
    expect(creates.every((s) => s.dependsOn.length === 0)).toBe(true);
  });
});

describe('delete_create: delete, await gone, release, then create and associate', () => {
  it('without a persistent disk', () => {
    const o = plan(deployed(), newStemcell(['api'], 'delete_create'), cloudWith());
    expect(instanceOf(o, 'api/0')).toMatchObject({
      strategy: 'delete_create',
      reasons: ['stemcell 1.181 → 1.182'],
    });
    expect(chain(o, 'api/0')).toEqual([
      'delete-server ← ∅',
      'release-quota ← delete-server',
      'create-vm ← release-quota',
      'associate-vm-to-instance ← create-vm',
    ]);
  });

  it('detaches the persistent disk before the old VM goes', () => {
    const o = plan(deployed(), newStemcell(['worker'], 'delete_create'), cloudWith());
    expect(chain(o, 'worker/0')).toEqual([
      'detach-disk ← ∅',
      'delete-server ← detach-disk',
      'release-quota ← delete-server',
      'create-vm ← release-quota',
      'associate-vm-to-instance ← create-vm, detach-disk',
    ]);
  });

  it('is what a static-IP instance gets under hot_swap, and the reason says why', () => {
    const o = plan(deployed(), newStemcell(['db']), cloudWith());
    expect(instanceOf(o, 'db/0')).toMatchObject({
      strategy: 'delete_create',
      reasons: [
        'stemcell 1.181 → 1.182',
        'delete_create instead of hot_swap: static IP 10.0.0.10 cannot be held by two VMs',
      ],
    });
    expect(chain(o, 'db/0')[0]).toBe('detach-disk ← ∅');
  });

  it('is the default for groups whose manifest chooses no strategy', () => {
    const m = manifestWith((x) => {
      x.update = { canaries: 1, max_in_flight: 1 };
      group(x, 'api').stemcell = 'next';
    });
    const o = plan(deployed(), m, cloudWith());
    expect(o.groups[0]).toMatchObject({ strategy: 'delete_create', strategyExplicit: false });
    expect(instanceOf(o, 'api/0')?.strategy).toBe('delete_create');
    const hot = plan(deployed(), m, cloudWith(), { defaultStrategy: 'hot_swap' });
    expect(instanceOf(hot, 'api/0')?.strategy).toBe('hot_swap');
  });
});

describe('a missing VM: create and associate, nothing to delete', () => {
  it('re-attaches the free persistent disk', () => {
    const world = deployed();
    const id = serverOf(world.observed, recordOf(world, 'worker/0').id).id;
    world.observed.servers = world.observed.servers.filter((s) => s.id !== id);
    for (const v of world.observed.volumes) if (v.server_id === id) v.server_id = null;
    const o = plan(world, manifestWith(), cloudWith());
    expect(chain(o, 'worker/0')).toEqual(['create-vm ← ∅', 'associate-vm-to-instance ← create-vm']);
  });
});

describe('steps', () => {
  const o = plan(deployed(), newStemcell(['worker']), cloudWith(), { operationId: 'op-7', operationSeq: 7 });
  const unit = instanceOf(o, 'worker/1')?.instance ?? '';
  const of = <K extends Step['kind']>(kind: K) =>
    o.steps.find((s): s is Extract<Step, { kind: K }> => s.unit === unit && s.kind === kind);

  it('have ids <unit>:<kind>[:<object id>]', () => {
    expect(o.steps.filter((s) => s.unit === unit).map((s) => s.id.slice(unit.length))).toEqual([
      ':create-vm',
      ':associate-vm-to-instance',
      `:delete-server:${of('delete-server')?.serverId ?? ''}`,
      `:release-quota:${of('release-quota')?.allocationId ?? ''}`,
    ]);
  });

  it('mark only the loss of the old VM destructive, and carry the instance reasons', () => {
    expect(o.steps.filter((s) => s.unit === unit && s.destructive).map((s) => s.kind)).toEqual([
      'delete-server',
    ]);
    expect(
      o.steps.filter((s) => s.unit === unit).every((s) => s.reasons.join() === 'stemcell 1.181 → 1.182'),
    ).toBe(true);
  });

  it('create VMs from the claim, tagged for finding them again, with the quota they take', () => {
    const create = of('create-vm');
    expect(create).toMatchObject({
      claim: 'worker/1',
      pool: 'dev',
      quota: { cpus: 4, memory_mb: 4096, instances: 1 },
      summary: 'create-vm worker/1 z2 medium ubuntu-jammy/1.182',
      spec: {
        name: 'web-worker-1',
        cpus: 4,
        memory_mb: 4096,
        disk_gb: 30,
        image: { os: 'ubuntu-jammy', version: '1.182' },
        az: 'z2',
        network: 'default',
        static_ip: null,
        user_data: null,
      },
    });
    expect(create?.spec.tags).toMatchObject({
      [TAG.deployment]: 'web',
      [TAG.group]: 'worker',
      [TAG.index]: '1',
      [TAG.claim]: 'worker/1',
      [TAG.operation]: 'op-7',
    });
    expect(create?.spec.tags[TAG.instance]).toBeUndefined();
    expect(of('associate-vm-to-instance')).toMatchObject({
      createStep: create?.id,
      instanceId: unit.split('/')[1],
      disk: { size_gb: 10, type: null },
    });
  });

  it('release the quota of the allocation the old server held, naming that server (two-stage)', () => {
    const release = of('release-quota');
    expect(release?.serverId).toBe(of('delete-server')?.serverId);
    expect(release?.quota).toEqual({ cpus: 4, memory_mb: 4096, instances: 1 });
  });
});
