// The shared baseline for planner specs: a deployment "web" with three groups, deployed once into a
// simulated cloud. Each spec case changes one input of this baseline and re-plans.
import { cloudConfigSchema, type CloudConfig, type CloudConfigInput } from '../../../src/domain/cloud-config';
import type { Observed } from '../../../src/domain/cloud';
import type { InstanceRecord } from '../../../src/domain/instance';
import { manifestSchema, type Manifest, type ManifestInput } from '../../../src/domain/manifest';
import { dynamicAddresses, embodiment, patent, placementsFor, reconcile } from '../../../src/planner/index';
import type { Obligation, ReconcileOptions } from '../../../src/planner/types';
import { emptyObserved, enact, type World } from '../../support/simulator';

export const baseCloud = (): CloudConfigInput => ({
  azs: [
    { name: 'z1', cloud_properties: { zone: 'a' } },
    { name: 'z2', cloud_properties: { zone: 'b' } },
    { name: 'z3', cloud_properties: { zone: 'c' } },
  ],
  vm_sizes: {
    small: { cpus: 2, memory_mb: 2048, disk_gb: 15 },
    medium: { cpus: 4, memory_mb: 4096, disk_gb: 30 },
  },
  vm_types: [
    { name: 'small', size: 'small', cloud_properties: {} },
    { name: 'medium', size: 'medium', cloud_properties: {} },
    { name: 'large', cpus: 8, memory_mb: 16384, disk_gb: 60, cloud_properties: {} },
  ],
  disk_types: [{ name: 'fast', disk_gb: 10, cloud_properties: { pool_type: 'lvm' } }],
  networks: [
    {
      name: 'default',
      subnets: [
        {
          range: '10.0.0.0/24',
          gateway: '10.0.0.1',
          azs: ['z1', 'z2'],
          reserved: ['10.0.0.2-10.0.0.9'],
          static: ['10.0.0.10-10.0.0.30'],
        },
        { range: '10.0.1.0/24', gateway: '10.0.1.1', azs: ['z3'], static: ['10.0.1.10-10.0.1.30'] },
      ],
    },
    { name: 'backend', subnets: [{ range: '10.1.0.0/24', gateway: '10.1.0.1', azs: ['z1', 'z2', 'z3'] }] },
  ],
});

export const baseManifest = (): ManifestInput => ({
  name: 'web',
  resource_pool: 'dev',
  stemcells: [
    { alias: 'default', os: 'ubuntu-jammy', version: '1.181' },
    { alias: 'next', os: 'ubuntu-jammy', version: '1.182' },
  ],
  update: { canaries: 1, max_in_flight: 2, vm_strategy: 'hot_swap', serial: true },
  instance_groups: [
    {
      name: 'api',
      instances: 3,
      azs: ['z1', 'z2'],
      vm_type: 'small',
      stemcell: 'default',
      networks: [{ name: 'default' }],
      env: {},
    },
    {
      name: 'worker',
      instances: 2,
      azs: ['z1', 'z2'],
      vm_type: 'medium',
      stemcell: 'default',
      networks: [{ name: 'default' }],
      persistent_disk: 10,
    },
    {
      name: 'db',
      instances: 1,
      azs: ['z1'],
      vm_type: 'medium',
      stemcell: 'default',
      networks: [{ name: 'default', static_ips: ['10.0.0.10'] }],
      persistent_disk_type: 'fast',
    },
  ],
});

export type Edit<T> = (draft: T) => void;

export function manifestWith(edit: Edit<ManifestInput> = () => {}): Manifest {
  const draft = baseManifest();
  edit(draft);
  return manifestSchema.parse(draft);
}

export function cloudWith(edit: Edit<CloudConfigInput> = () => {}): CloudConfig {
  const draft = baseCloud();
  edit(draft);
  return cloudConfigSchema.parse(draft);
}

/** A group of the baseline manifest by name (throws if absent: a broken spec, not a broken planner). */
export function group(m: ManifestInput, name: string): ManifestInput['instance_groups'][number] {
  const g = m.instance_groups.find((x) => x.name === name);
  if (!g) throw new Error(`no group ${name}`);
  return g;
}

export const options = (extra: Partial<ReconcileOptions> = {}): ReconcileOptions => ({
  defaultStrategy: 'delete_create',
  operationSeq: 1,
  operationId: 'op-1',
  ...extra,
});

/** Plan manifest + cloud config against a world, the way the operation workflow does. */
export function plan(
  world: World,
  m: Manifest,
  cc: CloudConfig,
  extra: Partial<ReconcileOptions> = {},
): Obligation {
  const p = patent(m, cc, placementsFor(m, world.records));
  return reconcile(p, embodiment(m.name, world.observed, world.records), {
    dynamicAddresses: dynamicAddresses(cc),
    ...options(extra),
  });
}

/** Deploy into an empty cloud and enact everything: the converged starting point of each case. */
export function deployed(
  m: Manifest = manifestWith(),
  cc: CloudConfig = cloudWith(),
  from: World = { observed: emptyObserved(), records: [] },
): World {
  const o = plan(from, m, cc, { operationSeq: 1 });
  return enact(from.observed, o, o.steps);
}

/** Re-plan after enacting: the law says this is empty. */
export function planAfter(
  world: World,
  o: Obligation,
  m: Manifest,
  cc: CloudConfig,
  seq = 2,
): { world: World; again: Obligation } {
  const next = enact(world.observed, o);
  return { world: next, again: plan(next, m, cc, { operationSeq: seq }) };
}

export const instanceOf = (o: Obligation, claim: string) => o.instances.find((i) => i.claim === claim);
export const reasonsOf = (o: Obligation, claim: string): string[] => instanceOf(o, claim)?.reasons ?? [];
export const kindsOf = (o: Obligation, unit: string): string[] =>
  o.steps.filter((s) => s.unit === unit).map((s) => s.kind);

export function recordOf(world: World, claim: string): InstanceRecord {
  const [g, i] = claim.split('/');
  const r = world.records.find((x) => x.group === g && String(x.index) === i);
  if (!r) throw new Error(`no record for ${claim}`);
  return r;
}

export function serverOf(observed: Observed, instanceId: string) {
  const s = observed.servers.find((x) => x.tags['converge.instance'] === instanceId);
  if (!s) throw new Error(`no server for ${instanceId}`);
  return s;
}
