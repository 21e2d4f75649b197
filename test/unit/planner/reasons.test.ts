// Reasons: each case changes one input of the deployed baseline and asserts the exact reason text
// a user reads, and (where the change can be undone) the reason for going back.
import { describe, expect, it } from 'vitest';
import type { CloudConfigInput } from '../../../src/domain/cloud-config';
import type { ManifestInput } from '../../../src/domain/manifest';
import { TAG } from '../../../src/domain/cloud';
import { PLAN_TAG } from '../../../src/planner/index';
import {
  cloudWith,
  deployed,
  group,
  instanceOf,
  manifestWith,
  plan,
  reasonsOf,
  recordOf,
  serverOf,
  type Edit,
} from './baseline';

interface Case {
  name: string;
  manifest?: Edit<ManifestInput>;
  cloud?: Edit<CloudConfigInput>;
  claim: string;
  forward: string[];
  /** Reasons when going from the edited deployment back to the baseline; omitted when not meaningful. */
  back?: string[];
}

const cases: Case[] = [
  {
    name: 'a new stemcell version names both versions',
    manifest: (m) => (group(m, 'api').stemcell = 'next'),
    claim: 'api/0',
    forward: ['stemcell 1.181 → 1.182'],
    back: ['stemcell 1.182 → 1.181'],
  },
  {
    name: 'another stemcell OS names OS and version',
    manifest: (m) => (m.stemcells[0] = { alias: 'default', os: 'ubuntu-noble', version: '1.0' }),
    claim: 'api/0',
    forward: ['stemcell ubuntu-jammy/1.181 → ubuntu-noble/1.0'],
    back: ['stemcell ubuntu-noble/1.0 → ubuntu-jammy/1.181'],
  },
  {
    name: 'a bigger vm_type names both types and every size that changed',
    manifest: (m) => (group(m, 'api').vm_type = 'medium'),
    claim: 'api/0',
    forward: ['vm_type small → medium (cpus 2 → 4, memory_mb 2048 → 4096, disk_gb 15 → 30)'],
    back: ['vm_type medium → small (cpus 4 → 2, memory_mb 4096 → 2048, disk_gb 30 → 15)'],
  },
  {
    name: 'resizing the size preset a vm_type uses says the type was resized',
    cloud: (c) => ((c.vm_sizes ?? {})['small'] = { cpus: 4, memory_mb: 2048, disk_gb: 15 }),
    claim: 'api/0',
    forward: ['vm_type small resized (cpus 2 → 4)'],
    back: ['vm_type small resized (cpus 4 → 2)'],
  },
  {
    name: "a vm_type's cloud_properties",
    cloud: (c) =>
      (c.vm_types[0] = { name: 'small', size: 'small', cloud_properties: { flavor: 'm1.small' } }),
    claim: 'api/0',
    forward: ['vm_type small: cloud_properties changed'],
    back: ['vm_type small: cloud_properties changed'],
  },
  {
    name: "an AZ's cloud_properties (only instances in that AZ)",
    cloud: (c) => (c.azs[0] = { name: 'z1', cloud_properties: { zone: 'a2' } }),
    claim: 'api/0',
    forward: ['az z1: cloud_properties changed'],
    back: ['az z1: cloud_properties changed'],
  },
  {
    name: 'an AZ dropped from the group moves its instances',
    manifest: (m) => (group(m, 'api').azs = ['z2']),
    claim: 'api/0',
    forward: ['az z1 → z2'],
  },
  {
    name: 'the subnet serving the AZ',
    cloud: (c) => {
      const [a, b] = c.networks[0]?.subnets ?? [];
      if (a && b) [a.azs, b.azs] = [['z1'], ['z2', 'z3']];
    },
    claim: 'api/1',
    forward: ['network default: subnet changed (10.0.0.0/24 → 10.0.1.0/24)'],
    back: ['network default: subnet changed (10.0.1.0/24 → 10.0.0.0/24)'],
  },
  {
    name: 'a second network',
    manifest: (m) => group(m, 'api').networks.push({ name: 'backend' }),
    claim: 'api/0',
    forward: ['network backend added'],
    back: ['network backend removed'],
  },
  {
    name: 'another network instead',
    manifest: (m) => (group(m, 'api').networks = [{ name: 'backend' }]),
    claim: 'api/0',
    forward: ['network backend added', 'network default removed'],
    back: ['network default added', 'network backend removed'],
  },
  {
    name: 'the order of networks (the first is the primary interface)',
    manifest: (m) => (group(m, 'api').networks = [{ name: 'default' }, { name: 'backend' }]),
    claim: 'api/0',
    forward: ['network backend added'],
  },
  {
    name: 'a static IP (and the fallback to delete_create is stated)',
    manifest: (m) => (group(m, 'db').networks = [{ name: 'default', static_ips: ['10.0.0.11'] }]),
    claim: 'db/0',
    forward: [
      'network default: static IP 10.0.0.10 → 10.0.0.11',
      'delete_create instead of hot_swap: static IP 10.0.0.11 cannot be held by two VMs',
    ],
    back: [
      'network default: static IP 10.0.0.11 → 10.0.0.10',
      'delete_create instead of hot_swap: static IP 10.0.0.10 cannot be held by two VMs',
    ],
  },
  {
    name: 'a static IP dropped (hot_swap is possible again)',
    manifest: (m) => (group(m, 'db').networks = [{ name: 'default' }]),
    claim: 'db/0',
    forward: ['network default: static IP 10.0.0.10 → none'],
    back: [
      'network default: static IP none → 10.0.0.10',
      'delete_create instead of hot_swap: static IP 10.0.0.10 cannot be held by two VMs',
    ],
  },
  {
    name: 'env',
    manifest: (m) => (group(m, 'api').env = { bosh: { password: 'x' } }),
    claim: 'api/0',
    forward: ['env changed'],
    back: ['env changed'],
  },
  {
    name: 'two things at once: every reason, in a fixed order',
    manifest: (m) => {
      group(m, 'api').stemcell = 'next';
      group(m, 'api').env = { a: 1 };
    },
    claim: 'api/0',
    forward: ['stemcell 1.181 → 1.182', 'env changed'],
  },
];

describe('reasons: what forces a new VM is named with old → new values', () => {
  it.each(cases)('$name', ({ manifest, cloud, claim, forward, back }) => {
    const world = deployed();
    const there = plan(world, manifestWith(manifest), cloudWith(cloud));
    expect(reasonsOf(there, claim)).toEqual(forward);
    expect(instanceOf(there, claim)?.action).toBe('replace');
    if (back) {
      const edited = deployed(manifestWith(manifest), cloudWith(cloud));
      expect(reasonsOf(plan(edited, manifestWith(), cloudWith()), claim)).toEqual(back);
    }
  });
});

describe('reasons: what does not force a new VM', () => {
  const keeps: { name: string; manifest?: Edit<ManifestInput>; cloud?: Edit<CloudConfigInput> }[] = [
    {
      name: 'renaming a vm_type whose size stays the same',
      cloud: (c) => (c.vm_types[0] = { name: 'tiny', size: 'small', cloud_properties: {} }),
      manifest: (m) => (group(m, 'api').vm_type = 'tiny'),
    },
    {
      name: 'a vm_type spelled out instead of naming its preset',
      cloud: (c) =>
        (c.vm_types[0] = { name: 'small', cpus: 2, memory_mb: 2048, disk_gb: 15, cloud_properties: {} }),
    },
    {
      name: 'renaming a stemcell alias',
      manifest: (m) => {
        m.stemcells[0] = { alias: 'lts', os: 'ubuntu-jammy', version: '1.181' };
        for (const g of m.instance_groups) g.stemcell = 'lts';
      },
    },
    {
      name: 'the update policy',
      manifest: (m) =>
        (m.update = { canaries: 3, max_in_flight: '50%', vm_strategy: 'delete_create', serial: false }),
    },
    { name: 'a persistent disk size', manifest: (m) => (group(m, 'worker').persistent_disk = 20) },
    {
      name: 'an unused vm_type, size, AZ, network and disk type',
      cloud: (c) => {
        c.vm_types.push({ name: 'xl', cpus: 32, memory_mb: 65536, disk_gb: 100, cloud_properties: {} });
        (c.vm_sizes ?? {})['huge'] = { cpus: 64, memory_mb: 1, disk_gb: 1 };
        c.azs.push({ name: 'z9', cloud_properties: { zone: 'q' } });
        c.networks.push({
          name: 'dmz',
          subnets: [{ range: '192.168.0.0/24', gateway: '192.168.0.1', azs: ['z9'] }],
        });
        c.disk_types?.push({ name: 'slow', disk_gb: 100, cloud_properties: {} });
      },
    },
    {
      name: 'the gateway and reserved ranges of the subnet in use',
      cloud: (c) => {
        const s = c.networks[0]?.subnets[0];
        if (s) Object.assign(s, { gateway: '10.0.0.254', reserved: ['10.0.0.2-10.0.0.5'], dns: ['1.1.1.1'] });
      },
    },
  ];
  it.each(keeps)('$name keeps every instance', ({ manifest, cloud }) => {
    const o = plan(deployed(), manifestWith(manifest), cloudWith(cloud));
    expect(o.instances.map((i) => [i.claim, i.action, i.reasons])).toEqual(
      o.instances.map((i) => [i.claim, 'keep', []]),
    );
    expect(o.steps).toEqual([]);
  });
});

describe('reasons: the state of the VM itself', () => {
  it('a server in ERROR is a failed server (replaced with the group strategy)', () => {
    const world = deployed();
    serverOf(world.observed, recordOf(world, 'api/1').id).state = 'ERROR';
    const o = plan(world, manifestWith(), cloudWith());
    expect(instanceOf(o, 'api/1')).toMatchObject({
      action: 'replace',
      strategy: 'hot_swap',
      reasons: ['failed server'],
      destructive: true,
    });
  });

  it('a failed server that is also out of date says both', () => {
    const world = deployed();
    serverOf(world.observed, recordOf(world, 'api/1').id).state = 'ERROR';
    const o = plan(
      world,
      manifestWith((m) => (group(m, 'api').stemcell = 'next')),
      cloudWith(),
    );
    expect(reasonsOf(o, 'api/1')).toEqual(['failed server', 'stemcell 1.181 → 1.182']);
  });

  it('a vanished server is a missing VM (nothing to lose, no strategy)', () => {
    const world = deployed();
    const id = serverOf(world.observed, recordOf(world, 'api/2').id).id;
    world.observed.servers = world.observed.servers.filter((s) => s.id !== id);
    const o = plan(world, manifestWith(), cloudWith());
    expect(instanceOf(o, 'api/2')).toMatchObject({
      action: 'replace',
      strategy: null,
      reasons: ['missing VM'],
      destructive: false,
    });
  });

  it('a server whose only VM is DELETING is missing its VM, and the old one is awaited', () => {
    const world = deployed();
    serverOf(world.observed, recordOf(world, 'api/2').id).state = 'DELETING';
    const o = plan(world, manifestWith(), cloudWith());
    expect(reasonsOf(o, 'api/2')).toEqual(['missing VM (its last server is being deleted)']);
  });

  it('--recreate replaces every started instance; a list replaces only those named', () => {
    const world = deployed();
    const all = plan(world, manifestWith(), cloudWith(), { recreate: true });
    expect(all.instances.map((i) => i.reasons[0])).toEqual(all.instances.map(() => '--recreate'));
    const one = plan(world, manifestWith(), cloudWith(), {
      recreate: ['api/0', `worker/${recordOf(world, 'worker/1').id}`],
    });
    expect(one.instances.filter((i) => i.action === 'replace').map((i) => i.claim)).toEqual([
      'api/0',
      'worker/1',
    ]);
  });

  it('a fingerprint change no predicate can name still says so', () => {
    const world = deployed();
    const server = serverOf(world.observed, recordOf(world, 'api/0').id);
    delete server.tags[PLAN_TAG.spec];
    const old = server.tags[TAG.fingerprint] ?? '';
    const o = plan(
      world,
      manifestWith((m) => (group(m, 'api').env = { a: 1 })),
      cloudWith(),
    );
    expect(reasonsOf(o, 'api/0')).toHaveLength(1);
    expect(reasonsOf(o, 'api/0')[0]).toMatch(
      new RegExp(`^cloud properties changed \\(fingerprint ${old.slice(0, 8)} → [0-9a-f]{8}\\)$`),
    );
  });

  it('a server without any fingerprint says its settings are unknown', () => {
    const world = deployed();
    const server = serverOf(world.observed, recordOf(world, 'api/0').id);
    delete server.tags[PLAN_TAG.spec];
    delete server.tags[TAG.fingerprint];
    expect(reasonsOf(plan(world, manifestWith(), cloudWith()), 'api/0')).toEqual([
      'VM settings unknown (server carries no fingerprint)',
    ]);
  });
});
