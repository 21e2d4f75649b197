// The plan for equal input is byte-identical, and the status projection.
import { describe, expect, it } from 'vitest';
import { canonicalJson, projectStatus, embodiment } from '../../../src/planner/index';
import { cloudWith, deployed, group, manifestWith, plan, recordOf, serverOf } from './baseline';

describe('plan', () => {
  const m = manifestWith((x) => {
    group(x, 'api').stemcell = 'next';
    group(x, 'worker').instances = 1;
    group(x, 'db').instances = 2;
    group(x, 'db').networks = [{ name: 'default', static_ips: ['10.0.0.10', '10.0.0.11'] }];
  });

  it('counts each instance under its action', () => {
    const o = plan(deployed(), m, cloudWith());
    const summary = { create: 0, replace: 0, delete: 0, keep: 0 };
    for (const p of o.instances) summary[p.action]++;
    expect(summary).toEqual({ create: 1, replace: 3, delete: 1, keep: 2 });
    expect(o.steps.length).toBeGreaterThan(0);
  });

  it('is byte-identical for identical inputs, whatever order the cloud listed things in', () => {
    const world = deployed();
    const shuffled = structuredClone(world);
    shuffled.observed.servers.reverse();
    shuffled.observed.allocations.reverse();
    shuffled.observed.volumes.reverse();
    shuffled.records.reverse();
    expect(canonicalJson(plan(shuffled, m, cloudWith()))).toBe(canonicalJson(plan(world, m, cloudWith())));
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
