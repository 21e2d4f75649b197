// The plan as printed: `--json` keys exactly as the issue lists them, byte-identical for equal input.
import { describe, expect, it } from 'vitest';
import { planHeadline, planJson, planView, projectStatus, embodiment } from '../../../src/planner/index';
import { cloudWith, deployed, group, manifestWith, plan, recordOf, serverOf } from './baseline';

describe('plan view', () => {
  const m = manifestWith((x) => {
    group(x, 'api').stemcell = 'next';
    group(x, 'worker').instances = 1;
    group(x, 'db').instances = 2;
    group(x, 'db').networks = [{ name: 'default', static_ips: ['10.0.0.10', '10.0.0.11'] }];
  });

  it('has exactly the documented keys', () => {
    const view = planView(plan(deployed(), m, cloudWith()));
    expect(Object.keys(view)).toEqual([
      'deployment',
      'converged',
      'summary',
      'instances',
      'steps',
      'quotaPeak',
    ]);
    expect(Object.keys(view.summary)).toEqual(['create', 'replace', 'delete', 'keep']);
    expect(Object.keys(view.instances[0] ?? {})).toEqual([
      'instance',
      'action',
      'strategy',
      'reasons',
      'destructive',
    ]);
    expect(Object.keys(view.steps[0] ?? {})).toEqual(['id', 'kind', 'instance', 'dependsOn', 'reasons']);
    expect(Object.keys(view.quotaPeak)).toEqual(['cpus', 'memory_mb', 'instances']);
    expect(view.summary).toEqual({ create: 1, replace: 3, delete: 1, keep: 2 });
    expect(view.converged).toBe(false);
  });

  it('is byte-identical for identical inputs, whatever order the cloud listed things in', () => {
    const world = deployed();
    const shuffled = structuredClone(world);
    shuffled.observed.servers.reverse();
    shuffled.observed.allocations.reverse();
    shuffled.observed.volumes.reverse();
    shuffled.records.reverse();
    expect(planJson(plan(shuffled, m, cloudWith()))).toBe(planJson(plan(world, m, cloudWith())));
  });

  it('headline names counts and what the replacements are for', () => {
    expect(planHeadline('deploy', plan(deployed(), m, cloudWith()))).toBe(
      'deploy web: 1 create, 3 replace (stemcell), 1 delete',
    );
    expect(planHeadline('deploy', plan(deployed(), manifestWith(), cloudWith()))).toBe(
      'deploy web: converged',
    );
  });
});

describe('status projection', () => {
  it('shows per instance its VM, state, addresses, power and health; nulls when there is no VM', () => {
    const world = deployed();
    const db = recordOf(world, 'db/0');
    const server = serverOf(world.observed, db.id);
    const api = recordOf(world, 'api/0');
    world.observed.servers = world.observed.servers.filter((s) => s.tags['converge.instance'] !== api.id);
    const rows = projectStatus(embodiment('web', world.observed, world.records));
    expect(rows.find((r) => r.instance === `db/${db.id}`)).toEqual({
      instance: `db/${db.id}`,
      group: 'db',
      index: 0,
      az: 'z1',
      state: 'started',
      vm: server.id,
      vm_state: 'ACTIVE',
      ips: ['10.0.0.10'],
      macs: [server.addresses[0]?.mac],
      power: 'running',
      health: 'healthy',
    });
    expect(rows.find((r) => r.instance === `api/${api.id}`)).toMatchObject({
      vm: null,
      vm_state: null,
      ips: [],
      macs: [],
      power: null,
      health: null,
    });
  });
});
