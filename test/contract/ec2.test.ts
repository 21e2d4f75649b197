// The compute contract against the EC2 adapter on a real EC2 API server (moto), with the region's
// quota ledger guarded by EC2 (src/cloud/ledger.ts), as `CONVERGE_CLOUD=ec2` wires it.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe } from 'vitest';
import { GuardedLedger, joinCloud } from '../../src/cloud/ledger';
import type { Cloud } from '../../src/cloud/port';
import {
  ec2ComputeOf,
  makeNetwork,
  motoForFile,
  registerStemcell,
  SKIP_MOTO,
  type Ec2Network,
} from '../support/moto';
import { regionForFile } from '../support/region';
import { computeContract } from './cases';

const IMAGE = { os: 'ubuntu-jammy', version: '1.182' };

describe.skipIf(SKIP_MOTO)('compute contract: ec2 (moto)', () => {
  const region = regionForFile();
  const m = motoForFile();
  let network: Ec2Network;
  beforeAll(async () => {
    network = await makeNetwork(m.moto.client, '10.20.0.0/16', [
      { zone: 'us-east-1a', cidr: '10.20.1.0/24' },
    ]);
    await registerStemcell(m.moto.client, IMAGE);
  });
  const cloudWith = (pageSize?: number): Cloud => {
    const ec2 = ec2ComputeOf(m.moto, pageSize === undefined ? {} : { pageSize });
    return joinCloud(ec2, new GuardedLedger(region.client, ec2));
  };

  computeContract({
    cloud: () => cloudWith(),
    pagedCloud: (pageSize) => cloudWith(pageSize),
    request: (tags, overrides = {}) => ({
      name: 'contract-0',
      cpus: 1,
      memory_mb: 512,
      disk_gb: 5,
      image: IMAGE,
      az: 'z1',
      network: 'default',
      tags,
      idempotency_key: `contract/${randomUUID()}`,
      cloud_properties: {
        vm_type: { instance_type: 't3.micro' },
        az: { availability_zone: 'us-east-1a' },
        subnet: { subnet_id: network.subnets[0]?.id ?? '' },
      },
      ...overrides,
    }),
    volumePool: 'gp3',
    quotaPool: 'dev',
    staticIps: ['10.20.1.200', '10.20.1.201'],
    // EC2 keeps the first four and the last address of a range; moto hands others out from the bottom.
    smallSubnet: {
      range: '10.20.1.224/28',
      reserved: ['10.20.1.228-10.20.1.231'],
      static: ['10.20.1.236-10.20.1.238'],
    },
    absentServerId: 'i-0123456789abcdef0',
  });
});
