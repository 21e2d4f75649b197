// EC2 scenarios of `npm run bench` (`--only ec2`): fresh, no-op, hot_swap and delete of the bench
// deployment (benchManifest: ten groups over three AZs, every other one with a persistent disk) on
// moto's EC2 API server, with quota in the bench stack's region, through the EC2 adapter at its
// default rate (20 requests/s, burst 100): what a user's worker would do. Reports wall time, EC2
// API calls per instance and throttles seen. The worker runs in this process, so the adapter's call
// counts can be read; moto answers at once (no pending), so the figures are the director's cost.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { Client, Connection } from '@temporalio/client';
import { Deployments } from '../../src/client/deployments';
import { DEFAULT_EC2_RATE, Ec2Compute, registerStemcellImage } from '../../src/cloud/ec2';
import { GuardedLedger, joinCloud } from '../../src/cloud/ledger';
import { cloudConfigSchema, type CloudConfig } from '../../src/domain/cloud-config';
import { createConvergeWorker } from '../../src/workers/worker';
import { ec2Client, makeNetwork, startMotoServer } from '../moto-server';
import { benchManifest, NEW_STEMCELL, OLD_STEMCELL, STEMCELL_OS } from './inputs';
import { NAMESPACE, type Stack } from './stack';

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
  const moto = await startMotoServer({ cwd: stack.dir });
  const client = ec2Client(moto.url);
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
  const { subnets } = await makeNetwork(
    client,
    '10.40.0.0/16',
    ZONES.map((zone, i) => ({ zone, cidr: `10.40.${i * 16}.0/20` })),
  );
  for (const version of [OLD_STEMCELL, NEW_STEMCELL])
    await registerStemcellImage(client, { os: STEMCELL_OS, version });
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
