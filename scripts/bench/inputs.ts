// The deployment the benchmark drives: N instances over ten groups in one stage (serial: false), so
// every group updates at once under its own canary and max_in_flight of 10%. Every other group has a
// persistent disk, so a hot_swap also moves disks. The region gets a pool and a /16 big enough for
// two 5,000-instance deployments at their hot_swap peak.
import { cloudConfigSchema, type CloudConfig } from '../../src/domain/cloud-config';
import { manifestSchema, type Manifest } from '../../src/domain/manifest';
import type { RegionConfigInput } from '../../src/region/config';

export const GROUPS = 10;
export const STEMCELL_OS = 'ubuntu-jammy';
export const OLD_STEMCELL = '1.181';
export const NEW_STEMCELL = '1.182';

export function benchManifest(name: string, instances: number, version = OLD_STEMCELL): Manifest {
  const groups = Math.min(GROUPS, instances);
  const per = Math.floor(instances / groups);
  return manifestSchema.parse({
    name,
    resource_pool: 'bench',
    stemcells: [{ alias: 'default', os: STEMCELL_OS, version }],
    update: { canaries: 1, max_in_flight: '10%', vm_strategy: 'hot_swap', serial: false },
    instance_groups: Array.from({ length: groups }, (_, g) => ({
      name: `g${g}`,
      instances: g === groups - 1 ? instances - per * (groups - 1) : per,
      azs: ['z1', 'z2', 'z3'],
      vm_type: 'small',
      stemcell: 'default',
      networks: [{ name: 'default' }],
      ...(g % 2 === 0 ? { persistent_disk: 10 } : {}),
    })),
  });
}

export const benchCloudConfig: CloudConfig = cloudConfigSchema.parse({
  azs: [
    { name: 'z1', cloud_properties: { zone: 'a' } },
    { name: 'z2', cloud_properties: { zone: 'b' } },
    { name: 'z3', cloud_properties: { zone: 'c' } },
  ],
  vm_sizes: { small: { cpus: 1, memory_mb: 1024, disk_gb: 10 } },
  vm_types: [{ name: 'small', size: 'small' }],
  networks: [
    { name: 'default', subnets: [{ range: '10.0.0.0/16', gateway: '10.0.0.1', azs: ['z1', 'z2', 'z3'] }] },
  ],
});

export const benchRegionConfig: RegionConfigInput = {
  pools: [{ name: 'bench', limits: { cpus: 1_000_000, memory_mb: 1_000_000_000, instances: 50_000 } }],
  azs: ['z1', 'z2', 'z3'],
  networks: [{ name: 'default', subnets: [{ range: '10.0.0.0/16', gateway: '10.0.0.1' }] }],
  storage_pools: [{ name: 'nfs-1', type: 'nfs', can_create: true, capacity_gb: 10_000_000 }],
  images: [
    { os: STEMCELL_OS, version: OLD_STEMCELL },
    { os: STEMCELL_OS, version: NEW_STEMCELL },
  ],
};
