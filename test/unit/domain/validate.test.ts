// Cross-reference and consistency rules, each as one change to the valid example deployment.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CloudConfig } from '../../../src/domain/cloud-config';
import { ValidationError, type Problem } from '../../../src/domain/errors';
import {
  parseCloudConfig,
  parseCloudConfigDocument,
  parseManifest,
  parseManifestDocument,
} from '../../../src/domain/load';
import type { InstanceGroup, Manifest } from '../../../src/domain/manifest';
import { checkDeployment, deploymentProblems, validateDeployment } from '../../../src/domain/validate';

const manifestText = readFileSync('examples/manifest.yml', 'utf8');
const cloudConfigText = readFileSync('examples/cloud-config.yml', 'utf8');
const baseManifest = (): Manifest => parseManifest(manifestText);
const baseCloudConfig = (): CloudConfig => parseCloudConfig(cloudConfigText);

function group(m: Manifest, name: string): InstanceGroup {
  const found = m.instance_groups.find((g) => g.name === name);
  if (found === undefined) throw new Error(`no group ${name} in the example`);
  return found;
}

const subnet = (c: CloudConfig) => {
  const s = c.networks[0]?.subnets[0];
  if (s === undefined) throw new Error('example has a subnet');
  return s;
};

type Case = [string, (m: Manifest, c: CloudConfig) => void, [string, string, string | null][]];

function problemsAfter(change: (m: Manifest, c: CloudConfig) => void): Problem[] {
  const m = baseManifest();
  const c = baseCloudConfig();
  change(m, c);
  return deploymentProblems(m, c, { manifest: 'm.yml', cloudConfig: 'c.yml' });
}

describe('the example deployment', () => {
  it('is valid', () => {
    expect(() => validateDeployment(baseManifest(), baseCloudConfig())).not.toThrow();
  });
});

describe('references from the manifest into the cloud config', () => {
  it.each<Case>([
    [
      'an unknown vm_type, with a hint',
      (m) => (group(m, 'api').vm_type = 'smal'),
      [
        [
          'instance_groups[0].vm_type',
          "unknown vm_type 'smal' (expected one of: small, medium, large)",
          "did you mean 'small'?",
        ],
      ],
    ],
    [
      'an AZ the cloud config lacks',
      (m) => (group(m, 'db').azs = ['z9']),
      [['instance_groups[2].azs[0]', "unknown AZ 'z9' (expected one of: z1, z2)", null]],
    ],
    [
      'an unknown network',
      (m) => (group(m, 'worker').networks = [{ name: 'private' }]),
      [['instance_groups[1].networks[0].name', "unknown network 'private' (expected one of: default)", null]],
    ],
    [
      'an unknown persistent_disk_type',
      (m) => (group(m, 'db').persistent_disk_type = 'slow'),
      [['instance_groups[2].persistent_disk_type', "unknown disk_type 'slow' (expected one of: fast)", null]],
    ],
    [
      'a network with no subnet in one of the group’s AZs',
      (_m, c) => (subnet(c).azs = ['z1']),
      [
        ['instance_groups[0].networks[0].name', "network 'default' has no subnet in AZ 'z2'", null],
        ['instance_groups[1].networks[0].name', "network 'default' has no subnet in AZ 'z2'", null],
      ],
    ],
    [
      'a static IP outside the static range',
      (m) => (group(m, 'db').networks = [{ name: 'default', static_ips: ['10.0.0.200'] }]),
      [
        [
          'instance_groups[2].networks[0].static_ips[0]',
          "static IP 10.0.0.200 is outside the static ranges of network 'default' (10.0.0.10-10.0.0.30)",
          null,
        ],
      ],
    ],
    [
      'a static IP in a subnet that serves none of the group’s AZs',
      (m, c) => {
        c.networks[0]?.subnets.push({
          range: '10.0.1.0/24',
          gateway: '10.0.1.1',
          azs: ['z2'],
          reserved: [],
          static: ['10.0.1.10-10.0.1.20'],
          cloud_properties: {},
        });
        group(m, 'db').networks = [{ name: 'default', static_ips: ['10.0.1.10'] }];
      },
      [
        [
          'instance_groups[2].networks[0].static_ips[0]',
          "static IP 10.0.1.10 belongs to a subnet of network 'default' in AZs z2, not this group's AZs (z1)",
          null,
        ],
      ],
    ],
  ])('%s', (_name, change, expected) => {
    expect(problemsAfter(change).map((p) => [p.path, p.message, p.hint])).toEqual(expected);
  });
});

describe('the manifest on its own', () => {
  it.each<Case>([
    [
      'two groups with one name',
      (m) => (group(m, 'db').name = 'api'),
      [
        [
          'instance_groups[2].name',
          "duplicate instance group name 'api' (already defined at instance_groups[0].name)",
          null,
        ],
      ],
    ],
    [
      'two stemcells with one alias',
      (m) => m.stemcells.push({ alias: 'default', os: 'ubuntu-noble', version: '1.0' }),
      [
        [
          'stemcells[1].alias',
          "duplicate stemcell alias 'default' (already defined at stemcells[0].alias)",
          null,
        ],
      ],
    ],
    [
      'an unknown stemcell alias',
      (m) => (group(m, 'api').stemcell = 'jammy'),
      [['instance_groups[0].stemcell', "unknown stemcell alias 'jammy' (expected one of: default)", null]],
    ],
    [
      'both persistent_disk and persistent_disk_type',
      (m) => (group(m, 'db').persistent_disk = 5),
      [
        [
          'instance_groups[2].persistent_disk_type',
          "set either persistent_disk (5 GiB) or persistent_disk_type ('fast'), not both",
          null,
        ],
      ],
    ],
    [
      'more static IPs than instances',
      (m) => (group(m, 'db').networks = [{ name: 'default', static_ips: ['10.0.0.10', '10.0.0.11'] }]),
      [
        [
          'instance_groups[2].instances',
          "1 instance but 2 static IPs on network 'default' (instances must be at least the number of static IPs)",
          null,
        ],
      ],
    ],
    [
      'a malformed static IP',
      (m) => (group(m, 'db').networks = [{ name: 'default', static_ips: ['10.0.0'] }]),
      [
        [
          'instance_groups[2].networks[0].static_ips[0]',
          "expected an IPv4 address such as 10.0.0.10, found '10.0.0'",
          null,
        ],
      ],
    ],
    [
      'one static IP in two groups',
      (m) => (group(m, 'worker').networks = [{ name: 'default', static_ips: ['10.0.0.10'] }]),
      [
        [
          'instance_groups[2].networks[0].static_ips[0]',
          'static IP 10.0.0.10 is already used by instance_groups[1].networks[0].static_ips[0]',
          null,
        ],
      ],
    ],
    [
      'an AZ listed twice in a group',
      (m) => (group(m, 'api').azs = ['z1', 'z2', 'z1']),
      [['instance_groups[0].azs[2]', "AZ 'z1' is listed twice", null]],
    ],
    [
      'migrated_from naming a group that still exists',
      (m) => (group(m, 'db').migrated_from = [{ name: 'worker' }]),
      [
        [
          'instance_groups[2].migrated_from[0].name',
          "'worker' is a current instance group; migrated_from names a group that no longer exists in the manifest",
          null,
        ],
      ],
    ],
    [
      'one old group adopted by two groups',
      (m) => {
        group(m, 'api').migrated_from = [{ name: 'legacy' }];
        group(m, 'worker').migrated_from = [{ name: 'legacy' }];
      },
      [
        [
          'instance_groups[1].migrated_from[0].name',
          "old group 'legacy' is already migrated into instance_groups[0] ('api'); one old group can move into one new group only",
          null,
        ],
      ],
    ],
  ])('%s', (_name, change, expected) => {
    expect(problemsAfter(change).map((p) => [p.path, p.message, p.hint])).toEqual(expected);
  });

  it.each<[string, (m: Manifest) => void]>([
    [
      'a rename from a group no longer in the manifest',
      (m) => (group(m, 'api').migrated_from = [{ name: 'api-old' }]),
    ],
    ['a group naming itself in migrated_from', (m) => (group(m, 'api').migrated_from = [{ name: 'api' }])],
    [
      'as many instances as static IPs',
      (m) => (group(m, 'db').networks = [{ name: 'default', static_ips: ['10.0.0.10'] }]),
    ],
    ['more instances than static IPs', (m) => (group(m, 'db').instances = 3)],
    ['zero instances', (m) => (group(m, 'api').instances = 0)],
  ])('accepts %s', (_name, change) => {
    expect(problemsAfter((m) => change(m))).toEqual([]);
  });
});

describe('the cloud config on its own', () => {
  it.each<Case>([
    [
      'two AZs with one name',
      (_m, c) => c.azs.push({ name: 'z2', cloud_properties: {} }),
      [['azs[2].name', "duplicate AZ name 'z2' (already defined at azs[1].name)", null]],
    ],
    [
      'two networks with one name',
      (_m, c) => c.networks.push({ name: 'default', subnets: [subnet(c)] }),
      [['networks[1].name', "duplicate network name 'default' (already defined at networks[0].name)", null]],
    ],
    [
      'a subnet in an unknown AZ',
      (_m, c) => (subnet(c).azs = ['z1', 'z2', 'zz']),
      [['networks[0].subnets[0].azs[2]', "unknown AZ 'zz' (expected one of: z1, z2)", null]],
    ],
    [
      'a vm_type with neither size nor explicit values',
      (_m, c) => c.vm_types.push({ name: 'xl', cloud_properties: {} }),
      [['vm_types[3].size', "vm_type 'xl' needs a size preset or cpus, memory_mb and disk_gb", null]],
    ],
    [
      'a vm_type with only some explicit values',
      (_m, c) => c.vm_types.push({ name: 'xl', cpus: 4, cloud_properties: {} }),
      [
        [
          'vm_types[3].memory_mb',
          "vm_type 'xl' gives cpus but not memory_mb, disk_gb (explicit sizes need all three)",
          null,
        ],
      ],
    ],
    [
      'a vm_type with an unknown size preset',
      (_m, c) => c.vm_types.push({ name: 'xl', size: 'smalll', cloud_properties: {} }),
      [
        [
          'vm_types[3].size',
          "unknown vm_sizes preset 'smalll' (expected one of: small, medium)",
          "did you mean 'small'?",
        ],
      ],
    ],
    [
      'a gateway outside the range',
      (_m, c) => (subnet(c).gateway = '10.1.0.1'),
      [['networks[0].subnets[0].gateway', 'gateway 10.1.0.1 is outside the subnet range 10.0.0.0/24', null]],
    ],
    [
      'a gateway that is the network address',
      (_m, c) => (subnet(c).gateway = '10.0.0.0'),
      [['networks[0].subnets[0].gateway', 'gateway 10.0.0.0 is outside the subnet range 10.0.0.0/24', null]],
    ],
    [
      'a reserved range reaching past the subnet',
      (_m, c) => (subnet(c).reserved = ['10.0.0.250-10.0.1.9']),
      [
        [
          'networks[0].subnets[0].reserved[0]',
          "reserved '10.0.0.250-10.0.1.9' is outside the subnet range 10.0.0.0/24",
          null,
        ],
      ],
    ],
    [
      'a static range that includes the gateway',
      (_m, c) => (subnet(c).static = ['10.0.0.1', '10.0.0.10-10.0.0.30']),
      [['networks[0].subnets[0].static[0]', "static '10.0.0.1' includes the gateway 10.0.0.1", null]],
    ],
  ])('%s', (_name, change, expected) => {
    const problems = problemsAfter(change);
    expect(problems.map((p) => [p.path, p.message, p.hint])).toEqual(expected);
    expect(problems.every((p) => p.source === 'c.yml')).toBe(true);
  });
});

describe('validateDeployment and checkDeployment', () => {
  it('validateDeployment throws one ValidationError with every problem, without lines', () => {
    const m = baseManifest();
    group(m, 'api').vm_type = 'tiny';
    group(m, 'db').persistent_disk_type = 'slow';
    let thrown: unknown;
    try {
      validateDeployment(m, baseCloudConfig());
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const problems = (thrown as ValidationError).problems;
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['instance_groups[0].vm_type', null],
      ['instance_groups[2].persistent_disk_type', null],
    ]);
  });

  it('checkDeployment places each problem at its line in its own file', () => {
    const manifest = parseManifestDocument(manifestText.replace('vm_type: small', 'vm_type: tiny'), 'm.yml');
    const cloudConfig = parseCloudConfigDocument(cloudConfigText, 'c.yml');
    let thrown: unknown;
    try {
      checkDeployment(manifest, cloudConfig);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).message).toBe(
      "m.yml:17:14 instance_groups[0].vm_type: unknown vm_type 'tiny' (expected one of: small, medium, large)",
    );
  });
});
