// EC2 scenarios of `npm run bench` (`--only ec2`): fresh, no-op, hot_swap and delete of the bench
// deployment (benchManifest: ten groups over three AZs, every other one with a persistent disk) on
// moto's EC2 API server, with quota in the bench stack's region, through the EC2 adapter at its
// default rate (20 requests/s, burst 100): what a user's worker would do. Reports wall time, EC2
// API calls per instance and throttles seen. The worker runs in this process, so the adapter's call
// counts can be read; moto answers at once (no pending), so the figures are the director's cost.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  EC2Client,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { Client, Connection } from '@temporalio/client';
import { Deployments } from '../../src/client/deployments';
import { DEFAULT_EC2_RATE, Ec2Compute, STEMCELL_TAG, stemcellImageName } from '../../src/cloud/ec2';
import { GuardedLedger, joinCloud } from '../../src/cloud/ledger';
import { cloudConfigSchema, type CloudConfig } from '../../src/domain/cloud-config';
import { createConvergeWorker } from '../../src/workers/worker';
import { freePort, sleep } from '../chaos/processes';
import { benchManifest, NEW_STEMCELL, OLD_STEMCELL, STEMCELL_OS } from './inputs';
import { NAMESPACE, type Stack } from './stack';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'] as const;

export interface Ec2Row {
  name: string;
  instances: number;
  status: string;
  steps: number;
  wallMs: number;
  /** EC2 API calls the adapter made, in all and per instance, and the throttles it met. */
  calls: number;
  callsPerInstance: number;
  throttles: number;
  /** Calls by action, for the detail. */
  byAction: Record<string, number>;
}

/** Runs fresh, no-op, hot_swap and delete of `instances` on a moto of its own, in this order. */
export async function runEc2Scenarios(
  stack: Stack,
  sizes: readonly number[],
  say: (line: string) => void,
): Promise<Ec2Row[]> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const moto = await startMoto(stack.dir);
  const client = new EC2Client({
    region: 'us-east-1',
    endpoint: moto.url,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench-not-a-secret' },
    maxAttempts: 1,
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  let worker: Awaited<ReturnType<typeof createConvergeWorker>> | null = null;
  let running: Promise<void> | null = null;
  try {
    const cc = await seed(client);
    const ec2 = new Ec2Compute({ client, rate: DEFAULT_EC2_RATE });
    const cloud = joinCloud(ec2, new GuardedLedger(stack.region.client, ec2));
    const taskQueue = 'bench-ec2';
    worker = await createConvergeWorker({
      taskQueue,
      cloud,
      workflowBundle: { codePath: stack.bundlePath },
      env: { TEMPORAL_ADDRESS: stack.temporal.address, TEMPORAL_NAMESPACE: NAMESPACE },
    });
    running = worker.worker.run();
    const d = new Deployments(new Client({ connection, namespace: NAMESPACE }), { taskQueue });
    const rows: Ec2Row[] = [];
    for (const n of sizes) {
      const name = `ec2-bench-${n}`;
      const measure = async (kind: string, start: () => ReturnType<Deployments['deploy']>): Promise<void> => {
        const before = { calls: { ...ec2.stats.calls }, throttles: ec2.stats.throttles };
        const t0 = performance.now();
        const result = await d.wait(await start());
        const wallMs = performance.now() - t0;
        const byAction: Record<string, number> = {};
        for (const [action, count] of Object.entries(ec2.stats.calls)) {
          const delta = count - (before.calls[action] ?? 0);
          if (delta > 0) byAction[action] = delta;
        }
        const calls = Object.values(byAction).reduce((a, b) => a + b, 0);
        const row: Ec2Row = {
          name: `ec2-${kind}-${n}`,
          instances: n,
          status: result.status,
          steps: result.stepsTotal,
          wallMs,
          calls,
          callsPerInstance: calls / n,
          throttles: ec2.stats.throttles - before.throttles,
          byAction,
        };
        say(
          `${row.name}: ${row.status} in ${(wallMs / 1000).toFixed(1)} s, ${row.steps} steps, ` +
            `${calls} EC2 calls (${row.callsPerInstance.toFixed(1)}/instance), ${row.throttles} throttles`,
        );
        rows.push(row);
      };
      const manifest = benchManifest(name, n, OLD_STEMCELL);
      await measure('fresh', () => d.deploy(name, { manifest, cloudConfig: cc }));
      await measure('noop', () => d.deploy(name, { manifest, cloudConfig: cc }));
      const next = benchManifest(name, n, NEW_STEMCELL);
      await measure('hotswap', () => d.deploy(name, { manifest: next, cloudConfig: cc }));
      await measure('delete', () => d.delete(name));
    }
    return rows;
  } finally {
    worker?.worker.shutdown();
    await running;
    await worker?.close();
    await connection.close();
    client.destroy();
    await moto.stop();
  }
}

export function ec2Table(rows: readonly Ec2Row[]): string {
  const lines = [
    '| scenario | status | steps | wall | EC2 calls | calls / instance | throttles |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.status} | ${r.steps} | ${(r.wallMs / 1000).toFixed(1)} s | ${r.calls} | ${r.callsPerInstance.toFixed(1)} | ${r.throttles} |`,
    ),
  ];
  const detail = rows.map(
    (r) =>
      `${r.name}: ${Object.entries(r.byAction)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([a, c]) => `${a} ${c}`)
        .join(', ')}`,
  );
  return `${lines.join('\n')}\n\nEC2 calls by action:\n\n${detail.join('\n')}`;
}

/** A VPC with a /20 subnet per AZ (room for two 1,000-instance deployments) and both stemcells' AMIs. */
async function seed(client: EC2Client): Promise<CloudConfig> {
  const vpc = await client.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }));
  const subnets: { zone: string; id: string; cidr: string }[] = [];
  for (const [i, zone] of ZONES.entries()) {
    const cidr = `10.40.${i * 16}.0/20`;
    const out = await client.send(
      new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId ?? '', CidrBlock: cidr, AvailabilityZone: zone }),
    );
    subnets.push({ zone, id: out.Subnet?.SubnetId ?? '', cidr });
  }
  for (const version of [OLD_STEMCELL, NEW_STEMCELL]) {
    const image = { os: STEMCELL_OS, version };
    const made = await client.send(
      new RegisterImageCommand({
        Name: stemcellImageName(image),
        RootDeviceName: '/dev/sda1',
        Architecture: 'x86_64',
        VirtualizationType: 'hvm',
      }),
    );
    await client.send(
      new CreateTagsCommand({
        Resources: [made.ImageId ?? ''],
        Tags: [
          { Key: STEMCELL_TAG.os, Value: image.os },
          { Key: STEMCELL_TAG.version, Value: image.version },
        ],
      }),
    );
  }
  return cloudConfigSchema.parse({
    azs: ZONES.map((zone, i) => ({ name: `z${i + 1}`, cloud_properties: { availability_zone: zone } })),
    vm_sizes: { small: { cpus: 1, memory_mb: 1024, disk_gb: 10 } },
    vm_types: [{ name: 'small', size: 'small', cloud_properties: { instance_type: 't3.micro' } }],
    disk_types: [],
    networks: [
      {
        name: 'default',
        subnets: subnets.map((s, i) => ({
          range: s.cidr,
          gateway: `10.40.${i * 16}.1`,
          azs: [`z${i + 1}`],
          cloud_properties: { subnet_id: s.id },
        })),
      },
    ],
  });
}

/** moto_server (scripts/moto.sh installs it the first time) on a free port of 127.0.0.1. */
async function startMoto(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = execFileSync('bash', [join(ROOT, 'scripts', 'moto.sh')], { encoding: 'utf8' }).trim();
  const port = await freePort();
  const child: ChildProcess = spawn(server, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
    cwd: dir,
  });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (code ${child.exitCode})`);
    try {
      if ((await fetch(`${url}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 600) throw new Error('moto_server did not answer within 60 s');
    await sleep(100);
  }
  return {
    url,
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
