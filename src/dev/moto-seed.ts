// What `converge dev up --cloud ec2` puts into its local moto so the examples deploy there: a VPC
// with one subnet per example AZ (the example cloud config's ranges) and an AMI per example stemcell,
// tagged as the adapter looks for stemcells. Idempotent: a second `up` finds the tagged VPC and AMIs.
// Then the example cloud config is written with the ids of these subnets.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { registerStemcellImage, STEMCELL_TAG } from '../cloud/ec2';
import { DEV_EC2 } from './dev-ec2';

const SEED_TAG = 'converge.dev';
/** The example cloud config's subnets: placeholder id → where the subnet goes in moto. */
const SUBNETS = [
  { placeholder: 'subnet-0a1b2c3d', zone: 'us-east-1a', cidr: '10.0.0.0/24' },
  { placeholder: 'subnet-4e5f6a7b', zone: 'us-east-1b', cidr: '10.0.1.0/24' },
] as const;
/** The stemcells of examples/manifest.yml and manifest-v2.yml. */
const STEMCELLS = [
  { os: 'ubuntu-jammy', version: '1.181' },
  { os: 'ubuntu-jammy', version: '1.182' },
] as const;

/** Seeds moto at `url` and writes the example EC2 cloud config for it; answers the file's path. */
export async function seedMoto(url: string, root: string, dir: string): Promise<string> {
  // As the worker does (cloud/ec2/index.ts): Node 20 is the pin; the SDK's Node 22 notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new EC2Client({
    region: DEV_EC2.region,
    endpoint: url,
    credentials: { accessKeyId: DEV_EC2.accessKeyId, secretAccessKey: DEV_EC2.secretAccessKey },
  });
  try {
    const ids = await subnets(client);
    for (const s of STEMCELLS) await stemcell(client, s);
    let text = readFileSync(join(root, 'examples', 'cloud-config-ec2.yml'), 'utf8');
    SUBNETS.forEach((s, i) => (text = text.replace(s.placeholder, ids[i] ?? s.placeholder)));
    const path = join(dir, 'cloud-config-ec2.yml');
    writeFileSync(path, `# Written by \`converge dev up --cloud ec2\` for its moto.\n${text}`);
    return path;
  } finally {
    client.destroy();
  }
}

async function subnets(client: EC2Client): Promise<string[]> {
  const found = await client.send(
    new DescribeVpcsCommand({ Filters: [{ Name: `tag:${SEED_TAG}`, Values: ['seed'] }] }),
  );
  let vpcId = found.Vpcs?.[0]?.VpcId;
  if (vpcId === undefined) {
    const made = await client.send(
      new CreateVpcCommand({
        CidrBlock: '10.0.0.0/16',
        TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: SEED_TAG, Value: 'seed' }] }],
      }),
    );
    vpcId = made.Vpc?.VpcId ?? '';
  }
  const existing = await client.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
  );
  const ids: string[] = [];
  for (const s of SUBNETS) {
    const have = existing.Subnets?.find((x) => x.CidrBlock === s.cidr)?.SubnetId;
    if (have !== undefined) {
      ids.push(have);
      continue;
    }
    const made = await client.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: s.cidr, AvailabilityZone: s.zone }),
    );
    ids.push(made.Subnet?.SubnetId ?? '');
  }
  return ids;
}

async function stemcell(client: EC2Client, image: { os: string; version: string }): Promise<void> {
  const found = await client.send(
    new DescribeImagesCommand({
      Filters: [
        { Name: `tag:${STEMCELL_TAG.os}`, Values: [image.os] },
        { Name: `tag:${STEMCELL_TAG.version}`, Values: [image.version] },
      ],
    }),
  );
  if ((found.Images ?? []).length === 0) await registerStemcellImage(client, image);
}
