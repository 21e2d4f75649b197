// The stage of the EC2 integration suites: the region (the quota ledger, as CONVERGE_CLOUD=ec2 wires
// it) and a moto holding a VPC with one subnet in each of two AZs and the stemcells' AMIs; the example
// cloud config pointed at them, and the EC2 adapter joined to the region's ledger.
import type { Ec2Compute } from '../../src/cloud/ec2';
import { GuardedLedger, joinCloud } from '../../src/cloud/ledger';
import type { Cloud } from '../../src/cloud/port';
import type { CloudConfig } from '../../src/domain/cloud-config';
import { ec2CloudConfig } from './ec2-fixtures';
import {
  ec2ComputeOf,
  makeNetwork,
  registerStemcell,
  startMoto,
  type Ec2Network,
  type MotoHandle,
} from './moto';
import { startRegion, type StartedRegion } from './region';

export interface Ec2Stage {
  region: StartedRegion;
  moto: MotoHandle;
  network: Ec2Network;
  cc: CloudConfig;
  ec2: Ec2Compute;
  cloud: Cloud;
  stop(): Promise<void>;
}

export async function startEc2Stage(stemcellVersions: readonly string[] = ['1.181']): Promise<Ec2Stage> {
  const [region, moto] = await Promise.all([startRegion(), startMoto()]);
  const network = await makeNetwork(moto.client, '10.30.0.0/16', [
    { zone: 'us-east-1a', cidr: '10.30.0.0/22' },
    { zone: 'us-east-1b', cidr: '10.30.4.0/22' },
  ]);
  for (const version of stemcellVersions)
    await registerStemcell(moto.client, { os: 'ubuntu-jammy', version });
  const ec2 = ec2ComputeOf(moto);
  return {
    region,
    moto,
    network,
    cc: ec2CloudConfig(network),
    ec2,
    cloud: joinCloud(ec2, new GuardedLedger(region.client, ec2)),
    async stop() {
      await Promise.all([region.stop(), moto.stop()]);
    },
  };
}
