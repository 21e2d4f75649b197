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
import { dataConverter } from '../../src/temporal/data-converter';
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
  /** Calls by action, for the detail, and the mean answer time of each action's calls. */
  byAction: Record<string, number>;
  meanAnswerMs: Record<string, number>;
  /** Why a scenario has no figure: not finished within its budget, or not run after one that did not. */
  note?: string;
}

/** Per scenario: twice what 15 calls per instance take at the default 20/s, and two minutes. */
export const ec2BudgetMs = (instances: number): number => 120_000 + instances * 1200;

const KINDS = ['fresh', 'noop', 'hotswap', 'delete'] as const;

/** Runs fresh, no-op, hot_swap and delete of `instances` on a moto of its own, in this order. */
export async function runEc2Scenarios(
  stack: Stack,
  sizes: readonly number[],
  options: { say: (line: string) => void; budgetMs?: number },
): Promise<Ec2Row[]> {
  const { say } = options;
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
    // The worker's converter: a large operation result comes back gzipped.
    const temporal = new Client({ connection, namespace: NAMESPACE, dataConverter });
    const d = new Deployments(temporal, { taskQueue });
    const rows: Ec2Row[] = [];
    for (const n of sizes) {
      const name = `ec2-bench-${n}`;
      const budgetMs = options.budgetMs ?? ec2BudgetMs(n);
      // Each kind starts from the one before it: after one that did not finish, the rest are not run.
      let stopped = null as string | null;
      const measure = async (
        kind: (typeof KINDS)[number],
        start: () => ReturnType<Deployments['deploy']>,
      ): Promise<void> => {
        const rowName = `ec2-${kind}-${n}`;
        if (stopped !== null) {
          rows.push(emptyRow(rowName, n, 'not run', `${stopped} did not finish`));
          return;
        }
        const before = { calls: { ...ec2.stats.calls }, answerMs: { ...ec2.stats.answerMs } };
        const throttlesBefore = ec2.stats.throttles;
        const t0 = performance.now();
        const ticket = await start();
        let timer: NodeJS.Timeout | undefined;
        const outOfBudget = new Promise<'budget'>((resolve) => {
          timer = setTimeout(() => resolve('budget'), budgetMs);
        });
        // Out of budget, the wait is left behind: aborted, so its gRPC calls do not retry on the
        // connection closed under them (grpc-js throws that from a timer, uncaught).
        const abandon = new AbortController();
        const waiting = connection.withAbortSignal(abandon.signal, () => d.wait(ticket));
        waiting.catch(() => undefined);
        const result = await Promise.race([waiting, outOfBudget]).finally(() => clearTimeout(timer));
        const wallMs = performance.now() - t0;
        const byAction: Record<string, number> = {};
        const meanAnswerMs: Record<string, number> = {};
        for (const [action, count] of Object.entries(ec2.stats.calls)) {
          const delta = count - (before.calls[action] ?? 0);
          if (delta <= 0) continue;
          byAction[action] = delta;
          meanAnswerMs[action] = ((ec2.stats.answerMs[action] ?? 0) - (before.answerMs[action] ?? 0)) / delta;
        }
        const calls = Object.values(byAction).reduce((a, b) => a + b, 0);
        const row: Ec2Row = {
          name: rowName,
          instances: n,
          status: result === 'budget' ? 'not finished' : result.status,
          steps: result === 'budget' ? 0 : result.stepsTotal,
          wallMs,
          calls,
          callsPerInstance: calls / n,
          throttles: ec2.stats.throttles - throttlesBefore,
          byAction,
          meanAnswerMs,
        };
        if (result === 'budget') {
          stopped = rowName;
          // Bounded: a query and an update need the worker, which may be what stalled.
          const progress = (
            await within(
              10_000,
              connection.withAbortSignal(abandon.signal, () => d.status(name)),
            )
          )?.progress;
          const pending = await within(
            10_000,
            connection.withAbortSignal(abandon.signal, () => pendingActivities(temporal, ticket.workflowId)),
          );
          const slowest = Object.entries(meanAnswerMs).sort(([, a], [, b]) => b - a)[0];
          row.steps = progress?.stepsDone ?? 0;
          row.note =
            `not finished within its budget of ${(budgetMs / 1000).toFixed(0)} s: ` +
            `${progress ? `${progress.stepsDone} of ${progress.stepsTotal} steps done` : 'progress unknown'}` +
            (slowest
              ? `; slowest answers: ${slowest[0]}, ${(slowest[1] / 1000).toFixed(2)} s a call on average`
              : '') +
            (pending ? `; pending activities: ${pending}` : '');
          // Start no more steps; the worker's shutdown and moto's stop end the ones in flight.
          await within(
            10_000,
            connection.withAbortSignal(abandon.signal, () => d.cancel(name)),
          );
          abandon.abort();
        }
        say(
          `${row.name}: ${row.status} in ${(wallMs / 1000).toFixed(1)} s, ${row.steps} steps, ` +
            `${calls} EC2 calls (${row.callsPerInstance.toFixed(1)}/instance), ${row.throttles} throttles` +
            (row.note ? ` (${row.note})` : ''),
        );
        rows.push(row);
      };
      const manifest = benchManifest(name, n, OLD_STEMCELL);
      await measure('fresh', () => d.deploy(name, { manifest, cloudConfig: cc }));
      await measure('noop', () => d.deploy(name, { manifest, cloudConfig: cc }));
      const next = benchManifest(name, n, NEW_STEMCELL);
      await measure('hotswap', () => d.deploy(name, { manifest: next, cloudConfig: cc }));
      await measure('delete', () => d.delete(name));
      // A deployment left running would load moto under the next size's figures.
      if (stopped !== null) {
        for (const later of sizes.slice(sizes.indexOf(n) + 1))
          for (const kind of KINDS)
            rows.push(emptyRow(`ec2-${kind}-${later}`, later, 'not run', `${stopped} did not finish`));
        break;
      }
    }
    return rows;
  } finally {
    worker?.worker.shutdown();
    // moto first: activities still waiting on its answers (a scenario out of budget) then fail fast.
    await moto.stop();
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
    ...rows.map((r) =>
      r.status === 'not run'
        ? `| ${r.name} | not run | – | – | – | – | – |`
        : `| ${r.name} | ${r.status} | ${r.steps} | ${(r.wallMs / 1000).toFixed(1)} s | ${r.calls} | ${r.callsPerInstance.toFixed(1)} | ${r.throttles} |`,
    ),
  ];
  const detail = rows.map(
    (r) =>
      `${r.name}: ${Object.entries(r.byAction)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([a, c]) => `${a} ${c} (${(r.meanAnswerMs[a] ?? 0).toFixed(0)} ms)`)
        .join(', ')}`,
  );
  const notes = rows.flatMap((r) => (r.note ? [`${r.name}: ${r.note}`] : []));
  return (
    `${lines.join('\n')}\n\nEC2 calls by action (mean answer time):\n\n${detail.join('\n')}` +
    (notes.length > 0 ? `\n\nNot finished:\n\n${notes.join('\n')}` : '')
  );
}

/**
 * The operation's pending activities, grouped: how many of each type at which attempt, and the last
 * failure Temporal recorded for them (a heartbeat timeout, the cloud's error): why a scenario makes no
 * step, which the worker's log does not show when attempts time out rather than fail.
 */
async function pendingActivities(client: Client, workflowId: string): Promise<string> {
  const described = await client.workflow.getHandle(workflowId).describe();
  const groups = new Map<string, number>();
  for (const a of described.raw.pendingActivities ?? []) {
    const failure = a.lastFailure?.message ? `, last failure: ${a.lastFailure.message}` : '';
    const key = `${a.activityType?.name ?? '?'} at attempt ${a.attempt ?? 1}${failure}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => `${n} ${key}`).join('; ') || 'none';
}

/** The answer, or null if it failed or took longer than `ms`. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([p.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

function emptyRow(name: string, instances: number, status: string, note: string): Ec2Row {
  return {
    name,
    instances,
    status,
    steps: 0,
    wallMs: 0,
    calls: 0,
    callsPerInstance: 0,
    throttles: 0,
    byAction: {},
    meanAnswerMs: {},
    note,
  };
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
