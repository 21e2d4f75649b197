// Runs deployment scenarios on the embedded stack and measures each: wall time against the ideal
// (critical path), Temporal history and activities per instance, worker peak RSS and CPU, Temporal
// server and region CPU. One fresh worker process per scenario, so its peak RSS is its own.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../../src/temporal/data-converter';
import { connectClient } from '../../src/temporal/connection';
import { Deployments } from '../../src/client/deployments';
import { TAG, type Observed } from '../../src/domain/cloud';
import type { InstanceRecord } from '../../src/domain/instance';
import type { Manifest } from '../../src/domain/manifest';
import { embodiment, patent, placementsFor, reconcile } from '../../src/planner';
import {
  deploymentWorkflowId,
  type OperationLimits,
  type OperationResult,
  type OperationTicket,
} from '../../src/workflows/types';
import { criticalPathMs, stepDurations, type CloudLatencies } from './critical-path';
import {
  actionsBetween,
  deploymentActions,
  totalActions,
  type ActionCounts,
  type ActionLedger,
} from './actions';
import { chainStats, totalEvents, type ActivityTiming, type ChainStats } from './history';
import { benchCloudConfig, benchManifest, NEW_STEMCELL, OLD_STEMCELL } from './inputs';
import {
  cpuSeconds,
  NAMESPACE,
  peakRssMb,
  resetPeakRss,
  serverRequests,
  setFaults,
  startWorker,
  type BenchWorker,
  type Stack,
} from './stack';

export type DeployKind = 'fresh' | 'noop' | 'hotswap' | 'delete';

export interface DeployScenario {
  name: string;
  kind: DeployKind;
  /** Instances per deployment. */
  instances: number;
  /** A fleet: this many deployments of `instances` each, operated on at the same time (default 1). */
  deployments?: number;
}

/** A fleet's deployments, each from the common start to its own end. */
export interface FleetFigures {
  deployments: number;
  fastestMs: number;
  medianMs: number;
  slowestMs: number;
  slowest: string;
}

export interface DeployRow {
  scenario: string;
  kind: DeployKind;
  instances: number;
  /** converged, failed, cancelled, error: …, skipped: … */
  status: string;
  wallMs: number | null;
  idealMs: number | null;
  ratio: number | null;
  latencies: CloudLatencies;
  stepsTotal: number | null;
  /** Entity events added by the operation plus every event of every run of the operation. */
  historyEvents: number | null;
  eventsPerInstance: number | null;
  /**
   * Temporal Cloud billable Actions recorded in the histories of every workflow of the deployment(s)
   * during the operation, by kind (scripts/bench/actions.ts), and their sum per instance with the
   * heartbeats that reached the server.
   */
  actions: ActionCounts | null;
  actionsPerInstance: number | null;
  /** RecordActivityTaskHeartbeat requests the server answered during the operation (billed; not in histories). */
  heartbeats: number | null;
  /** QueryWorkflow requests during the operation: the waiting client's polling, not the operation's (billed). */
  queries: number | null;
  fleet: FleetFigures | null;
  /** The machine's 1/5/15-minute load average when the scenario ended (a shared machine's noise). */
  loadavg: number[] | null;
  /** Activities of every run: task-queue activities plus local ones (none since `cheap-steps-as-activities`). */
  activities: number | null;
  localActivities: number | null;
  activitiesPerInstance: number | null;
  operationRuns: number | null;
  maxRunEvents: number | null;
  maxRunBytes: number | null;
  maxPendingActivities: number | null;
  workerPeakRssMb: number | null;
  workerCpuS: number | null;
  temporalCpuS: number | null;
  regionCpuS: number | null;
  /** Workflow tasks of the operation, and the longest (Temporal fails one that passes 10 s). */
  workflowTasks: number | null;
  maxWorkflowTaskMs: number | null;
  failedWorkflowTasks: number | null;
  /** Per activity type: time queued for a worker and time running, p50/p95 in ms. */
  activityTiming: Record<string, ActivityTiming> | null;
  failure: string | null;
}

/** Zero cloud latency: the deploy and no-op scenarios, and every setup deploy. */
export const ZERO: CloudLatencies = { build_ms: 0, delete_ms: 0, latency_ms: 0 };
/** The latency-bound hot_swap (and the delete that follows it). */
export const SLOW: CloudLatencies = { build_ms: 2000, delete_ms: 1000, latency_ms: 0 };

export const TASK_QUEUE = 'converge-bench';

/** The deployment each scenario's worker warms up on (see warmUp). */
const WARM_UP_INSTANCES = 100;

export interface HarnessOptions {
  say: (line: string) => void;
  /** Write each scenario worker's V8 CPU profile here. */
  cpuProfDir?: string;
  /** Extra worker environment (tuning variables). */
  workerEnv?: Record<string, string>;
}

interface Deployed {
  instances: number;
  version: string;
  records: InstanceRecord[];
}

export class DeployHarness {
  private readonly deployed = new Map<string, Deployed>();
  private readonly broken = new Map<string, string>();

  private constructor(
    private readonly stack: Stack,
    private readonly client: Client,
    private readonly close: () => Promise<void>,
    private readonly deployments: Deployments,
    private readonly options: HarnessOptions,
  ) {}

  static async create(stack: Stack, options: HarnessOptions): Promise<DeployHarness> {
    // The product's client (the CLI's) drives the deployments; a second connection with a larger
    // gRPC receive limit reads histories, whose pages can pass the default 4 MB at 5,000 instances.
    const { client: cli, connection } = await connectClient({
      TEMPORAL_ADDRESS: stack.temporal.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
    });
    const readerConnection = await Connection.connect({
      address: stack.temporal.address,
      channelArgs: { 'grpc.max_receive_message_length': 256 * 2 ** 20 },
    });
    const client = new Client({ connection: readerConnection, namespace: NAMESPACE, dataConverter });
    // BENCH_LIMITS (JSON): operation limits for new deployment entities, to try a change of defaults.
    const limits = process.env.BENCH_LIMITS
      ? (JSON.parse(process.env.BENCH_LIMITS) as Partial<OperationLimits>)
      : undefined;
    const deployments = new Deployments(cli, { taskQueue: TASK_QUEUE, ...(limits ? { limits } : {}) });
    const close = async (): Promise<void> => {
      await Promise.all([connection.close(), readerConnection.close()]);
    };
    return new DeployHarness(stack, client, close, deployments, options);
  }

  async dispose(): Promise<void> {
    await this.close();
  }

  async run(s: DeployScenario): Promise<DeployRow> {
    if ((s.deployments ?? 1) > 1) return this.runFleet(s);
    const name = `bench-${s.instances}`;
    const latencies = s.kind === 'hotswap' || s.kind === 'delete' ? SLOW : ZERO;
    const row = emptyRow(s, latencies);
    const brokenBecause = this.broken.get(name);
    if (brokenBecause) return { ...row, status: `skipped: ${name} broke earlier (${brokenBecause})` };

    const worker = await this.startWorkerFor(s.name);
    try {
      await setFaults(this.stack, ZERO);
      await this.warmUp(s.name);
      // Setup (not measured): the deployment the scenario starts from.
      if (s.kind === 'fresh' && this.deployed.has(name)) throw new Error(`${name} already exists`);
      if (s.kind === 'noop' || s.kind === 'hotswap') await this.ensure(name, s.instances, OLD_STEMCELL);
      if (s.kind === 'delete')
        await this.ensure(name, s.instances, this.deployed.get(name)?.version ?? OLD_STEMCELL);
      await setFaults(this.stack, latencies);

      const manifest = benchManifest(name, s.instances, s.kind === 'hotswap' ? NEW_STEMCELL : OLD_STEMCELL);
      const idealMs = criticalPathMs(
        await this.obligationFor(s.kind, name, manifest),
        stepDurations(latencies),
      );
      const measured = await this.measure(worker, [name], s.instances, () =>
        s.kind === 'delete'
          ? this.deployments.delete(name)
          : this.deployments.deploy(name, { manifest, cloudConfig: benchCloudConfig }),
      );
      const result = measured.results[0];
      if (!result) throw new Error(`${name}: no result`);
      if (s.kind === 'delete' && result.status === 'converged') this.deployed.delete(name);
      else if (result.status === 'converged')
        this.deployed.set(name, {
          instances: s.instances,
          version: versionOf(manifest),
          records: result.records,
        });
      const expectSteps = s.kind === 'noop' ? 0 : null;
      const status =
        expectSteps !== null && result.stepsTotal !== expectSteps
          ? `${result.status} (no-op planned ${result.stepsTotal} steps)`
          : result.status;
      if (result.status !== 'converged') this.broken.set(name, `${s.name} ${result.status}`);
      return {
        ...row,
        ...measured.row,
        status,
        idealMs,
        ratio: idealMs > 0 && typeof measured.row.wallMs === 'number' ? measured.row.wallMs / idealMs : null,
        stepsTotal: result.stepsTotal,
        failure: result.failure ? `${result.failure.step ?? ''} ${result.failure.message}`.trim() : null,
      };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.broken.set(name, `${s.name}: ${message.split('\n')[0] ?? ''}`);
      await this.terminate(name);
      return this.errorRow(row, err);
    } finally {
      await setFaults(this.stack, ZERO).catch(() => undefined);
      await worker.stop();
    }
  }

  /**
   * Before anything is measured, the scenario's worker takes a small deployment through its whole life
   * at zero latency (create, hot_swap, delete), so every scenario meets a worker whose code V8 has
   * compiled, as a long-running worker's is. Without it a scenario with a setup deploy met a warm worker
   * and one whose deployment already existed (hot_swap 1,000 in a full run) a cold one: 0.6 s and
   * ~1.2 s of worker CPU apart. BENCH_COLD=1 leaves it out.
   */
  private async warmUp(scenario: string): Promise<void> {
    if (process.env.BENCH_COLD) return;
    const name = `warm-${scenario}`;
    const steps: Array<() => Promise<OperationTicket>> = [OLD_STEMCELL, NEW_STEMCELL].map(
      (version) => () =>
        this.deployments.deploy(name, {
          manifest: benchManifest(name, WARM_UP_INSTANCES, version),
          cloudConfig: benchCloudConfig,
        }),
    );
    steps.push(() => this.deployments.delete(name));
    for (const start of steps) {
      const result = await this.waitGuarded(name, await start(), timeoutFor(WARM_UP_INSTANCES));
      await this.settle(name);
      if (result.status !== 'converged') throw new Error(`warm-up ${name} ${result.status}`);
    }
  }

  /** Deploys `name` at `version` (unmeasured) unless it is already there. */
  private async ensure(name: string, instances: number, version: string): Promise<void> {
    const current = this.deployed.get(name);
    if (current?.version === version && current.instances === instances) return;
    this.options.say(`  setup: deploy ${name} (${instances} instances, stemcell ${version})`);
    const manifest = benchManifest(name, instances, version);
    const ticket = await this.deployments.deploy(name, { manifest, cloudConfig: benchCloudConfig });
    const result = await this.waitGuarded(name, ticket, timeoutFor(instances));
    await this.settle(name);
    if (result.status !== 'converged')
      throw new Error(`setup deploy of ${name} ${result.status}: ${result.failure?.message ?? ''}`);
    this.deployed.set(name, { instances, version, records: result.records });
  }

  /** The obligation the operation is about to compute (same planner, same inputs), for the ideal time. */
  private async obligationFor(kind: DeployKind, name: string, manifest: Manifest) {
    const records = this.deployed.get(name)?.records ?? [];
    const observed = await observe(this.stack, name);
    const desired = kind === 'delete' ? { ...manifest, instance_groups: [] } : manifest;
    const p = patent(desired, benchCloudConfig, placementsFor(desired, records), {
      defaultStrategy: 'hot_swap',
    });
    return reconcile(p, embodiment(name, observed, records), {
      defaultStrategy: 'hot_swap',
      operationSeq: 0,
      operationId: 'ideal',
    });
  }

  private async measure(
    worker: BenchWorker,
    names: readonly string[],
    instances: number,
    start: (name: string) => Promise<OperationTicket>,
  ): Promise<{ results: OperationResult[]; endsMs: number[]; row: Partial<DeployRow> }> {
    const entityIds = names.map(deploymentWorkflowId);
    const entityBefore = await Promise.all(entityIds.map((id) => totalEvents(this.client, id)));
    const actionsBefore = await this.actionLedgers(names);
    const requestsBefore = await serverRequests(this.stack);
    resetPeakRss(worker.pid);
    const cpu0 = {
      worker: cpuSeconds(worker.pid),
      temporal: cpuSeconds(this.stack.temporal.pid),
      region: cpuSeconds(this.stack.region.pid),
    };
    const t0 = performance.now();
    // Every operation starts at once; each deployment's end is timed on its own.
    const endsMs: number[] = [];
    const outcomes = await Promise.all(
      names.map(async (name, i) => {
        const ticket = await labelled('start the operation', () => start(name));
        const result = await labelled('wait for the operation', () =>
          this.waitGuarded(name, ticket, timeoutFor(instances)),
        );
        endsMs[i] = performance.now() - t0;
        return { ticket, result };
      }),
    );
    const wallMs = performance.now() - t0;
    const workerPeakRssMb = peakRssMb(worker.pid);
    for (const name of names) await this.settle(name);
    const cpu = {
      worker: cpuSeconds(worker.pid) - cpu0.worker,
      temporal: cpuSeconds(this.stack.temporal.pid) - cpu0.temporal,
      region: cpuSeconds(this.stack.region.pid) - cpu0.region,
    };
    const requestsAfter = await serverRequests(this.stack);
    const requests = (op: string): number => (requestsAfter.get(op) ?? 0) - (requestsBefore.get(op) ?? 0);
    const heartbeats = requests('RecordActivityTaskHeartbeat') + requests('RecordActivityTaskHeartbeatById');
    const ops: ChainStats[] = [];
    for (const { ticket } of outcomes) {
      ops.push(
        await labelled('read the operation history', () => chainStats(this.client, ticket.workflowId)),
      );
      // BENCH_DUMP_HISTORY=<dir>: the operation's last run, as JSON, for a closer look afterwards.
      const dumpDir = process.env.BENCH_DUMP_HISTORY;
      if (dumpDir) {
        const history = await this.client.workflow.getHandle(ticket.workflowId).fetchHistory();
        writeFileSync(
          join(dumpDir, `${ticket.deployment}-${ticket.operation}.json`),
          JSON.stringify(history),
        );
      }
    }
    const entityAfter = await labelled('read the entity history', () =>
      Promise.all(entityIds.map((id) => totalEvents(this.client, id))),
    );
    const actionsAfter = await labelled('count the Actions', () => this.actionLedgers(names, actionsBefore));
    const actions = actionsBetween(actionsBefore, actionsAfter);
    const op = mergeChains(ops, endsMs);
    const historyEvents = op.events + sum(entityAfter) - sum(entityBefore);
    return {
      results: outcomes.map((o) => o.result),
      endsMs,
      row: {
        wallMs,
        historyEvents,
        eventsPerInstance: historyEvents / instances,
        actions,
        actionsPerInstance: (totalActions(actions) + heartbeats) / instances,
        heartbeats,
        queries: requests('QueryWorkflow'),
        activities: op.activities + op.localActivities,
        localActivities: op.localActivities,
        activitiesPerInstance: (op.activities + op.localActivities) / instances,
        operationRuns: op.runs.length,
        maxRunEvents: op.maxRunEvents,
        maxRunBytes: op.maxRunBytes,
        maxPendingActivities: op.maxPendingActivities,
        workerPeakRssMb,
        workerCpuS: cpu.worker,
        temporalCpuS: cpu.temporal,
        regionCpuS: cpu.region,
        workflowTasks: op.workflowTasks,
        maxWorkflowTaskMs: op.maxWorkflowTaskMs,
        failedWorkflowTasks: op.failedWorkflowTasks,
        activityTiming: op.timing,
      },
    };
  }

  /** Every run of every workflow of these deployments, with its Actions (actions.ts). */
  private async actionLedgers(names: readonly string[], known?: ActionLedger): Promise<ActionLedger> {
    const ledger: ActionLedger = new Map();
    for (const name of names) {
      const runs = await deploymentActions(this.client, name, [deploymentWorkflowId(name)], known);
      for (const [key, run] of runs) ledger.set(key, run);
    }
    return ledger;
  }

  /** The row of a scenario that threw: its first line as the status, its stack and the worker's errors. */
  private errorRow(row: DeployRow, err: unknown): DeployRow {
    const message = err instanceof Error ? err.message : String(err);
    return {
      ...row,
      status: `error: ${message.split('\n')[0] ?? ''}`,
      failure: `${err instanceof Error ? (err.stack ?? message) : message}\n${workerErrors(this.stack, TASK_QUEUE)}`,
    };
  }

  /** The scenario's worker, with the run's environment and, when asked, a CPU profile of its own. */
  private startWorkerFor(scenario: string): ReturnType<typeof startWorker> {
    return startWorker(this.stack, {
      taskQueue: TASK_QUEUE,
      ...(this.options.workerEnv ? { env: this.options.workerEnv } : {}),
      ...(this.options.cpuProfDir ? { cpuProfDir: join(this.options.cpuProfDir, scenario) } : {}),
    });
  }

  /**
   * A fleet: `deployments` deployments of `instances` each (`fleet-<i>`), deployed at the old stemcell
   * (unmeasured, side by side), then all hot-swapped at once on the one worker. wall is the last one's
   * end; `fleet` gives the fastest, median and slowest deployment.
   */
  private async runFleet(s: DeployScenario): Promise<DeployRow> {
    const count = s.deployments ?? 1;
    const names = Array.from({ length: count }, (_, i) => `fleet-${i + 1}`);
    const total = s.instances * count;
    const row = { ...emptyRow(s, SLOW), instances: total };
    const worker = await this.startWorkerFor(s.name);
    try {
      await setFaults(this.stack, ZERO);
      await this.warmUp(s.name);
      this.options.say(`  setup: deploy ${count} × ${s.instances} instances side by side`);
      await Promise.all(names.map((name) => this.ensure(name, s.instances, OLD_STEMCELL)));
      await setFaults(this.stack, SLOW);
      const manifestOf = (name: string): Manifest => benchManifest(name, s.instances, NEW_STEMCELL);
      const first = names[0] ?? '';
      // Every deployment plans the same obligation; alone, each would take this long.
      const idealMs = criticalPathMs(
        await this.obligationFor('hotswap', first, manifestOf(first)),
        stepDurations(SLOW),
      );
      const measured = await this.measure(worker, names, total, (name) =>
        this.deployments.deploy(name, { manifest: manifestOf(name), cloudConfig: benchCloudConfig }),
      );
      const ends = measured.endsMs.map((ms, i) => ({ ms, name: names[i] ?? '' })).sort((a, b) => a.ms - b.ms);
      const failed = measured.results.filter((r) => r.status !== 'converged');
      measured.results.forEach((result, i) => {
        const name = names[i] ?? '';
        if (result.status === 'converged')
          this.deployed.set(name, { instances: s.instances, version: NEW_STEMCELL, records: result.records });
      });
      const wallMs = measured.row.wallMs ?? null;
      return {
        ...row,
        ...measured.row,
        status: failed.length === 0 ? 'converged' : `${failed.length} of ${count} not converged`,
        idealMs,
        ratio: idealMs > 0 && wallMs !== null ? wallMs / idealMs : null,
        stepsTotal: sum(measured.results.map((r) => r.stepsTotal)),
        fleet: {
          deployments: count,
          fastestMs: ends[0]?.ms ?? 0,
          medianMs: ends[Math.floor(ends.length / 2)]?.ms ?? 0,
          slowestMs: ends[ends.length - 1]?.ms ?? 0,
          slowest: ends[ends.length - 1]?.name ?? '',
        },
        failure: failed[0]?.failure
          ? `${failed[0].failure.step ?? ''} ${failed[0].failure.message}`.trim()
          : null,
      };
    } catch (err) {
      for (const name of names) await this.terminate(name);
      return this.errorRow(row, err);
    } finally {
      await setFaults(this.stack, ZERO).catch(() => undefined);
      await worker.stop();
    }
  }

  /**
   * Waits for the operation, but gives up when it cannot end: a workflow task that keeps failing
   * (e.g. a payload over Temporal's limit) is retried forever by Temporal, so watch for it. A task
   * failed by the server (too many events buffered meanwhile) is retried with the new events, so
   * only failures with no new events since the last look count as stuck.
   */
  private async waitGuarded(
    name: string,
    ticket: OperationTicket,
    timeoutMs: number,
  ): Promise<OperationResult> {
    let stop = false;
    const watchdog = (async (): Promise<never> => {
      const deadline = Date.now() + timeoutMs;
      const lengths = new Map<string, number>();
      for (;;) {
        await sleep(5000);
        if (stop) return new Promise<never>(() => undefined);
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s`);
        for (const id of [deploymentWorkflowId(name), ticket.workflowId]) {
          const d = await this.client.workflow
            .getHandle(id)
            .describe()
            .catch(() => null);
          const attempt = d?.raw.pendingWorkflowTask?.attempt ?? 0;
          const length = d?.historyLength ?? 0;
          const grew = length !== lengths.get(id);
          lengths.set(id, length);
          if (attempt >= 3 && !grew) {
            throw new Error(
              `workflow task of ${id} keeps failing (attempt ${attempt}, history stuck at ${length} events)`,
            );
          }
        }
      }
    })();
    try {
      return await Promise.race([this.deployments.wait(ticket), watchdog]);
    } finally {
      stop = true;
    }
  }

  /**
   * Until the entity has recorded the operation's end. `Deployments.wait` may return before that
   * (it treats a failed status query as settled), and then the next update is refused as busy.
   */
  private async settle(name: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const status = await this.deployments.status(name).catch(() => null);
      if (status && status.current === null) return;
      await sleep(50);
    }
    throw new Error(`entity of ${name} still shows an operation running 60 s after it ended`);
  }

  private async terminate(name: string): Promise<void> {
    const ids: string[] = [];
    for await (const w of this.client.workflow.list({
      query: `ConvergeDeployment = "${name}" AND ExecutionStatus = "Running"`,
    })) {
      ids.push(w.workflowId);
    }
    ids.push(deploymentWorkflowId(name));
    for (const id of new Set(ids)) {
      await this.client.workflow
        .getHandle(id)
        .terminate('benchmark scenario failed')
        .catch(() => undefined);
    }
    this.deployed.delete(name);
  }
}

async function observe(stack: Stack, name: string): Promise<Observed> {
  const tags = { [TAG.deployment]: name };
  const c = stack.region.client;
  const [servers, allocations, volumes] = await Promise.all([
    c.listServers(tags),
    c.listAllocations(tags),
    c.listVolumes(tags),
  ]);
  return { servers, allocations, volumes };
}

function versionOf(m: Manifest): string {
  return m.stemcells[0]?.version ?? '';
}

/** Generous: the watchdog, not this, catches a stuck workflow; this catches a slow crawl. */
function timeoutFor(instances: number): number {
  return 180_000 + instances * 200;
}

function emptyRow(s: DeployScenario, latencies: CloudLatencies): DeployRow {
  return {
    scenario: s.name,
    kind: s.kind,
    instances: s.instances,
    status: 'not run',
    wallMs: null,
    idealMs: null,
    ratio: null,
    latencies,
    stepsTotal: null,
    historyEvents: null,
    eventsPerInstance: null,
    activities: null,
    localActivities: null,
    activitiesPerInstance: null,
    actions: null,
    actionsPerInstance: null,
    heartbeats: null,
    queries: null,
    fleet: null,
    loadavg: null,
    operationRuns: null,
    maxRunEvents: null,
    maxRunBytes: null,
    maxPendingActivities: null,
    workerPeakRssMb: null,
    workerCpuS: null,
    temporalCpuS: null,
    regionCpuS: null,
    workflowTasks: null,
    maxWorkflowTaskMs: null,
    failedWorkflowTasks: null,
    activityTiming: null,
    failure: null,
  };
}

/** The worker's last error lines, for a scenario that broke. */
function workerErrors(stack: Stack, taskQueue: string): string {
  try {
    const log = readFileSync(join(stack.dir, `worker-${taskQueue}.log`), 'utf8');
    return log
      .split('\n')
      .filter((l) => /error|fail/i.test(l))
      .slice(-5)
      .map((l) => l.slice(0, 400))
      .join('\n');
  } catch {
    return '';
  }
}

/** Names the harness step an error came from (gRPC errors carry no useful stack). */
async function labelled<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${what}: ${message}`, { cause: err });
  }
}

/** Several operations' runs as one (a fleet); activity timing is the operation that ended last. */
function mergeChains(ops: readonly ChainStats[], endsMs: readonly number[]): ChainStats {
  const last = endsMs.indexOf(Math.max(...endsMs));
  return {
    runs: ops.flatMap((o) => o.runs),
    events: sum(ops.map((o) => o.events)),
    activities: sum(ops.map((o) => o.activities)),
    localActivities: sum(ops.map((o) => o.localActivities)),
    maxRunEvents: Math.max(0, ...ops.map((o) => o.maxRunEvents)),
    maxRunBytes: Math.max(0, ...ops.map((o) => o.maxRunBytes)),
    maxPendingActivities: Math.max(0, ...ops.map((o) => o.maxPendingActivities)),
    workflowTasks: sum(ops.map((o) => o.workflowTasks)),
    maxWorkflowTaskMs: Math.max(0, ...ops.map((o) => o.maxWorkflowTaskMs)),
    failedWorkflowTasks: sum(ops.map((o) => o.failedWorkflowTasks)),
    timing: ops[last]?.timing ?? {},
  };
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
