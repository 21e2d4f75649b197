// inputWarnings: each case changes one input of the baseline and expects exactly one warning (the
// baseline itself has none), so a warning can neither go missing nor fire for an unrelated reason.
import { describe, expect, it } from 'vitest';
import type { CloudConfigInput } from '../../../src/domain/cloud-config';
import type { ManifestInput } from '../../../src/domain/manifest';
import { dynamicAddresses, inputWarnings } from '../../../src/planner/advice';
import { patent } from '../../../src/planner/index';
import { cloudWith, group, manifestWith, type Edit } from './baseline';

function warnings(m: Edit<ManifestInput> = () => {}, c: Edit<CloudConfigInput> = () => {}): string[] {
  const manifest = manifestWith(m);
  const cloud = cloudWith(c);
  return inputWarnings(manifest, cloud, patent(manifest, cloud, [], { defaultStrategy: 'hot_swap' }));
}

describe('inputWarnings', () => {
  it('the baseline has none', () => {
    expect(warnings()).toEqual([]);
  });

  const cases: { name: string; m?: Edit<ManifestInput>; c?: Edit<CloudConfigInput>; warning: string }[] = [
    {
      name: 'a persistent_disk in BOSH megabytes',
      m: (d) => void (group(d, 'worker').persistent_disk = 10240),
      warning:
        "worker: persistent_disk 10240 is 10240 GB per instance (about 10.0 TB); BOSH's persistent_disk is MB: for 10 GB write 10",
    },
    {
      name: 'a disk type in BOSH megabytes',
      c: (d) => void (d.disk_types = [{ name: 'fast', disk_gb: 20480, cloud_properties: {} }]),
      warning:
        "disk_types fast: disk_gb 20480 is about 20.0 TB; BOSH's disk_size is MB, Converge's disk_gb is GB",
    },
    {
      name: 'more canaries than instances',
      m: (d) => void (group(d, 'db').update = { canaries: 2 }),
      warning:
        'db: canaries 2 > instances 1: the whole group is canaries, so no instance is updated only after a canary has proven the change',
    },
    {
      name: 'fewer static IPs than instances',
      m: (d) => void (group(d, 'db').instances = 3),
      warning: 'db: 3 instances but 1 static IP on network default: db/1, db/2 get a dynamic IP',
    },
    {
      name: 'a subnet too small for its instances',
      c: (d) => {
        const s = d.networks[0]?.subnets[0];
        if (s) s.reserved = ['10.0.0.2-10.0.0.9', '10.0.0.31-10.0.0.253'];
      },
      warning:
        'network default subnet 10.0.0.0/24: 5 instances need a dynamic IP, it has 1 (range minus gateway, reserved and static)',
    },
    {
      name: 'a subnet filled exactly: a hot_swap has no room',
      c: (d) => {
        const s = d.networks[0]?.subnets[0];
        if (s) s.reserved = ['10.0.0.2-10.0.0.9', '10.0.0.31-10.0.0.249'];
      },
      warning:
        'network default subnet 10.0.0.0/24: 5 instances fill 5 dynamic IPs; a hot_swap needs 2 more while it runs',
    },
  ];

  it.each(cases)('$name', ({ m, c, warning }) => {
    expect(warnings(m, c)).toEqual([warning]);
  });
});

describe('dynamicAddresses', () => {
  const subnet = (reserved: string[], stat: string[] = []) => ({
    range: '10.0.0.0/24',
    gateway: '10.0.0.1',
    azs: ['z1'],
    reserved,
    static: stat,
    cloud_properties: {},
  });
  it('a /24 has 254 hosts, one of them the gateway', () => {
    expect(dynamicAddresses(subnet([]))).toBe(253);
  });
  it('overlapping reserved and static ranges count once', () => {
    expect(dynamicAddresses(subnet(['10.0.0.2-10.0.0.20'], ['10.0.0.10-10.0.0.30']))).toBe(253 - 29);
  });
  it('a reserved range larger than the subnet is clipped to it', () => {
    expect(dynamicAddresses(subnet(['10.0.0.0-10.255.255.255']))).toBe(0);
  });
});
