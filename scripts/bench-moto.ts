// What one EC2 read costs moto as its instance count grows (`npm run bench:moto [-- 100,500,1000]`):
// the calls the adapter makes, each timed alone (median of 5, nothing else in flight) as moto holds
// more instances, each with the ten tags the adapter gives one. Tells the fake's cost from the
// director's (bench/README.md, "EC2 on moto").
import {
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  RunInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerStemcellImage } from '../src/cloud/ec2';
import { ec2Client, makeNetwork, startMotoServer } from './moto-server';

const DEPLOYMENT = 'moto-cost';
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'] as const;
const LIVE = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
const REPEAT = 5;

interface Made {
  id: string;
  key: string;
  allocation: string;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dir = mkdtempSync(join(tmpdir(), 'converge-moto-cost-'));
  const moto = await startMotoServer({ cwd: dir });
  const client = ec2Client(moto.url);
  try {
    const { subnets } = await makeNetwork(
      client,
      '10.40.0.0/16',
      ZONES.map((zone, i) => ({ zone, cidr: `10.40.${i * 16}.0/20` })),
    );
    const imageId = await registerStemcellImage(client, { os: 'ubuntu-jammy', version: '1.0' });
    const made: Made[] = [];
    const grow = async (to: number): Promise<void> => {
      const t0 = performance.now();
      const from = made.length;
      // Four creates at a time, each like the adapter's: one instance, its tags, an interface.
      for (let i = from; i < to; i += 4) {
        const batch = Array.from({ length: Math.min(4, to - i) }, (_, j) => i + j);
        made.push(...(await Promise.all(batch.map((k) => run(client, imageId, subnets, k)))));
      }
      process.stderr.write(
        `  ${to - from} RunInstances in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
      );
    };
    const rows: string[] = [];
    const measure = async (label: string): Promise<void> => {
      const live = made;
      const one = live[Math.floor(live.length / 2)] ?? live[0];
      if (!one) return;
      const ids200 = live.slice(0, 200).map((m) => m.id);
      const ms = {
        list: await median(() =>
          instances(client, [
            { Name: 'tag:converge.deployment', Values: [DEPLOYMENT] },
            { Name: 'instance-state-name', Values: LIVE },
          ]),
        ),
        key: await median(() => instances(client, [{ Name: 'tag:converge.ec2.key', Values: [one.key] }])),
        allocation: await median(() =>
          instances(client, [
            { Name: 'tag:converge.allocation', Values: [one.allocation] },
            { Name: 'instance-state-name', Values: LIVE },
          ]),
        ),
        id1: await median(() =>
          instances(client, [
            { Name: 'instance-id', Values: [one.id] },
            { Name: 'instance-state-name', Values: LIVE },
          ]),
        ),
        id200: await median(() =>
          instances(client, [
            { Name: 'instance-id', Values: ids200 },
            { Name: 'instance-state-name', Values: LIVE },
          ]),
        ),
        status1: await median(() =>
          client.send(new DescribeInstanceStatusCommand({ InstanceIds: [one.id] })),
        ),
        eni: await median(() =>
          client.send(
            new DescribeNetworkInterfacesCommand({
              Filters: [{ Name: 'subnet-id', Values: [subnets[0]?.id ?? ''] }],
              MaxResults: 1000,
            }),
          ),
        ),
      };
      const cells = Object.values(ms).map((v) => `${v.toFixed(0)} ms`);
      rows.push(`| ${label} | ${cells.join(' | ')} |`);
      process.stderr.write(`${label}: ${JSON.stringify(ms)}\n`);
    };
    const sizes = (process.argv[2] ?? '100,500,1000').split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('sizes: e.g. 100,500,1000');
    for (const n of sizes) {
      await grow(n);
      await measure(`${n} live`);
    }
    process.stdout.write(
      [
        '| moto holds | list by deployment tag (all live) | by idempotency tag | by allocation tag | one id | 200 ids | DescribeInstanceStatus, one id | DescribeNetworkInterfaces, one subnet |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...rows,
      ].join('\n') + '\n',
    );
  } finally {
    client.destroy();
    await moto.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(
  client: EC2Client,
  imageId: string,
  subnets: readonly { id: string }[],
  k: number,
): Promise<Made> {
  const key = `key-${k}`;
  const allocation = `alloc-${k}`;
  const tags = {
    Name: `vm-${k}`,
    'converge.deployment': DEPLOYMENT,
    'converge.claim': `claim-${k}`,
    'converge.operation': 'op-1',
    'converge.allocation': allocation,
    'converge.ec2.key': key,
    'converge.ec2.az': `z${(k % 3) + 1}`,
    'converge.ec2.image': 'ubuntu-jammy/1.0',
    'converge.ec2.size': '1/1024/10',
    'converge.ec2.network': 'default',
  };
  const out = await client.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      Placement: { AvailabilityZone: ZONES[k % 3] },
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnets[k % 3]?.id ?? '', DeleteOnTermination: true }],
      TagSpecifications: [
        { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  return { id: out.Instances?.[0]?.InstanceId ?? '', key, allocation };
}

function instances(client: EC2Client, Filters: { Name: string; Values: string[] }[]): Promise<unknown> {
  return client.send(new DescribeInstancesCommand({ Filters, MaxResults: 1000 }));
}

/** Median wall time of REPEAT calls, one after another. */
async function median(call: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

await main();
