// The patent: every claim the manifest makes, resolved against the cloud config.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/errors';
import { patent, placementsFor } from '../../../src/planner/index';
import { cloudWith, group, manifestWith } from './baseline';

const claimsOf = (m = manifestWith(), cc = cloudWith(), placements: Parameters<typeof patent>[2] = []) =>
  patent(m, cc, placements).claims;

describe('claims', () => {
  it('are sorted by group in manifest order, then index, with ids <group>/<index>', () => {
    expect(claimsOf().map((c) => c.id)).toEqual(['api/0', 'api/1', 'api/2', 'worker/0', 'worker/1', 'db/0']);
  });

  it('mark index 0 of each group as bootstrap', () => {
    expect(
      claimsOf()
        .filter((c) => c.bootstrap)
        .map((c) => c.id),
    ).toEqual(['api/0', 'worker/0', 'db/0']);
  });

  it('resolve a vm_type through its size preset, or take its own sizes', () => {
    const [api] = claimsOf();
    expect(api?.vmType).toEqual({
      name: 'small',
      cpus: 2,
      memory_mb: 2048,
      disk_gb: 15,
      cloud_properties: {},
    });
    const large = claimsOf(manifestWith((m) => (group(m, 'api').vm_type = 'large')))[0];
    expect(large?.vmType).toEqual({
      name: 'large',
      cpus: 8,
      memory_mb: 16384,
      disk_gb: 60,
      cloud_properties: {},
    });
  });

  it('let sizes written on a vm_type override its preset', () => {
    const cc = cloudWith(
      (c) => (c.vm_types[0] = { name: 'small', size: 'small', cpus: 3, cloud_properties: {} }),
    );
    expect(claimsOf(manifestWith(), cc)[0]?.vmType).toMatchObject({ cpus: 3, memory_mb: 2048, disk_gb: 15 });
  });

  it('resolve the stemcell alias and carry env', () => {
    const c = claimsOf(manifestWith((m) => (group(m, 'api').env = { a: { b: 1 } })))[0];
    expect(c?.stemcell).toEqual({ alias: 'default', os: 'ubuntu-jammy', version: '1.181' });
    expect(c?.env).toEqual({ a: { b: 1 } });
  });

  it('resolve a persistent disk from a size, from a disk type, or none', () => {
    const byId = new Map(claimsOf().map((c) => [c.id, c.persistentDisk]));
    expect(byId.get('api/0')).toBeNull();
    expect(byId.get('worker/0')).toEqual({ size_gb: 10, type: null, cloud_properties: {} });
    expect(byId.get('db/0')).toEqual({ size_gb: 10, type: 'fast', cloud_properties: { pool_type: 'lvm' } });
  });

  it('carry the AZ cloud properties of their AZ', () => {
    expect(
      claimsOf()
        .slice(0, 2)
        .map((c) => c.azCloudProperties),
    ).toEqual([{ zone: 'a' }, { zone: 'b' }]);
  });

  it('name the field when a reference cannot be resolved (input that skipped validation)', () => {
    const m = manifestWith((x) => (group(x, 'worker').vm_type = 'nope'));
    expect(() => claimsOf(m)).toThrow(ValidationError);
    expect(() => claimsOf(m)).toThrow("instance_groups[1].vm_type: unknown vm_type 'nope'");
  });
});

describe('AZ placement (BOSH balance)', () => {
  const azs = (m = manifestWith(), placements: Parameters<typeof patent>[2] = [], name = 'api') =>
    claimsOf(m, cloudWith(), placements)
      .filter((c) => c.group === name)
      .map((c) => c.az);

  it('is round-robin in manifest order for a fresh group', () => {
    expect(azs()).toEqual(['z1', 'z2', 'z1']);
    expect(
      azs(manifestWith((m) => Object.assign(group(m, 'api'), { instances: 5, azs: ['z3', 'z1', 'z2'] }))),
    ).toEqual(['z3', 'z1', 'z2', 'z3', 'z1']);
  });

  it('keeps existing instances in their AZ and balances the rest around them', () => {
    const placements = [
      { group: 'api', index: 0, az: 'z2' },
      { group: 'api', index: 1, az: 'z2' },
    ];
    // z2 holds two, so both free indices go to z1.
    expect(
      azs(
        manifestWith((m) => (group(m, 'api').instances = 4)),
        placements,
      ),
    ).toEqual(['z2', 'z2', 'z1', 'z1']);
  });

  it('moves an instance whose AZ left the group to the emptiest remaining AZ', () => {
    const placements = [
      { group: 'api', index: 0, az: 'z1' },
      { group: 'api', index: 1, az: 'z2' },
      { group: 'api', index: 2, az: 'z1' },
    ];
    const m = manifestWith((x) => (group(x, 'api').azs = ['z2', 'z3']));
    // index 1 stays in z2; index 0 goes to the empty z3; index 2 ties (1 each) and takes z2, listed first.
    expect(azs(m, placements)).toEqual(['z3', 'z2', 'z2']);
  });

  it('pins a static IP to the AZs its subnet serves', () => {
    const m = manifestWith((x) =>
      Object.assign(group(x, 'db'), {
        azs: ['z1', 'z3'],
        instances: 2,
        networks: [{ name: 'default', static_ips: ['10.0.1.10', '10.0.1.11'] }],
      }),
    );
    expect(azs(m, [], 'db')).toEqual(['z3', 'z3']);
  });
});

describe('networks', () => {
  it("resolve to the subnet serving the claim AZ, with that subnet's reserved and static ranges (dynamic addresses come from the rest)", () => {
    const m = manifestWith((x) => Object.assign(group(x, 'api'), { azs: ['z1', 'z3'] }));
    expect(
      claimsOf(m)
        .slice(0, 2)
        .map((c) => c.networks),
    ).toEqual([
      [
        {
          name: 'default',
          subnet: '10.0.0.0/24',
          staticIp: null,
          addressing: { reserved: ['10.0.0.1', '10.0.0.2-10.0.0.9'], static: ['10.0.0.10-10.0.0.30'] },
        },
      ],
      [
        {
          name: 'default',
          subnet: '10.0.1.0/24',
          staticIp: null,
          addressing: { reserved: ['10.0.1.1'], static: ['10.0.1.10-10.0.1.30'] },
        },
      ],
    ]);
  });

  it('assign static IPs to indices in order', () => {
    const m = manifestWith((x) =>
      Object.assign(group(x, 'db'), {
        instances: 2,
        networks: [{ name: 'default', static_ips: ['10.0.0.12', '10.0.0.11'] }],
      }),
    );
    expect(
      claimsOf(m)
        .filter((c) => c.group === 'db')
        .map((c) => c.networks[0]?.staticIp),
    ).toEqual(['10.0.0.12', '10.0.0.11']);
  });
});

describe('placementsFor: where existing instances stay', () => {
  const rec = (group: string, index: number, az: string, id = `${group}-${index}`) => ({
    id,
    group,
    index,
    az,
    bootstrap: index === 0,
    state: 'started' as const,
  });

  it('keeps instances of a group in their index and AZ, and drops the ones a scale down removes', () => {
    const m = manifestWith((x) => (group(x, 'api').instances = 2));
    expect(placementsFor(m, [rec('api', 0, 'z2'), rec('api', 1, 'z2'), rec('api', 2, 'z1')])).toEqual([
      { group: 'api', index: 0, az: 'z2' },
      { group: 'api', index: 1, az: 'z2' },
    ]);
  });

  it('moves the instances of a group named in migrated_from into the new group', () => {
    const m = manifestWith((x) =>
      Object.assign(group(x, 'api'), { name: 'frontend', migrated_from: [{ name: 'api' }] }),
    );
    expect(placementsFor(m, [rec('api', 0, 'z2'), rec('api', 2, 'z1')])).toEqual([
      { group: 'frontend', index: 0, az: 'z2' },
      { group: 'frontend', index: 2, az: 'z1' },
    ]);
  });

  it('gives a migrated instance whose index is taken the lowest free index', () => {
    const m = manifestWith((x) => Object.assign(group(x, 'api'), { migrated_from: [{ name: 'old' }] }));
    expect(placementsFor(m, [rec('api', 0, 'z1'), rec('old', 0, 'z2')])).toEqual([
      { group: 'api', index: 0, az: 'z1' },
      { group: 'api', index: 1, az: 'z2' },
    ]);
  });
});
