// What the chaos harness deploys: three groups (30 instances by default, one group with persistent
// disks), then a hot_swap stemcell bump, then a delete_create vm_type change. Self-contained (no
// examples/ files) so that edits to the examples cannot change what a seed means.
import { cloudConfigSchema, type CloudConfig, type CloudConfigInput } from '../../src/domain/cloud-config';
import { manifestSchema, type Manifest, type ManifestInput } from '../../src/domain/manifest';
import { crossProblems } from '../../src/domain/validate';
import type { RegionConfigInput } from '../../src/region/config';

/** A region with room for every run of a full harness: runs leave their deployments in place. */
export const REGION_CONFIG: RegionConfigInput = {
  pools: [{ name: 'chaos', limits: { cpus: 1_000_000, memory_mb: 1_000_000_000, instances: 100_000 } }],
  azs: ['z1', 'z2', 'z3'],
  networks: [
    {
      name: 'default',
      subnets: [{ range: '10.0.0.0/16', gateway: '10.0.0.1', static: ['10.0.0.2-10.0.0.255'] }],
    },
  ],
  storage_pools: [{ name: 'lvm-1', type: 'lvm', can_create: true, capacity_gb: 10_000_000 }],
  images: [
    { os: 'ubuntu-jammy', version: '1.181' },
    { os: 'ubuntu-jammy', version: '1.182' },
  ],
};

const CLOUD_CONFIG: CloudConfigInput = {
  azs: [
    { name: 'z1', cloud_properties: { zone: 'a' } },
    { name: 'z2', cloud_properties: { zone: 'b' } },
  ],
  vm_sizes: {
    small: { cpus: 2, memory_mb: 2048, disk_gb: 15 },
    medium: { cpus: 4, memory_mb: 4096, disk_gb: 30 },
  },
  vm_types: [
    { name: 'small', size: 'small', cloud_properties: {} },
    { name: 'medium', size: 'medium', cloud_properties: {} },
  ],
  disk_types: [],
  networks: [
    // The region's whole network: runs leave their deployments in place, more VMs than a /24 holds.
    { name: 'default', subnets: [{ range: '10.0.0.0/16', gateway: '10.0.0.1', azs: ['z1', 'z2'] }] },
  ],
};

export interface Step {
  label: string;
  manifest: Manifest;
}

export interface Workload {
  cloudConfig: CloudConfig;
  baseline: Manifest;
  /** The operations chaos is applied to, in order. */
  steps: Step[];
}

/** `instances` is split over three groups (api, web, worker; worker has 10 GiB persistent disks). */
export function workload(name: string, instances = 30): Workload {
  const sizes = splitInThree(instances);
  const base = (version: string, vmType: string, strategy: 'hot_swap' | 'delete_create'): Manifest => {
    const m: ManifestInput = {
      name,
      resource_pool: 'chaos',
      stemcells: [{ alias: 'default', os: 'ubuntu-jammy', version }],
      // Builds fail one time in five under CHAOS_FAULTS (ERROR or stuck): the default budget of 3
      // failed builds would end a deploy now and then (0.2^3 per VM); the chaos cloud is flaky, not broken.
      update: {
        canaries: 1,
        max_in_flight: 5,
        vm_strategy: strategy,
        serial: false,
        max_failed_builds: 12,
      },
      instance_groups: (['api', 'web', 'worker'] as const).map((group, i) => ({
        name: group,
        instances: sizes[i] ?? 0,
        azs: ['z1', 'z2'],
        vm_type: vmType,
        stemcell: 'default',
        networks: [{ name: 'default' }],
        ...(group === 'worker' ? { persistent_disk: 10 } : {}),
      })),
    };
    return manifestSchema.parse(m);
  };
  const cloudConfig = cloudConfigSchema.parse(CLOUD_CONFIG);
  const w: Workload = {
    cloudConfig,
    baseline: base('1.181', 'small', 'hot_swap'),
    steps: [
      { label: 'hot_swap stemcell 1.181 → 1.182', manifest: base('1.182', 'small', 'hot_swap') },
      { label: 'delete_create vm_type small → medium', manifest: base('1.182', 'medium', 'delete_create') },
    ],
  };
  for (const m of [w.baseline, ...w.steps.map((s) => s.manifest)]) {
    const problems = crossProblems(m, cloudConfig);
    if (problems.length)
      throw new Error(`chaos workload is invalid: ${problems.map((p) => p.message).join('; ')}`);
  }
  return w;
}

function splitInThree(n: number): number[] {
  const each = Math.floor(n / 3);
  return [each + (n % 3 > 0 ? 1 : 0), each + (n % 3 > 1 ? 1 : 0), each];
}
