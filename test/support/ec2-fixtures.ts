// A cloud config for EC2 (moto) and the example manifest pointed at it: two AZs, a subnet in each,
// instance types, a gp3 disk type, and db's static IP inside the z1 subnet.
import { cloudConfigSchema, type CloudConfig } from '../../src/domain/cloud-config';
import type { Manifest } from '../../src/domain/manifest';
import { exampleInputs } from './fixtures';
import type { Ec2Network } from './moto';

export function ec2CloudConfig(network: Ec2Network): CloudConfig {
  const [a, b] = network.subnets;
  return cloudConfigSchema.parse({
    azs: [
      { name: 'z1', cloud_properties: { availability_zone: a?.zone } },
      { name: 'z2', cloud_properties: { availability_zone: b?.zone } },
    ],
    vm_types: [
      {
        name: 'small',
        cpus: 2,
        memory_mb: 2048,
        disk_gb: 15,
        cloud_properties: { instance_type: 't3.small' },
      },
      {
        name: 'medium',
        cpus: 2,
        memory_mb: 4096,
        disk_gb: 30,
        cloud_properties: { instance_type: 't3.medium' },
      },
    ],
    disk_types: [{ name: 'fast', disk_gb: 10, cloud_properties: { volume_type: 'gp3' } }],
    networks: [
      {
        name: 'default',
        subnets: [
          {
            range: a?.cidr,
            gateway: '10.30.0.1',
            azs: ['z1'],
            reserved: ['10.30.0.2-10.30.0.9'],
            static: ['10.30.0.10-10.30.0.30'],
            cloud_properties: { subnet_id: a?.id },
          },
          {
            range: b?.cidr,
            gateway: '10.30.4.1',
            azs: ['z2'],
            reserved: ['10.30.4.2-10.30.4.9'],
            cloud_properties: { subnet_id: b?.id },
          },
        ],
      },
    ],
  });
}

/** The example manifest (api ×3, worker ×2 with disks, db ×1 with a static IP and a disk) on `version`. */
export function ec2Manifest(name: string, version: string): Manifest {
  const { manifest } = exampleInputs();
  const m: Manifest = structuredClone({ ...manifest, name });
  for (const s of m.stemcells) s.version = version;
  for (const g of m.instance_groups)
    for (const n of g.networks) if (n.static_ips !== undefined) n.static_ips = ['10.30.0.10'];
  return m;
}
